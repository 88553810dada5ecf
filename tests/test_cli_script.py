"""satmc for scripts: --json and --csv on every listing command, sensors --check and its
exit status, the readings log, sensor get / hysteresis, mc selftest|guid|reset; against
the real firmware on the unix port through sim://, values checked with the board file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
import uuid
from pathlib import Path

import pytest

from satmc.board import load_board
from satmc.cli import device, firewall, fru, mc, output, sensors
from satmc.cli.main import main
from satmc.errors import SatmcError
from satmc.eventlog import EventLog, EventReceiver
from satmc.fru.access import FRUAccess
from satmc.ipmi.client import read_counters
from satmc.sensors import DETAIL_FIELDS, LOG_FIELDS, READING_FIELDS, SensorClient
from satmc.transports import connect, wait_until_answering

BOARD = load_board("sim")
SENSORS = {s["name"]: s for s in BOARD.data["sensors"]}
README = (Path(__file__).parents[1] / "README.md").read_text()


@pytest.fixture
def satmc(sim, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SATMC_EVENT_LOG", str(tmp_path / "events.sqlite"))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["-t", sim.url, *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def wait_for(what: str, probe, timeout: float = 10.0):
    """probe() until it returns something true; its value."""
    deadline = time.monotonic() + timeout
    while not (got := probe()):
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.05)
    return got


def board_temp_is(sim, celsius: float) -> None:
    """Set the LM75 and wait until the firmware's reading shows it."""
    sim.control("device", name="temp0", set={"temperature": celsius})
    with connect(sim.url, address=sim.address) as sat:
        client = SensorClient(sat)
        rec = client.find("Board Temp")
        wait_for(f"read {celsius} C", lambda: client.read(rec).value == celsius)


def as_json_and_csv(satmc, *argv, stable=True) -> tuple[object, list[dict], list[list[str]]]:
    """The command's --json (parsed), its --csv rows (as dicts) and --no-header rows
    (the same rows as --csv's, unless the values move between runs: not stable)."""
    code, out, err = satmc(*argv, "--json")
    assert code == 0, err
    data = json.loads(out)
    code, out, err = satmc(*argv, "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    code, out, err = satmc(*argv, "-c", "--no-header")
    assert code == 0, err
    bare = list(csv.reader(io.StringIO(out)))
    if stable:
        assert bare == [list(r.values()) for r in rows]  # the same rows, without the header
    assert len(bare) == len(rows) and bare[0] != list(rows[0])  # no header row
    return data, rows, bare


def test_info_json_and_csv(satmc):
    data, rows, _ = as_json_and_csv(satmc, "info")
    dev = BOARD.config["device"]
    assert list(data) == list(device.INFO_FIELDS)
    assert data["address"] == 0x72 and data["device_id"] == dev["device_id"]
    assert data["product_id"] == dev["product_id"] and data["ipmi_version"] == "2.0"
    assert data["manufacturer_id"] == dev["manufacturer_id"] and data["provides_sdrs"] is True
    assert "sensor device" in data["capabilities"]
    assert rows == [
        {
            **{k: str(v) for k, v in data.items()},
            "update_in_progress": "false",
            "provides_sdrs": "true",
            "capabilities": ";".join(data["capabilities"]),
        }
    ]


def test_scan_json_and_csv(satmc):
    data, rows, _ = as_json_and_csv(satmc, "scan", "--first", "0x70", "--last", "0x74")
    assert [d["address"] for d in data] == [0x72] and list(data[0]) == list(device.SCAN_FIELDS)
    assert rows[0]["address"] == "114" and rows[0]["firmware"] == data[0]["firmware"]


def test_stats_json_and_csv(satmc):
    data, rows, _ = as_json_and_csv(satmc, "stats", stable=False)
    assert data["requests"] > 0 and "events_dropped" in data and "malformed" in data
    assert len(rows) == 1 and set(rows[0]) == set(data)


def test_sensors_json_and_csv(satmc, sim):
    board_temp_is(sim, 25.0)
    with connect(sim.url, address=sim.address) as sat:  # the fan is counted once a second
        client = SensorClient(sat)
        wait_for("every sensor ok", lambda: all(r.status == "ok" for r in client.read_all()))
    data, rows, _ = as_json_and_csv(satmc, "sensors")
    assert [d["name"] for d in data] == [s["name"] for s in BOARD.data["sensors"]]
    assert all(list(d) == list(READING_FIELDS) for d in data)
    for d, row in zip(data, rows, strict=True):
        entry = SENSORS[d["name"]]
        assert d["number"] == entry["number"] and row["number"] == str(entry["number"])
        if entry["type"] == "presence":
            assert d["value"] is None and d["text"] == "present" and row["value"] == ""
            continue
        assert d["unit"] == entry["unit"] and d["status"] == "ok"
        for k in sensors.COLUMNS:
            want = entry["thresholds"].get(k)
            if want is None:
                assert d[k] is None and row[k] == ""
            else:
                assert abs(d[k] - want) <= entry["resolution"] / 2 + 1e-9, (d["name"], k)
                assert float(row[k]) == d[k]
    temp = next(d for d in data if d["name"] == "Board Temp")
    assert (temp["value"], temp["type"], temp["text"]) == (25.0, "Temperature", "25.0 C")


def test_thresholds_get_events_and_fru_print_json_and_csv(satmc):
    data, rows, _ = as_json_and_csv(satmc, "thresholds", "get", "Board Temp")
    assert data == {
        "name": "Board Temp",
        "lnr": None,
        "lc": 0,
        "lnc": 5,
        "unc": 60,
        "uc": 75,
        "unr": 90,
    }
    assert rows == [
        {
            "name": "Board Temp",
            "lnr": "",
            "lc": "0.0",
            "lnc": "5.0",
            "unc": "60.0",
            "uc": "75.0",
            "unr": "90.0",
        }
    ]
    # the event counters move while an event from an earlier test is sent: not stable
    data, rows, _ = as_json_and_csv(satmc, "events", stable=False)
    assert list(data) == list(sensors.EVENT_FIELDS) and data["receiver"] == 0x20
    assert rows[0]["receiver"] == "32" and rows[0]["events_dropped"] == str(data["events_dropped"])
    data, rows, _ = as_json_and_csv(satmc, "fru", "print")  # every FRU device: 0, then 1
    assert sorted({d["fru_id"] for d in data}) == [0, 1]
    assert [r["value"] for r in rows] == [d["value"] for d in data]
    data, rows, _ = as_json_and_csv(satmc, "fru", "print", "--id", "0")
    fields = {d["field"]: d["value"] for d in data}
    board = BOARD.data["fru"][0]["source"]["BoardInfo"]
    assert fields["Board Serial"] == board["serial_number"]
    assert fields["Board Part Number"] == board["part_number"]
    assert fields["FRU Device Description"] == "Builtin FRU Device (ID 0)"
    assert all(list(d) == list(fru.PRINT_FIELDS) and d["fru_id"] == 0 for d in data)
    assert [r["value"] for r in rows] == [d["value"] for d in data]


def test_sel_list_json_and_csv_of_events_the_firmware_sent(satmc, sim, tmp_path):
    log_path = tmp_path / "sel.sqlite"
    code, out, _ = satmc("sel", "list", "--log", str(log_path), "--csv")
    assert code == 0 and out == ",".join(sensors.SEL_FIELDS) + "\n"  # empty: the header only
    log = EventLog(log_path)
    with connect(sim.url, address=sim.address) as sat:
        rx = EventReceiver(sat, log)
        rx.add_records(SensorClient(sat).sensor_records())
        with rx:
            ours = lambda: [e for e in log.events() if e.sensor_name == "Board Temp"]  # noqa: E731
            sim.control("device", name="temp0", set={"temperature": 62})
            wait_for("UNC asserted", ours)
            sim.control("device", name="temp0", set={"temperature": 25})
            wait_for("UNC deasserted", lambda: len(ours()) >= 2)
    data, rows, _ = as_json_and_csv(satmc, "sel", "list", "--log", str(log_path))
    rows = [r for r in rows if r["sensor_name"] == "Board Temp"]
    data = [d for d in data if d["sensor_name"] == "Board Temp"]
    first = data[0]
    assert list(first) == list(sensors.SEL_FIELDS)
    assert (first["sensor_name"], first["event"], first["direction"]) == (
        "Board Temp",
        "UNC going high",
        "assert",
    )
    assert first["generator"] == 0x72 and first["sensor"] == 1
    assert first["reading"] == 62 and first["threshold"] == 60 and first["unit"] == "C"
    assert dt.datetime.fromisoformat(first["time"]).tzinfo is not None
    assert data[1]["direction"] == "deassert" and rows[1]["event"] == "UNC going high"


def test_check_exit_status_follows_real_threshold_crossings(satmc, sim):
    try:
        for celsius, status, word in (
            (25, 0, "OK"),
            (62, 1, "WARNING"),
            (80, 2, "CRITICAL"),
            (95, 2, "CRITICAL"),
            (-2, 2, "CRITICAL"),
            (3, 1, "WARNING"),
        ):
            board_temp_is(sim, celsius)
            code, out, err = satmc("sensors", "--check")
            lines = out.splitlines()
            assert code == status and len(lines) == 1 and err == "", (celsius, out, err)
            assert lines[0].startswith(f"SENSORS {word} - "), lines[0]
            if status:
                assert f"Board Temp {celsius:.1f} C (" in lines[0]
            assert f"'Board Temp'={celsius:g};5:60;0:75 " in lines[0]  # perfdata, Nagios ranges
    finally:
        board_temp_is(sim, 25)


def test_check_says_unknown_when_a_reading_is_unavailable_or_nothing_answers(satmc, sim, capsys):
    model = sim.devices["rail3v3"]

    def broken(channel):
        raise ValueError("the ADC model has no value to give")

    with connect(sim.url, address=sim.address) as sat:  # a fresh board reads nothing yet
        client = SensorClient(sat)
        wait_for("every reading", lambda: all(r.status != "na" for r in client.read_all()))
    model.adc_u16 = broken
    try:
        with connect(sim.url, address=sim.address) as sat:
            client = SensorClient(sat)
            rec = client.find("3V3")
            wait_for("3V3 unavailable", lambda: client.read(rec).status == "na")
        code, out, _ = satmc("sensors", "--check")
        assert code == 3 and out.startswith("SENSORS UNKNOWN - 3V3 no reading (na)"), out
    finally:
        del model.adc_u16
    capsys.readouterr()
    code = main(["-t", "sim:///nonexistent/sim.sock", "sensors", "--check"])
    assert code == 3  # no answer at all: UNKNOWN, not WARNING, in the line Nagios reads
    out, err = capsys.readouterr()
    assert out.startswith("SENSORS UNKNOWN - no virtual bus at /nonexistent/sim.sock"), out
    assert err.startswith("satmc: error: no virtual bus"), err


def test_watch_log_appends_timestamped_rows_with_one_header(satmc, sim, tmp_path):
    path = tmp_path / "readings.csv"
    board_temp_is(sim, 25.0)
    code, out, err = satmc("sensors", "--watch", "0.05", "--count", "2", "--log", str(path))
    assert code == 0, err
    board_temp_is(sim, 40.0)
    try:
        code, _, err = satmc("sensors", "--watch", "0.05", "--count", "1", "--log", str(path))
        assert code == 0, err
    finally:
        board_temp_is(sim, 25.0)
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(LOG_FIELDS) and rows.count(list(LOG_FIELDS)) == 1
    records = [dict(zip(LOG_FIELDS, r, strict=True)) for r in rows[1:]]
    n = len(SENSORS)
    assert len(records) == 3 * n
    stamps = [dt.datetime.fromisoformat(r["time"]) for r in records]
    assert all(s.tzinfo is not None for s in stamps) and stamps == sorted(stamps)
    assert len(set(stamps)) == 3  # one stamp per sample, shared by its rows
    temps = [float(r["value"]) for r in records if r["name"] == "Board Temp"]
    assert temps == [25.0, 25.0, 40.0]
    assert {r["name"] for r in records[:n]} == set(SENSORS)
    assert path.read_text().count("\n") == 1 + 3 * n
    code, out, _ = satmc("sensors", "--watch", "0.05", "--count", "2", "--json")
    samples = [json.loads(line) for line in out.splitlines()]  # JSON Lines: one per sample
    assert code == 0 and len(samples) == 2 and all(len(x) == n for x in samples)
    code, out, _ = satmc("sensors", "--watch", "0.05", "--count", "2", "--csv")
    assert (
        out.splitlines().count(",".join(READING_FIELDS)) == 1
        and len(out.splitlines()) == 1 + 2 * n
    )
    code, _, err = satmc("sensors", "--log", str(tmp_path / "nodir" / "r.csv"))
    assert code == 1 and "create it first" in err and not (tmp_path / "nodir").exists()


def _ipmitool_get(ipmitool, sim, name: str) -> dict[str, str]:
    import subprocess

    r = subprocess.run(
        [
            ipmitool,
            "-I",
            "serial-basic",
            "-D",
            f"{sim.serial.pty_path}:115200",
            "sensor",
            "get",
            name,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return {
        k.strip(): v.strip()
        for k, sep, v in (line.partition(":") for line in r.stdout.splitlines())
        if sep
    }


def test_sensor_get_shows_what_ipmitool_sensor_get_shows(satmc, sim, ipmitool):
    board_temp_is(sim, 25.0)
    code, out, err = satmc("sensor", "get", "Board Temp", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert list(d) == list(DETAIL_FIELDS)
    theirs = _ipmitool_get(ipmitool, sim, "Board Temp")
    assert theirs["Sensor ID"] == f"Board Temp (0x{d['number']:x})"
    assert theirs["Entity ID"] == d["entity"] and d["reading_type"] == "threshold"
    assert theirs["Status"] == d["status"] == "ok"
    for key, label in (
        ("lnr", "Lower Non-Recoverable"),
        ("lc", "Lower Critical"),
        ("lnc", "Lower Non-Critical"),
        ("unc", "Upper Non-Critical"),
        ("uc", "Upper Critical"),
        ("unr", "Upper Non-Recoverable"),
    ):
        cell = theirs[label]
        assert (cell == "na") if d[key] is None else float(cell) == d[key], key
    assert float(theirs["Positive Hysteresis"]) == d["hysteresis_positive"] == 2
    assert float(theirs["Negative Hysteresis"]) == d["hysteresis_negative"] == 2
    assert theirs["Assertions Enabled"].split() == d["assertions_enabled"]
    assert theirs["Deassertions Enabled"].split() == d["deassertions_enabled"]
    entry = SENSORS["Board Temp"]  # value = (M raw + B 10^K1) 10^K2
    assert d["m"] * 10 ** d["k2"] == d["resolution"] == entry["resolution"]
    assert d["b"] * 10 ** (d["k1"] + d["k2"]) == entry["range"][0]
    assert d["value"] == 25.0 and d["raw"] == (25 - entry["range"][0]) / entry["resolution"]
    code, out, _ = satmc("sensor", "get", "Board Temp")
    assert "Upper Critical        : 75" in out and "Assertions Enabled    : lnc- lcr-" in out
    code, out, _ = satmc("sensor", "get", "7", "--json")
    d = json.loads(out)
    assert (d["name"], d["reading_type"], d["text"]) == ("Module Present", "discrete", "present")


def test_hysteresis_set_is_what_ipmitool_then_reads(satmc, sim, ipmitool):
    code, out, _ = satmc("hysteresis", "get", "12V")
    assert code == 0 and out.strip() == "12V: positive=0.12 V  negative=0.12 V"
    try:
        code, out, err = satmc(
            "hysteresis", "set", "12V", "--positive", "0.3", "--negative", "0.25"
        )
        assert code == 0 and "negative hysteresis 0.25 rounded to 0.24 (resolution 0.06 V)" in err
        assert out.strip() == "12V: positive=0.3 V  negative=0.24 V"
        theirs = _ipmitool_get(ipmitool, sim, "12V")
        assert float(theirs["Positive Hysteresis"]) == 0.3
        assert float(theirs["Negative Hysteresis"]) == 0.24
        code, _, err = satmc("hysteresis", "set", "12V", "--positive", "20")
        assert code == 1 and "outside 0..15.3 V" in err
        code, _, err = satmc("hysteresis", "set", "Module Present", "--positive", "1")
        assert code == 1 and "discrete sensor" in err
    finally:
        satmc("hysteresis", "set", "12V", "--positive", "0.12", "--negative", "0.12")
    assert satmc("hysteresis", "get", "12V")[1].strip() == "12V: positive=0.12 V  negative=0.12 V"


def test_mc_selftest_names_the_failing_part(satmc, sim):
    code, out, _ = satmc("mc", "selftest")
    assert (code, out.strip()) == (0, "Selftest: passed (55 00)")
    data = json.loads(satmc("mc", "selftest", "--json")[1])
    assert data == {"result": 0x55, "detail": 0, "passed": True, "text": "passed", "failures": []}
    with connect(sim.url, address=sim.address) as sat:
        original = FRUAccess(sat, 0).read()
    board_at = original[3] * 8
    sim.control("device", name="fru0", set={"poke": [board_at + 10, "00"]})  # a bad checksum
    try:
        sim.reset()
        sim.wait_ready()
        code, out, _ = satmc("mc", "selftest")
        assert code == 1
        assert out.splitlines() == [
            "Selftest: corrupted or inaccessible data or devices (57 04)",
            " -> FRU data corrupted (internal use area or checksums)",
        ]
        rows = list(csv.DictReader(io.StringIO(satmc("mc", "selftest", "-c")[1])))
        assert rows[0]["result"] == "87" and rows[0]["failures"].startswith("FRU data corrupted")
    finally:
        with connect(sim.url, address=sim.address) as sat:
            FRUAccess(sat, 0).write_image(original)
    assert satmc("mc", "selftest")[0] == 0


def test_mc_guid_in_the_standard_text_form(satmc):
    code, out, _ = satmc("mc", "guid")
    assert code == 0
    text = out.strip()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)
    g = uuid.UUID(text)
    assert g.version == 5 and g.variant == uuid.RFC_4122  # the firmware's v5 bits, decoded
    data = json.loads(satmc("mc", "guid", "--json")[1])
    assert data["guid"] == text and bytes.fromhex(data["raw"])[::-1] == g.bytes
    assert satmc("mc", "guid")[1].strip() == text  # stable


def test_mc_reset_gives_the_boards_answer(satmc, sim):
    code, _, err = satmc("mc", "reset", "warm")
    assert code == 1 and err.strip() == (
        "satmc: error: this satellite does not support Warm Reset (0xc1 invalid command); "
        "use satmc mc reset cold"
    )
    with connect(sim.url, address=sim.address) as sat:
        before = read_counters(sat)["requests"]
    code, out, _ = satmc("mc", "reset", "cold")
    assert (
        code == 0
        and out.strip() == "cold reset: accepted (completion code 00); the satellite restarts"
    )
    with connect(sim.url, address=sim.address) as sat:

        def restarted() -> bool:
            try:
                return read_counters(sat)["requests"] < before  # counted from zero at boot
            except SatmcError:
                return False  # restarting

        wait_for("restarted", restarted, timeout=30)
        assert wait_until_answering(sat, 20)


def test_readme_documents_every_field_and_exit_code():
    section = README.split("## Scripting", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z_0-9]+)`", section))
    for fields in (
        device.INFO_FIELDS,
        device.SCAN_FIELDS,
        READING_FIELDS,
        DETAIL_FIELDS,
        sensors.THRESHOLD_FIELDS,
        sensors.EVENT_FIELDS,
        sensors.SEL_FIELDS,
        fru.PRINT_FIELDS,
        mc.SELFTEST_FIELDS,
        mc.GUID_FIELDS,
        LOG_FIELDS,
        firewall.FIELDS,
    ):
        missing = set(fields) - documented
        assert not missing, f"README Scripting does not name {missing}"
    for flag in ("--json", "--csv", "--no-header", "--check", "--log"):
        assert flag in section
    assert "| 3 |" in section


def test_csv_cells():
    assert [output.cell(v) for v in (None, True, False, ["a", "b"], 1.5, "x")] == [
        "",
        "true",
        "false",
        "a;b",
        "1.5",
        "x",
    ]
