"""Shell completion: argcomplete answers for commands, board names and sensor names.

Runs the installed `satmc` as a shell's completion hook does (argcomplete's protocol:
_ARGCOMPLETE=1, COMP_LINE and COMP_POINT in the environment, the candidates written out).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from satmc.sensors import SensorClient

SATMC = Path(sys.executable).parent / "satmc"


def complete(line: str, tmp_path: Path, **env) -> list[str]:
    out = tmp_path / "completions"
    r = subprocess.run(
        [str(SATMC)],
        env={
            **os.environ,
            "_ARGCOMPLETE": "1",
            "_ARGCOMPLETE_IFS": "\n",
            "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    text = out.read_text()  # a sole candidate ends in a space, as the shell inserts it
    return sorted(c.rstrip(" ") for c in text.split("\n")) if text else []


@pytest.fixture(autouse=True)
def _installed():
    if not SATMC.exists():
        pytest.skip("satmc is not installed in this environment (make setup)")


def test_commands_and_subcommands_complete(tmp_path):
    assert {"sdr", "sensors", "sel", "sim", "stats"} <= set(complete("satmc s", tmp_path))
    assert [c for c in complete("satmc sdr ", tmp_path) if c[0] != "-"] == ["dump", "info"]
    assert "--no-verify" in complete("satmc fru write --no", tmp_path)


def test_board_names_complete(tmp_path):
    from satmc.board import board_names

    want = [n for n in board_names() if n.startswith("p")]
    assert "pico" in want and complete("satmc bundle --board p", tmp_path) == want
    assert complete("satmc fru build s", tmp_path) == ["sim"]


def test_sensor_names_complete_from_the_sdr_cache(sim, sat, tmp_path):
    SensorClient(sat, cache_dir=tmp_path / "cache" / "satmc").read_all()  # fills the cache
    # no target given: the names come from the cache alone, nothing is asked
    assert complete("satmc thresholds get Bo", tmp_path, SATMC_TARGET="sim:///nonexistent") == [
        "Board\\ Temp"
    ]
    assert complete("satmc thresholds set 12", tmp_path) == ["12V", "12V\\ Current"]


def test_sensor_names_complete_from_the_target_before_anything_is_cached(sim, tmp_path):
    assert complete(f"satmc -t {sim.url} thresholds get M", tmp_path) == [
        "MCU\\ Temp",
        "Module\\ Present",
    ]
    assert (tmp_path / "cache" / "satmc" / "sdr-72.json").exists()  # and the cache is filled
