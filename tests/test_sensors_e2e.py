"""End to end: sensors, device SDRs, thresholds and events on the simulated board.

The board file's Board Temp (sensor 1, LM75 model temp0): range -20..107.5 C in 0.5 C,
LNC 5, LC 0, UNC 60, UC 75, UNR 90, hysteresis 2 C (4 raw counts) both ways.
"""

from __future__ import annotations

import time

import pytest

from satmc.board import load_board
from satmc.board.sensors import THRESHOLDS
from satmc.eventlog import EventLog, EventReceiver
from satmc.ipmi.client import events_open, read_counters
from satmc.ipmi.codes import (
    CMD_GET_EVENT_RECEIVER,
    CMD_GET_SENSOR_EVENT_STATUS,
    CMD_GET_SENSOR_READING,
    CMD_GET_SENSOR_READING_FACTORS,
    CMD_SET_EVENT_RECEIVER,
    CMD_SET_SENSOR_EVENT_ENABLE,
    CMD_SET_SENSOR_THRESHOLDS,
    NETFN_SENSOR,
)
from satmc.sensors import SHORT, SensorClient, SensorError

BOARD = load_board("sim")
TEMP = 1
SETTLE = 0.8  # scan period 200 ms + event delivery, with margin


def raw_temp(c: float) -> int:
    return round((c + 20) / 0.5)


def set_temp(sim, c: float) -> None:
    sim.control("device", name="temp0", set={"temperature": c})


def temp_events(rx: EventReceiver) -> list[tuple[str, int, bytes]]:
    return [(e.direction, e.offset, e.data) for e in rx.received if e.sensor == TEMP]


def settle(sim, sat, celsius: float, timeout: float = 10.0) -> None:
    """Set Board Temp, wait for a scan to read it and for every event to be answered."""
    set_temp(sim, celsius)
    deadline = time.monotonic() + timeout
    while sat.call(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((TEMP,)))[0] != raw_temp(celsius):
        assert time.monotonic() < deadline, f"Board Temp never read {celsius} C"
        time.sleep(0.05)
    time.sleep(0.25)  # one more scan period: nothing left to raise for this reading
    while True:
        c = read_counters(sat)
        if events_open(c) == 0:
            return
        assert time.monotonic() < deadline, "events still waiting in the satellite"
        time.sleep(0.05)


def wait_temp_events(rx: EventReceiver, n: int, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    while len(temp_events(rx)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return temp_events(rx)


def to_baseline(sim, sat) -> None:
    """Board Temp at 25 C with no threshold asserted, events enabled, receiver 0x20,
    and no event left in the satellite's queue."""
    with EventReceiver(sat):
        set_temp(sim, 25)
        sat.call(NETFN_SENSOR, CMD_SET_EVENT_RECEIVER, b"\x20\x00")
        sat.call(
            NETFN_SENSOR, CMD_SET_SENSOR_EVENT_ENABLE, bytes((TEMP, 0xD0, 0x85, 0x0A, 0x85, 0x0A))
        )  # all enables on
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if sat.call(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((TEMP,)))[:3] == bytes(
                (raw_temp(25), 0xC0, 0xC0)
            ):
                time.sleep(SETTLE)
                c = read_counters(sat)
                if events_open(c) == 0:
                    return
            time.sleep(0.1)
    raise AssertionError("the satellite did not settle")


@pytest.fixture
def baseline(sim, sat):
    to_baseline(sim, sat)


@pytest.fixture
def receiver(sat, baseline):
    with EventReceiver(sat) as rx:
        yield rx


def test_every_sdr_parses_and_thresholds_match_the_board_file(sat, tmp_path):
    client = SensorClient(sat, cache_dir=tmp_path)
    records = client.records()
    kinds = [type(r).__name__ for r in records]
    assert kinds.count("SdrManagementControllerDeviceLocator") == 1
    frus = [r for r in records if type(r).__name__ == "SdrFruDeviceLocator"]
    assert [(r.fru_device_id, r.device_id_string) for r in frus] == [
        (f["id"], f"sim FRU {f['id']}") for f in BOARD.data["fru"] if f["id"] != 0
    ]  # FRU 0: the MC Device Locator's
    sensors = {r.number: r for r in client.sensor_records()}
    assert len(sensors) == len(BOARD.config["sensors"])
    for entry in BOARD.data["sensors"]:
        rec = sensors[entry["number"]]
        assert rec.device_id_string == entry["name"]
        assert rec.owner_id == BOARD.address
        if entry["type"] == "presence":
            continue
        res = entry["resolution"]
        for key in THRESHOLDS:
            if key in entry.get("thresholds", {}):
                got = rec.convert_sensor_raw_to_value(rec.threshold[SHORT[key]])
                assert abs(got - entry["thresholds"][key]) <= res + 1e-9, (entry["name"], key)
        lo = rec.convert_sensor_raw_to_value(0)
        assert abs(lo - entry["range"][0]) <= res
        factors = sat.call(
            NETFN_SENSOR, CMD_GET_SENSOR_READING_FACTORS, bytes((rec.number, 0))
        )  # Get Sensor Reading Factors
        assert factors[1:] == bytes(rec.data[24:30])


def test_readings_of_every_sensor_kind(sim, sat, tmp_path):
    client = SensorClient(sat, cache_dir=tmp_path)
    time.sleep(1.2)  # the fan's first count
    got = {r.name: r for r in client.read_all()}
    assert got["Board Temp"].value == pytest.approx(25.0)
    assert got["12V"].value == pytest.approx(12.0, abs=0.06)
    assert got["12V Current"].value == pytest.approx(1.5, abs=0.02)
    assert got["Fan 1"].value == pytest.approx(6000, abs=150)
    assert got["MCU Temp"].value == pytest.approx(35.0, abs=0.6)
    assert got["3V3"].value == pytest.approx(3.3, abs=0.04)
    assert got["Module Present"].text == "present"
    assert all(r.status == "ok" for r in got.values())
    sim.control("device", name="module", set={"level": 1})
    sim.control("device", name="fan0", set={"rpm": 1200})
    time.sleep(2.2)
    got = {r.name: r for r in client.read_all()}
    assert got["Module Present"].text == "absent"
    assert got["Fan 1"].value == pytest.approx(1200, abs=100)
    assert got["Fan 1"].status == "nc"
    sim.control("device", name="module", set={"level": 0})
    sim.control("device", name="fan0", set={"rpm": 6000})


def test_a_chip_that_stops_answering_reads_unavailable_then_recovers(sim, sat, baseline):
    def reading_until(done, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            d = sat.call(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((TEMP,)))
            if done(d) or time.monotonic() > deadline:
                return d
            time.sleep(0.05)

    sim.control("device", name="temp0", set={"present": False})
    try:
        d = reading_until(lambda d: d[1] & 0x20)
        assert d[1] & 0x20 and d[0] == 0
    finally:
        sim.control("device", name="temp0", set={"present": True})
    d = reading_until(lambda d: not d[1] & 0x20)
    assert not d[1] & 0x20 and d[0] == raw_temp(25)


def test_crossing_unc_then_uc_raises_exactly_those_assertions(sim, sat, receiver):
    settle(sim, sat, 62)
    settle(sim, sat, 77)
    assert temp_events(receiver) == [
        ("assert", 7, bytes((0x57, raw_temp(62), raw_temp(60)))),
        ("assert", 9, bytes((0x59, raw_temp(77), raw_temp(75)))),
    ]
    ev = receiver.received[-1]
    assert ev.generator == 0x72 and ev.sensor_type == 0x01 and ev.event_type == 0x01


def test_inside_the_hysteresis_band_nothing_deasserts_below_it_both_do(sim, sat, receiver):
    settle(sim, sat, 77)
    n = len(temp_events(receiver))
    settle(sim, sat, 73.5)  # UC 75 - 2: still inside
    settle(sim, sat, 73)  # exactly T - hysteresis: still asserted
    assert len(temp_events(receiver)) == n
    settle(sim, sat, 72.5)  # below the UC band, inside UNC's (60 - 2)
    assert temp_events(receiver)[n:] == [("deassert", 9, bytes((0x59, raw_temp(72.5), 190)))]
    settle(sim, sat, 57.5)
    assert temp_events(receiver)[n + 1 :] == [("deassert", 7, bytes((0x57, raw_temp(57.5), 160)))]


def test_disabled_events_are_not_sent(sim, sat, receiver):
    sat.call(
        NETFN_SENSOR, CMD_SET_SENSOR_EVENT_ENABLE, bytes((TEMP, 0xE0, 0x80, 0x00, 0x00, 0x02))
    )  # UNC assert, UC deassert
    settle(sim, sat, 77)
    settle(sim, sat, 25)
    assert [(d, o) for d, o, _ in temp_events(receiver)] == [("assert", 9), ("deassert", 7)]
    status = sat.call(NETFN_SENSOR, CMD_GET_SENSOR_EVENT_STATUS, bytes((TEMP,)))
    assert status[1] | status[2] << 8 == (1 << 7 | 1 << 9)  # both conditions occurred


def test_receiver_ff_stops_events(sim, sat, receiver):
    before = read_counters(sat)
    sat.call(NETFN_SENSOR, CMD_SET_EVENT_RECEIVER, b"\xff\x00")
    assert sat.call(NETFN_SENSOR, CMD_GET_EVENT_RECEIVER) == b"\xff\x00"
    settle(sim, sat, 77)
    time.sleep(SETTLE)
    assert temp_events(receiver) == []
    after = read_counters(sat)
    assert after["events_queued"] == before["events_queued"]
    settle(sim, sat, 25)


def test_setting_the_receiver_again_rearms(sim, sat, receiver):
    settle(sim, sat, 62)
    sat.call(NETFN_SENSOR, CMD_SET_EVENT_RECEIVER, b"\x20\x00")
    assert [o for d, o, _ in wait_temp_events(receiver, 2)] == [7, 7]


def test_no_receiver_answering_events_are_retried_then_counted(sim, sat, baseline):
    before = read_counters(sat)
    sat.call(
        NETFN_SENSOR, CMD_SET_EVENT_RECEIVER, b"\x44\x00"
    )  # nobody at 0x44; re-arming raises "present" again
    set_temp(sim, 62)
    deadline = time.monotonic() + 5
    while read_counters(sat)["events_queued"] - before["events_queued"] < 2:
        assert time.monotonic() < deadline, "the events were not queued"
        time.sleep(0.1)
    time.sleep(SETTLE)
    queued = read_counters(sat)["events_queued"] - before["events_queued"]
    assert queued == 2  # Module Present, then Board Temp UNC
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        after = read_counters(sat)
        if after["events_dropped"] - before["events_dropped"] == queued:
            break
        time.sleep(0.25)
    assert after["events_sent"] - before["events_sent"] == queued
    assert after["events_retried"] - before["events_retried"] == 3 * queued  # 4 tries each
    assert after["events_dropped"] - before["events_dropped"] == queued
    assert after["events_acked"] == before["events_acked"]


def test_events_reach_a_master_only_host_by_readback(sim, sat_readback):
    to_baseline(sim, sat_readback)  # nobody is a target at 0x20 now
    with EventReceiver(sat_readback) as rx:
        set_temp(sim, 62)
        wait_temp_events(rx, 1)
        set_temp(sim, 25)
        events = wait_temp_events(rx, 2)
        assert [(d, o) for d, o, _ in events] == [("assert", 7), ("deassert", 7)]
    assert read_counters(sat_readback)["read_back"] > 0


def test_events_reach_an_ftdi_host_by_readback(sim):
    from satmc import twin
    from satmc.transports import connect

    try:
        with connect("ftdi://ftdi:232h/1", address=sim.address, twin=sim.socket_path) as ftdi:
            to_baseline(sim, ftdi)
            with EventReceiver(ftdi) as rx:
                set_temp(sim, 62)
                wait_temp_events(rx, 1)
                set_temp(sim, 25)
                wait_temp_events(rx, 2)
                time.sleep(SETTLE)  # a duplicate would arrive now
            assert [(d, o) for d, o, _ in temp_events(rx)] == [("assert", 7), ("deassert", 7)]
            assert rx.duplicates == 0
    finally:
        twin.uninstall()


def test_thresholds_set_moves_the_cache_key_and_the_events(sim, sat, tmp_path, receiver):
    client = SensorClient(sat, cache_dir=tmp_path)
    before = client.sdr_indicator()
    try:
        thr = client.set_thresholds("Board Temp", unc=50)
        assert thr["unc"] == 50.0
        assert client.sdr_indicator() != before
        set_temp(sim, 52)
        assert wait_temp_events(receiver, 1)[0][:2] == ("assert", 7)
        with pytest.raises(SensorError, match="not settable"):
            client.set_thresholds("12V", lnr=1.0)  # not a threshold 12V has
        assert (
            sat.raw(NETFN_SENSOR, CMD_SET_SENSOR_THRESHOLDS, bytes((2, 0x04, 0, 0, 10, 0, 0, 0)))[
                0
            ]
            == 0xCC
        )
    finally:
        client.set_thresholds("Board Temp", unc=60)
    assert client.sdr_indicator() == before


def test_warm_listing_costs_only_the_readings(sim, sat, tmp_path):
    client = SensorClient(sat, cache_dir=tmp_path)
    client.read_all()
    sim.control("reset_stats", bus="ipmb")
    SensorClient(sat, cache_dir=tmp_path).read_all()  # a new process: the disk cache
    n = sim.control("stats", bus="ipmb")
    requests = len(BOARD.config["sensors"]) + 1  # SDR info + one reading per sensor
    assert n["transactions"] <= 2 * requests  # request + response per exchange


def test_events_go_to_the_persistent_log(sim, sat, tmp_path, baseline):
    log = EventLog(tmp_path / "events.sqlite")
    with EventReceiver(sat, log) as rx:
        rx.add_records(SensorClient(sat, cache_dir=tmp_path).sensor_records())
        set_temp(sim, 62)
        deadline = time.monotonic() + 5
        while not temp_events(rx) and time.monotonic() < deadline:
            time.sleep(0.05)
    set_temp(sim, 25)
    log.close()
    events = EventLog(tmp_path / "events.sqlite").events()
    ev = [e for e in events if e.sensor == TEMP][0]
    assert (ev.sensor_name, ev.direction, ev.offset) == ("Board Temp", "assert", 7)
    assert ev.reading_value == 62.0 and ev.threshold_value == 60.0 and ev.unit == "C"


def test_an_event_answer_the_bus_refuses_does_not_stop_the_receiver(sim, sat, receiver):
    """python-ipmi's router answers requests on one worker thread and catches only OSError
    from send_frame. An answer the bus refused (the satellite's address NACKed it three
    times: BusNackError) ended that thread, and no event on the connection was answered
    again: the satellite gave each one up after its tries (the soak's events left open
    after its fault part). The answer is lost, counted; the retry is answered."""
    intf = sat.interface
    before, lost = read_counters(sat), intf.responses_failed
    nacks = sim.control("stats", bus="ipmb")["fired"]["nack"]
    sim.control("fault", bus="ipmb", rule={"kind": "nack", "addr": sim.address >> 1, "count": 3})
    set_temp(sim, 62)  # UNC going high: the answer meets the NACKs (the host tries 3 times)
    deadline = time.monotonic() + 15
    while sim.control("stats", bus="ipmb")["fired"]["nack"] < nacks + 3:
        assert time.monotonic() < deadline, "the event's answer never met the NACKs"
        time.sleep(0.05)
    settle(sim, sat, 62)
    d = {k: v - before[k] for k, v in read_counters(sat).items()}
    assert d["events_retried"] >= 1 and d["events_dropped"] == 0
    assert d["events_acked"] == d["events_queued"] >= 1
    assert intf.responses_failed == lost + 1
    settle(sim, sat, 25)  # and the next events are answered too
    assert ("deassert", 7) in [(e[0], e[1]) for e in temp_events(receiver)]
