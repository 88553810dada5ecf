"""The HIL suite passes unchanged through every host path to the simulated board:
as a master-only host (readback) and through unmodified pyftdi on the FT232H twin
(`make test` runs the default `sim` target directly, from hil/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("target", ["sim+readback", "sim+ftdi"])
def test_hil_suite_passes_on(target, tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "hil",
            "-q",
            "-p",
            "no:cacheprovider",
            "--target",
            target,
            "--hil-results",
            str(tmp_path),
            "--junitxml",
            str(tmp_path / "junit.xml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    summary = r.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary
    assert (tmp_path / "junit.xml").exists()
