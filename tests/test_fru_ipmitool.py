"""Stock ipmitool reads and writes the simulated board's FRU (Serial Basic Mode), and
`satmc fru print` shows what ipmitool shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from satmc.cli.main import main as satmc
from satmc.fru import image


@pytest.fixture(scope="module")
def ipmitool():
    exe = shutil.which("ipmitool")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("ipmitool is missing; .ci/run installs it")
        pytest.skip("ipmitool not installed (apt-get install ipmitool)")
    return exe


def run(ipmitool, sim, *args):
    r = subprocess.run(
        [ipmitool, "-I", "serial-basic", "-D", f"{sim.serial.pty_path}:115200", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def mem(sim) -> bytes:
    return bytes.fromhex(sim.control("device", name="fru0")["state"]["mem"])


@pytest.mark.parametrize("fru_id", [0, 1])
def test_satmc_prints_what_ipmitool_prints(ipmitool, sim, fru_id, capsys):
    theirs = [x for x in run(ipmitool, sim, "fru", "print", str(fru_id)).splitlines() if x]
    capsys.readouterr()
    assert satmc(["-t", sim.url, "--readback", "fru", "print", "--id", str(fru_id)]) == 0
    ours = capsys.readouterr().out.splitlines()
    assert ours[0] == f"FRU Device Description : Builtin FRU Device (ID {fru_id})"
    assert ours[1:] == theirs


def test_ipmitool_reads_the_eeprom(ipmitool, sim, tmp_path):
    got = tmp_path / "read.bin"
    assert "Fru Size         : 256 bytes" in run(ipmitool, sim, "fru", "read", "0", str(got))
    assert got.read_bytes() == mem(sim)
    assert got.read_bytes()[: len(image.build(sim.board, 0))] == image.build(sim.board, 0)


def test_ipmitool_writes_the_eeprom_in_30_byte_chunks(ipmitool, sim, tmp_path):
    original = mem(sim)
    new = bytearray(image.build(sim.board, 0))
    new += bytes(256 - len(new))
    new[200:210] = b"satmc-test"  # beyond the areas: changes no field, checks every byte
    src = tmp_path / "new.bin"
    src.write_bytes(bytes(new))
    try:
        out = run(ipmitool, sim, "fru", "write", "0", str(src))
        assert "Fru Size" in out
        assert mem(sim) == bytes(new)
    finally:
        src.write_bytes(original)
        run(ipmitool, sim, "fru", "write", "0", str(src))
    assert mem(sim) == original
