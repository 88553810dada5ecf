"""Stock ipmitool reads the satellite's device SDRs and sensors (serial basic mode).

ipmitool decodes SDRs and converts readings on its own, so it cross-checks the
firmware's encoder independently of python-ipmi. Run as a user would, with no other
options: the sensors' owner (0x72) is not ipmitool's own address (0x20), so ipmitool
reads them through Send Message, which the satellite answers for itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from satmc.board import load_board

BOARD = load_board("sim")
COLUMNS = ("lnr", "lc", "lnc", "unc", "uc", "unr")  # ipmitool's sensor list order


@pytest.fixture(scope="module")
def ipmitool(sim, scanned_sim):
    exe = shutil.which("ipmitool")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("ipmitool is missing; .ci/run installs it")
        pytest.skip("ipmitool not installed (apt-get install ipmitool)")

    def run(*args: str) -> str:
        r = subprocess.run(
            [
                exe,
                "-I",
                "serial-basic",
                "-D",
                f"{sim.serial.pty_path}:115200",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        return r.stdout

    return run


def _rows(text: str) -> dict[str, list[str]]:
    return {
        cells[0]: cells[1:]
        for cells in ([c.strip() for c in line.split("|")] for line in text.splitlines())
        if len(cells) > 2
    }


def test_sensor_list_matches_the_board_file(ipmitool):
    rows = _rows(ipmitool("sensor", "list"))
    for entry in BOARD.data["sensors"]:
        if entry["type"] == "presence":
            assert rows[entry["name"]][1] == "discrete"
            continue
        value, unit, status, *thr = rows[entry["name"]]
        assert status == "ok", entry["name"]
        for key, cell in zip(COLUMNS, thr, strict=True):
            if key in entry.get("thresholds", {}):
                assert abs(float(cell) - entry["thresholds"][key]) <= entry["resolution"]
            else:
                assert cell == "na", (entry["name"], key)
    assert float(rows["Board Temp"][0]) == 25.0 and rows["Board Temp"][1] == "degrees C"
    assert abs(float(rows["Fan 1"][0]) - 6000) <= 150


def test_threshold_set_by_ipmitool_moves_the_sensor_status(ipmitool, sim):
    try:
        ipmitool("sensor", "thresh", "Board Temp", "unc", "20")
        deadline = time.monotonic() + 10  # the next scan asserts it (period 200 ms)
        while (rows := _rows(ipmitool("sensor", "list")))["Board Temp"][2] != "nc":
            assert time.monotonic() < deadline, f"Board Temp stayed {rows['Board Temp'][2]}"
            time.sleep(0.1)
        assert float(rows["Board Temp"][6]) == 20.0
    finally:
        ipmitool("sensor", "thresh", "Board Temp", "unc", "60")
        deadline = time.monotonic() + 5  # the next scan deasserts: leave the sensor ok
        while _rows(ipmitool("sdr", "list"))["Board Temp"][1] != "ok":
            assert time.monotonic() < deadline, "Board Temp stayed out of ok"
            time.sleep(0.1)
    out = ipmitool("sensor", "get", "Board Temp")
    assert "Positive Hysteresis   : 2.000" in out and "Upper Non-Critical    : 60.000" in out


UNITS = {"C": "degrees C", "V": "Volts", "A": "Amps", "RPM": "RPM"}
SIMULATED = {  # the physical values boards/sim.yaml gives its device models
    "Board Temp": 25.0,
    "12V": 12.0,
    "12V Current": 1.5,
    "Fan 1": 6000,
    "MCU Temp": 35.0,
    "3V3": 3.3,
}


def test_sdr_list_shows_every_sensor_with_its_unit_and_reading(ipmitool):
    rows = _rows(ipmitool("sdr", "list"))
    sensors = BOARD.data["sensors"]
    assert list(rows) == [s["name"] for s in sensors]
    for s in sensors:
        value, status = rows[s["name"]]
        assert status == "ok", s["name"]
        if s["type"] == "presence":
            continue
        number, unit = value.rsplit(" ", 1) if s["unit"] == "RPM" else value.split(" ", 1)
        assert unit == UNITS[s["unit"]], s["name"]
        assert abs(float(number) - SIMULATED[s["name"]]) <= s["resolution"], s["name"]


def test_sdr_elist_gives_sensor_numbers_and_states(ipmitool):
    rows = _rows(ipmitool("sdr", "elist"))
    for s in BOARD.data["sensors"]:
        number, status, entity, reading = rows[s["name"]]
        assert number == f"{s['number']:02x}h" and status == "ok" and entity.count(".") == 1
    assert rows["Module Present"][3] == "Present"


def test_sensor_get_shows_the_board_file_thresholds_and_hysteresis(ipmitool):
    names = {
        "lnr": "Lower Non-Recoverable",
        "lc": "Lower Critical",
        "lnc": "Lower Non-Critical",
        "unc": "Upper Non-Critical",
        "uc": "Upper Critical",
        "unr": "Upper Non-Recoverable",
    }
    for s in BOARD.data["sensors"]:
        if s["type"] == "presence":
            continue
        out = ipmitool("sensor", "get", s["name"])
        got = {
            k.strip(): v.strip()
            for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)
        }
        assert got["Sensor ID"].startswith(f"{s['name']} (0x{s['number']:x})")
        for key, label in names.items():
            if key in s["thresholds"]:
                assert abs(float(got[label]) - s["thresholds"][key]) <= s["resolution"]
            else:
                assert got[label] == "na", (s["name"], label)
        pos, neg = s["hysteresis"]
        for value, label in ((pos, "Positive Hysteresis"), (neg, "Negative Hysteresis")):
            if value:
                assert abs(float(got[label]) - value) <= s["resolution"], (s["name"], label)


def _sdr_exchanges(log: str) -> list[tuple[str, int]]:
    """(completion code, response data length) of each Get Device SDR in ipmitool -vvvv."""
    got = []
    for block in log.split("Got response:")[1:]:
        block = block.split("Sending request:")[0]
        fields = dict(
            (k.strip(), v.strip())
            for k, v in (line.split("=", 1) for line in block.splitlines() if "=" in line)
        )
        if fields.get("cmd") == "0x21":
            got.append((fields["completion code"], int(fields.get("data_len", "0"))))
    return got


def test_sdr_list_reads_records_in_the_chunks_ipmitool_asks_for(ipmitool, sim):
    # Serial Basic Mode carries 40-byte messages: ipmitool asks for 30 record bytes
    # at a time, and an IPMB-sized limit made it step down one byte per CA to 22.
    ipmitool("sdr", "list")  # the fixture's checks: installed, every sensor scanned
    r = subprocess.run(
        ["ipmitool", "-I", "serial-basic", "-D", f"{sim.serial.pty_path}:115200", "-vvvv"]
        + ["sdr", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-500:]
    exchanges = _sdr_exchanges(r.stderr)
    assert exchanges and all(cc == "0x0" for cc, _ in exchanges), exchanges
    assert max(n for _, n in exchanges) == 2 + 30  # next record id + 30 record bytes
