"""The HIL suite can fail: against each deliberately broken firmware, the test that
checks the broken behaviour fails (and leaves a bus trace tshark decodes as IPMB),
while the rest of the conformance suite passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from satmc.hil.mutants import MUTANTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_the_suite_catches_the_mutant(name, tmp_path):
    results = tmp_path / "results"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "hil/test_conformance.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "--firmware-mutant",
            name,
            "--hil-results",
            str(results),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    failed = [line.split(" ")[1] for line in r.stdout.splitlines() if line.startswith("FAILED")]
    assert failed == [f"hil/{t}" for t in MUTANTS[name].caught_by], r.stdout[-3000:]
    pcaps = list(results.glob("*.pcap"))
    assert len(pcaps) == len(failed) and all(p.stat().st_size > 24 for p in pcaps)
    tshark = shutil.which("tshark")
    if tshark is None:
        if os.environ.get("CI"):
            pytest.fail("tshark is missing; .ci/run installs it")
        return
    out = subprocess.run(
        [
            tshark,
            "-r",
            str(pcaps[0]),
            "-d",
            "i2c.message,ipmi",
            "-o",
            "ipmi.dissect_bus_commands:TRUE",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "IPMI" in out or "IPMB" in out, out[:2000]


def test_unknown_mutant_is_a_clear_error(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "hil/test_conformance.py",
            "-q",
            "-p",
            "no:cacheprovider",
            "--firmware-mutant",
            "nonesuch",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0 and "no firmware mutant 'nonesuch'" in r.stdout + r.stderr
