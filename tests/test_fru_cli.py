"""fru print lists every FRU device as ipmitool does; fru read -o - writes to stdout;
fru write verifies by default."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from satmc.cli.main import main as satmc
from satmc.fru import image
from satmc.fru.access import FRUAccess
from satmc.transports import connect


@pytest.fixture
def run(sim, tmp_path, monkeypatch, capsysbinary):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def go(*argv: str) -> tuple[int, bytes, str]:
        code = satmc(["-t", sim.url, *argv])
        out = capsysbinary.readouterr()
        return code, out.out, out.err.decode()

    return go


def _blocks(text: str) -> dict[str, list[str]]:
    """Device title -> its non-empty lines, from `fru print` output."""
    out: dict[str, list[str]] = {}
    title = None
    for line in text.splitlines():
        if line.startswith("FRU Device Description"):
            title = line.split(":", 1)[1].strip()
            out[title] = []
        elif line.strip() and title is not None:
            out[title].append(line)
    return out


def test_fru_print_prints_every_fru_device_as_ipmitool_does(sim, run):
    code, out, err = run("fru", "print")
    assert code == 0 and err == ""
    ours = _blocks(out.decode())
    name = sim.board.data["name"]
    assert list(ours) == ["Builtin FRU Device (ID 0)", f"{name} FRU 1 (ID 1)"]
    assert " Board Serial          : SIM000001" in ours["Builtin FRU Device (ID 0)"]
    assert " Board Serial          : MEZ000001" in ours[f"{name} FRU 1 (ID 1)"]
    exe = shutil.which("ipmitool")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("ipmitool is missing; .ci/run installs it")
        return
    r = subprocess.run(
        [exe, "-I", "serial-basic", "-D", f"{sim.serial.pty_path}:115200", "fru", "print"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    theirs = _blocks(r.stdout)
    for title, lines in ours.items():  # ipmitool also lists FRU 0 under the MC's locator
        assert theirs[title] == lines


def test_fru_print_id_prints_one_device(run):
    code, out, _ = run("fru", "print", "--id", "1")  # titled as `ipmitool fru print 1` does
    assert code == 0 and list(_blocks(out.decode())) == ["Builtin FRU Device (ID 1)"]


def test_fru_read_to_stdout(sim, run):
    code, out, err = run("fru", "read", "-o", "-")
    assert code == 0 and err == ""
    with connect(sim.url, address=sim.address) as sat:
        whole = FRUAccess(sat, 0).read()
    assert out == whole[: image.used_length(whole)]
    assert out == image.build(sim.board, 0)[: len(out)]


def test_fru_write_verifies_by_default(run, tmp_path):
    path = tmp_path / "fru0.bin"
    assert run("fru", "read", "-o", str(path))[0] == 0
    img = bytearray(path.read_bytes())
    code, out, _ = run("fru", "write", str(path))
    assert code == 0 and out.decode().rstrip().endswith(", verified")
    code, out, _ = run("fru", "write", str(path), "--no-verify")
    assert code == 0 and "verified" not in out.decode()
    assert path.read_bytes() == bytes(img)
