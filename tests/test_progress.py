"""Progress bars: drawn on a terminal, absent from pipes (scan, SDR download, FRU access).

The commands run as a user runs them, once with stdout and stderr on a pseudo-terminal
(the bar must show: its description and tqdm's counter) and once into pipes (no bar
at all: the output is the same lines a script parses).
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

SATMC = [sys.executable, "-m", "satmc.cli.main"]


def on_terminal(*args, cache) -> tuple[int, str]:
    """Run satmc with stdout and stderr on a pty; (exit status, all it wrote)."""
    master, slave = pty.openpty()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "COLUMNS": "100"}
    proc = subprocess.Popen(SATMC + list(args), stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=60), out.decode(errors="replace")


def in_pipes(*args, cache) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run(SATMC + list(args), capture_output=True, text=True, timeout=60, env=env)


SCAN = ("scan", "--broadcast", "--first", "0x70", "--last", "0x76")


def test_scan_broadcast_shows_progress_on_a_terminal_only(sim, tmp_path):
    code, out = on_terminal("-t", sim.url, *SCAN, cache=tmp_path)
    assert code == 0
    assert "Broadcast Get Device ID" in out and "4/4" in out  # 0x70 0x72 0x74 0x76
    assert "0x72: device 0x01" in out and "1 controller answered" in out
    r = in_pipes("-t", sim.url, *SCAN, cache=tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.splitlines()[-1] == "1 controller answered"
    assert "Broadcast Get Device ID" not in r.stdout and "\r" not in r.stdout


@pytest.mark.parametrize(
    "args,what",
    [
        (("--flush-cache", "sdr", "info"), "reading SDRs"),
        (("--flush-cache", "sensors"), "reading SDRs"),  # every command that reads them
        (("fru", "print", "--id", "0"), "reading FRU 0"),
    ],
)
def test_sdr_download_and_fru_reads_show_progress_on_a_terminal_only(sim, tmp_path, args, what):
    code, out = on_terminal("-t", sim.url, *args, cache=tmp_path)
    assert code == 0 and what in out
    r = in_pipes("-t", sim.url, *args, cache=tmp_path)
    assert r.returncode == 0 and r.stderr == "" and what not in r.stdout


def test_fru_write_shows_progress_on_a_terminal_only(sim, tmp_path):
    img = tmp_path / "fru0.bin"
    assert in_pipes("-t", sim.url, "fru", "read", "-o", str(img), cache=tmp_path).returncode == 0
    code, out = on_terminal("-t", sim.url, "fru", "write", str(img), cache=tmp_path)
    assert code == 0 and "writing FRU 0" in out and ", verified" in out
    r = in_pipes("-t", sim.url, "fru", "write", str(img), cache=tmp_path)
    assert r.returncode == 0 and r.stderr == "" and "writing FRU 0" not in r.stdout


def test_flash_shows_its_copy_progress_on_a_terminal_only(tmp_path):
    from satmc.sim.ptyboard import PtyBoard

    board = PtyBoard(
        "sim",
        flash_dir=tmp_path / "fs",
        socket_path=str(tmp_path / "bus.sock"),
        build_dir=tmp_path / "build",
    )
    board.start()
    try:
        flash = ("flash", "--board", "sim", "--port", board.port)
        code, out = on_terminal(*flash, cache=tmp_path)
        assert code == 0, out
        assert "copying sim's bundle" in out and "copied main.py" in out
        (tmp_path / "fs" / "main.py").write_text("# changed\n")  # one file to copy again
        r = in_pipes(*flash, cache=tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stderr == "" and "copied main.py" in r.stdout and "copying" not in r.stdout
    finally:
        board.stop()
