"""Sensor conformance: device SDRs, readings, thresholds, hysteresis, event receiver, events."""

from __future__ import annotations

import time

import pytest

from satmc.eventlog import EventReceiver
from satmc.ipmi.client import get_device_id, set_event_receiver
from satmc.ipmi.codes import (
    CC_INVALID_DATA,
    CC_LENGTH,
    CC_NOT_PRESENT,
    CC_OK,
    CC_OUT_OF_RANGE,
    CC_RESERVATION,
    CMD_GET_DEVICE_SDR,
    CMD_GET_EVENT_RECEIVER,
    CMD_GET_SENSOR_EVENT_ENABLE,
    CMD_GET_SENSOR_HYSTERESIS,
    CMD_GET_SENSOR_READING,
    CMD_GET_SENSOR_THRESHOLDS,
    CMD_RESERVE_DEVICE_SDR_REPOSITORY,
    CMD_SET_EVENT_RECEIVER,
    CMD_SET_SENSOR_EVENT_ENABLE,
    CMD_SET_SENSOR_HYSTERESIS,
    CMD_SET_SENSOR_THRESHOLDS,
    EVENT_TYPE_THRESHOLD,
    NETFN_SENSOR,
)
from satmc.sensors import SensorClient


def se_raw(dut, cmd: int, data: bytes = b"") -> tuple[int, bytes]:
    """A Sensor/Event request with its data as given; (completion code, data)."""
    return dut.raw(NETFN_SENSOR, cmd, data)


def se_call(dut, cmd: int, data: bytes = b"") -> bytes:
    """A Sensor/Event request with its data as given; the answer's data (cc 00 or raise)."""
    return dut.call(NETFN_SENSOR, cmd, data)


@pytest.fixture
def client(dut, board, tmp_path_factory):
    if not board.config.get("sensors"):
        pytest.skip(f"not applicable: board {board.name!r} declares no sensors")
    return SensorClient(dut, cache_dir=tmp_path_factory.mktemp("sdr-cache"))


def test_device_id_announces_device_sdrs(dut, client):
    dev = get_device_id(dut)
    # ipmitool reads device SDRs: provides device SDRs, sensor device, no SDR repository
    assert dev["provides_sdrs"] and dev["support"] & 0x01 and not dev["support"] & 0x02


def test_every_sensor_reads_and_matches_its_sdr(dut, board, client):
    records = client.sensor_records()
    assert sorted(r.number for r in records) == sorted(
        s["number"] for s in board.config["sensors"]
    )
    for rec in records:
        cc, d = se_raw(dut, CMD_GET_SENSOR_READING, bytes((rec.number,)))
        assert cc == CC_OK and len(d) >= 3, rec.device_id_string
        if rec.event_reading_type_code != EVENT_TYPE_THRESHOLD:
            continue
        t = se_call(dut, CMD_GET_SENSOR_THRESHOLDS, bytes((rec.number,)))
        assert t[0] == rec.data[18]  # readable mask = SDR byte 19
        by_bit = ("lnc", "lcr", "lnr", "unc", "ucr", "unr")
        for i, key in enumerate(by_bit):
            if t[0] >> i & 1:
                assert t[1 + i] == rec.threshold[key], (rec.device_id_string, key)
        h = se_call(dut, CMD_GET_SENSOR_HYSTERESIS, bytes((rec.number, 0xFF)))
        assert tuple(h) == (rec.hysteresis["positive_going"], rec.hysteresis["negative_going"])


def test_absent_sensor_and_bad_lengths(dut, client):
    used = {r.number for r in client.sensor_records()}
    absent = next(n for n in range(1, 255) if n not in used)
    assert se_raw(dut, CMD_GET_SENSOR_READING, bytes((absent,)))[0] == CC_NOT_PRESENT
    assert se_raw(dut, CMD_GET_SENSOR_READING, b"")[0] == CC_LENGTH


def test_event_receiver_round_trip(dut, client):
    try:
        set_event_receiver(dut, 0xFF)
        assert se_call(dut, CMD_GET_EVENT_RECEIVER) == b"\xff\x00"
    finally:
        set_event_receiver(dut, 0x20)
    assert se_call(dut, CMD_GET_EVENT_RECEIVER) == b"\x20\x00"


def test_set_event_receiver_needs_both_bytes(dut, client):
    before = se_call(dut, CMD_GET_EVENT_RECEIVER)
    assert se_raw(dut, CMD_SET_EVENT_RECEIVER, b"\x30")[0] == CC_LENGTH
    assert se_call(dut, CMD_GET_EVENT_RECEIVER) == before


def test_device_sdr_offsets_past_the_end_and_reservation_0000h(dut, client):
    res = se_call(dut, CMD_RESERVE_DEVICE_SDR_REPOSITORY)[:2]
    header = se_call(dut, CMD_GET_DEVICE_SDR, res + b"\x00\x00\x00\x05")[2:]
    rid, length = header[:2], 5 + header[4]
    assert se_raw(dut, CMD_GET_DEVICE_SDR, res + rid + bytes((length - 1, 1)))[0] == CC_OK
    assert se_raw(dut, CMD_GET_DEVICE_SDR, res + rid + bytes((length, 1)))[0] == CC_OUT_OF_RANGE
    assert se_raw(dut, CMD_GET_DEVICE_SDR, b"\x00\x00" + rid + b"\x00\x05")[0] == CC_OK
    assert se_raw(dut, CMD_GET_DEVICE_SDR, b"\x00\x00" + rid + b"\x05\x05")[0] == CC_RESERVATION


def test_a_reserved_event_enable_action_changes_nothing(dut, client):
    for rec in client.sensor_records():
        n = bytes((rec.number,))
        before = se_call(dut, CMD_GET_SENSOR_EVENT_ENABLE, n)
        for flags in (0x30, 0x70, 0xB0, 0xF0):  # action 11b, with each global enable
            cc, _ = se_raw(dut, CMD_SET_SENSOR_EVENT_ENABLE, n + bytes((flags, 0xFF, 0xFF)))
            assert cc == CC_INVALID_DATA
            assert se_call(dut, CMD_GET_SENSOR_EVENT_ENABLE, n) == before, rec.device_id_string


@pytest.mark.needs("stimulus")
def test_crossing_an_upper_threshold_raises_its_event(dut, board, client, stimulus):
    """An LM75-class sensor driven by its device model across its lowest upper threshold."""
    chips = {
        (s["source"].get("addr")): s
        for s in board.config["sensors"]
        if s["source"]["chip"] == "lm75" and s.get("readable", 0) & 0x38
    }
    models = [d for d in board.sim.get("devices") or [] if d.get("model") == "lm75"]
    pair = next(((m, chips[m["addr"]]) for m in models if m.get("addr") in chips), None)
    if pair is None:
        pytest.skip(f"not applicable: board {board.name!r} has no simulated LM75 sensor")
    model, sensor = pair
    rec = client.find(sensor["name"])
    upper = next(i for i in (3, 4, 5) if sensor["readable"] >> i & 1)
    limit = rec.convert_sensor_raw_to_value(sensor["thresholds"][upper])
    with EventReceiver(dut) as rx:
        stimulus.set(model["name"], temperature=limit + 2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # events of earlier tests may still arrive
            hits = [
                e
                for e in rx.received
                if e.sensor == sensor["number"]
                and e.direction == "assert"
                and e.offset == 2 * upper + 1
            ]
            if hits:
                break
            time.sleep(0.05)
    assert hits, f"no assertion of offset {2 * upper + 1}: {rx.received}"


def test_sdrs_parse_and_are_consistent(dut, board, client):
    from pyipmi.sdr import (
        SdrFruDeviceLocator,
        SdrFullSensorRecord,
        SdrManagementControllerDeviceLocator,
        SdrUnknownSensorRecord,
    )

    records = client.records()  # python-ipmi's decoding of every record
    assert not [r for r in records if isinstance(r, SdrUnknownSensorRecord)]
    numbers = [r.number for r in records if isinstance(r, SdrFullSensorRecord)]
    assert len(numbers) == len(set(numbers)), f"sensor numbers repeat: {numbers}"
    (mc,) = [r for r in records if isinstance(r, SdrManagementControllerDeviceLocator)]
    assert mc.device_slave_address == dut.address >> 1  # the locator names this controller
    frus = sorted(r.fru_device_id for r in records if isinstance(r, SdrFruDeviceLocator))
    ids = [e["id"] for e in board.config.get("fru") or []]
    assert frus == sorted(i for i in ids if i != 0)  # FRU 0: the MC Device Locator's
    assert bool(mc.data[8] & 0x08) == (0 in ids)  # [3] FRU inventory device


def test_thresholds_and_hysteresis_round_trip_and_are_restored(dut, client):
    rec = next(
        (
            r
            for r in client.sensor_records()
            if r.event_reading_type_code == EVENT_TYPE_THRESHOLD and r.data[19]
        ),
        None,
    )
    if rec is None:
        pytest.skip("not applicable: no sensor with settable thresholds")
    n = rec.number
    settable = rec.data[19]  # SDR byte 20
    before = se_call(dut, CMD_GET_SENSOR_THRESHOLDS, bytes((n,)))
    hyst = se_call(dut, CMD_GET_SENSOR_HYSTERESIS, bytes((n, 0xFF)))
    changed = bytes(v - 1 if settable >> i & 1 and v else v for i, v in enumerate(before[1:7]))
    try:
        se_call(dut, CMD_SET_SENSOR_THRESHOLDS, bytes((n, settable)) + changed)
        after = se_call(dut, CMD_GET_SENSOR_THRESHOLDS, bytes((n,)))
        for i in range(6):
            if settable >> i & 1:
                assert after[1 + i] == changed[i], f"threshold bit {i} not set"
        wider = bytes((hyst[0] + 1, hyst[1] + 1))
        se_call(dut, CMD_SET_SENSOR_HYSTERESIS, bytes((n, 0xFF)) + wider)
        assert se_call(dut, CMD_GET_SENSOR_HYSTERESIS, bytes((n, 0xFF))) == wider
    finally:
        se_call(dut, CMD_SET_SENSOR_THRESHOLDS, bytes((n, settable)) + bytes(before[1:7]))
        se_call(dut, CMD_SET_SENSOR_HYSTERESIS, bytes((n, 0xFF)) + hyst)
    assert se_call(dut, CMD_GET_SENSOR_THRESHOLDS, bytes((n,))) == before
    assert se_call(dut, CMD_GET_SENSOR_HYSTERESIS, bytes((n, 0xFF))) == hyst
