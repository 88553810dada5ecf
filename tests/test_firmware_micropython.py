"""Collects the firmware unit tests (tests/firmware/test_*.py) and runs them on MicroPython.

Each test function becomes one pytest item; each module runs once on the unix port
(source modules from firmware/, the machine emulation on the path).
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

from satmc.ports import unix
from satmc.sim.simulator import micropython_exe

ROOT = Path(__file__).resolve().parents[1]
UNIT_DIR = ROOT / "tests" / "firmware"


def _cases():
    for path in sorted(UNIT_DIR.glob("test_*.py")):
        for name in re.findall(r"^def (test_\w+)\(", path.read_text(), re.M):
            yield pytest.param(path.stem, name, id=f"{path.stem}::{name}")


@cache
def run_module(module: str) -> tuple[dict[str, str], str]:
    env = dict(os.environ)
    env["MICROPYPATH"] = f"{ROOT / 'firmware'}:{UNIT_DIR}:{unix.machine_path()}:.frozen"
    r = subprocess.run(
        [micropython_exe(), str(UNIT_DIR / "runner.py"), module],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    results: dict[str, str] = {}
    current = None
    for line in r.stdout.splitlines():
        m = re.match(r"^(PASS|FAIL|END) (test_\w+)$", line)
        if m and m.group(1) != "END":
            results[m.group(2)] = "" if m.group(1) == "PASS" else "failed"
            current = m.group(2) if m.group(1) == "FAIL" else None
        elif m:
            current = None
        elif current:
            results[current] += "\n" + line
    return results, r.stdout + r.stderr


@pytest.mark.parametrize("module,name", list(_cases()))
def test_on_micropython(module, name):
    results, output = run_module(module)
    assert name in results, f"{module}.{name} did not run on MicroPython:\n{output}"
    assert results[name] == "", f"{module}.{name} failed on MicroPython:{results[name]}"
