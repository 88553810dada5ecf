"""Stock ipmitool reads and writes the simulated board's FRU (Serial Basic Mode), and
`satmc fru print` shows what ipmitool shows.
"""

from __future__ import annotations

import subprocess

import pytest

from satmc.cli.main import main as satmc
from satmc.fru import image


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


def test_fru_print_lists_each_fru_device_once_per_path(ipmitool, sim):
    # ipmitool prints the builtin FRU (Get Device ID's FRU bit), FRU 0 again for the MC
    # Device Locator, then one per FRU Device Locator: a locator for FRU 0 listed it a
    # third time. The ID strings are the board's, unpadded (the MC Device Locator's
    # line is padded by ipmitool's own "%-16s").
    titles = [
        line.split(":", 1)[1].strip()
        for line in run(ipmitool, sim, "fru", "print").splitlines()
        if line.startswith("FRU Device Description")
    ]
    name = sim.board.data["name"]
    others = [f"{name} FRU {f['id']} (ID {f['id']})" for f in sim.board.data["fru"]]
    assert titles == ["Builtin FRU Device (ID 0)", name] + [
        t for t in others if not t.endswith("(ID 0)")
    ]
