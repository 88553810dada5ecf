"""Stock ipmitool reads the satellite's device SDRs and sensors (serial basic mode).

ipmitool decodes SDRs and converts readings on its own, so it cross-checks the
firmware's encoder independently of python-ipmi. `-m 0x72` makes ipmitool's own
address the satellite's, so the sensors' owner (0x72) is read without bridging.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from satmc.boards import load_board

BOARD = load_board("sim")
COLUMNS = ("lnr", "lc", "lnc", "unc", "uc", "unr")  # ipmitool's sensor list order


@pytest.fixture(scope="module")
def ipmitool(sim):
    exe = shutil.which("ipmitool")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("ipmitool is missing; .ci/run installs it")
        pytest.skip("ipmitool not installed (apt-get install ipmitool)")
    time.sleep(1.2)  # every sensor scanned once

    def run(*args: str) -> str:
        r = subprocess.run(
            [
                exe,
                "-I",
                "serial-basic",
                "-D",
                f"{sim.serial.pty_path}:115200",
                "-m",
                "0x72",
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
        time.sleep(0.6)
        rows = _rows(ipmitool("sensor", "list"))
        assert rows["Board Temp"][2] == "nc" and float(rows["Board Temp"][6]) == 20.0
    finally:
        ipmitool("sensor", "thresh", "Board Temp", "unc", "60")
    out = ipmitool("sensor", "get", "Board Temp")
    assert "Positive Hysteresis   : 2.000" in out and "Upper Non-Critical    : 60.000" in out
