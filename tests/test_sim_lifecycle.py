"""Simulators side by side: one per socket, each with its own EEPROM state; a killed one
takes its firmware along and leaves nothing that stops the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from satmc.board import BOARDS_DIR, load_board
from satmc.errors import SimAlreadyRunningError
from satmc.fru import image
from satmc.ipmi.codes import CMD_COLD_RESET, CMD_GET_DEVICE_ID, NETFN_APP
from satmc.sim.simulator import Simulator, default_socket
from satmc.transports import connect, wait_until_answering
from satmc.vbus.client import BusControl


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (killed, waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait(cond, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


class SimProcess:
    """`python -m MODULE ARGS` as a user starts it, until its banner (or its exit)."""

    def __init__(self, module: str, *args: str, env: dict | None = None, banner: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.out = []
        for line in self.proc.stdout:
            self.out.append(line)
            if banner in line:
                break

    @property
    def text(self) -> str:
        return "".join(self.out)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


def _fw_pid(socket: str) -> int:
    with BusControl(socket) as c:
        return c.call("firmware")["pid"]


def test_a_second_simulator_on_a_live_socket_is_refused_and_the_first_serves_on(sim):
    second = subprocess.run(
        [sys.executable, "-m", "satmc.sim", "--socket", sim.socket_path, "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"satmc.sim: error: a simulator already runs at {sim.socket_path}; "
        "use --socket to start another"
    ]
    with pytest.raises(SimAlreadyRunningError):
        Simulator("sim", socket_path=sim.socket_path, build_dir=sim.build_dir).start()
    with connect(sim.url, address=sim.address) as sat:
        assert sat.call(NETFN_APP, CMD_GET_DEVICE_ID)[0] == 0x01  # the first one still answers


def test_kill_9_takes_the_firmware_along_and_the_next_start_succeeds(tmp_path):
    socket = str(tmp_path / "k.sock")
    first = SimProcess("satmc.sim", "--socket", socket, "-q", banner="Ctrl-C stops")
    try:
        fw = _fw_pid(socket)
        assert _running(fw)
        first.proc.kill()  # SIGKILL: no cleanup runs
        first.proc.wait(5)
        assert _wait(lambda: not _running(fw), 5), "the firmware outlived its simulator"
        assert os.path.exists(socket)  # stale: nobody listens on it
    finally:
        first.stop()
    again = SimProcess("satmc.sim", "--socket", socket, "-q", banner="Ctrl-C stops")
    try:
        assert "answers at IPMB 0x72" in again.text, again.text
        with connect(f"sim://{socket}", address=0x72) as sat:
            # Cold Reset: the firmware restarted from a control thread outlives that thread
            old = _fw_pid(socket)
            assert sat.raw(NETFN_APP, CMD_COLD_RESET) == (0, b"")
            assert _wait(lambda: _fw_pid(socket) not in (old, None))
            assert wait_until_answering(sat, 10)
            fw = _fw_pid(socket)
            time.sleep(1.0)
            assert _running(fw) and sat.call(NETFN_APP, CMD_GET_DEVICE_ID)[0] == 0x01
    finally:
        again.stop()


def test_make_sim_and_the_pty_board_run_side_by_side_with_their_defaults(tmp_path):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    sim = SimProcess("satmc.sim", "-q", env=env, banner="Ctrl-C stops")
    try:
        pty = SimProcess("satmc.sim.ptyboard", env=env, banner="Ctrl-C stops")
        try:
            sockets = [line.split("sim://")[1].split()[0] for line in (sim.text, pty.text)]
            assert sockets[0] != sockets[1], sim.text + pty.text
            assert all(Path(s).parent.parent == tmp_path for s in sockets)
            for s in sockets:
                with BusControl(s) as c:
                    assert c.call("ping")["buses"]
            assert "EEPROM state:" in sim.text and "EEPROM state:" in pty.text
        finally:
            pty.stop()
        assert pty.proc.returncode == 0
    finally:
        sim.stop()
    assert default_socket("ptyboard") != default_socket()


def _mem(s: Simulator) -> bytes:
    return bytes.fromhex(s.control("device", name="fru0")["state"]["mem"])


def test_eeprom_state_is_kept_per_simulator(tmp_path):
    build = tmp_path / "build"
    a = Simulator("sim", socket_path=str(tmp_path / "a.sock"), build_dir=build).start()
    try:
        b = Simulator("sim", socket_path=str(tmp_path / "b.sock"), build_dir=build).start()
        try:
            assert a.state_dir != b.state_dir
            a.control("device", name="fru0", set={"poke": [0xF0, "a5a5"]})
            assert _mem(a)[0xF0:0xF2] == b"\xa5\xa5" and _mem(b)[0xF0:0xF2] == b"\xff\xff"
            assert (b.state_dir / "fru0.bin").read_bytes()[0xF0] == 0xFF
        finally:
            b.stop()
    finally:
        a.stop()
    with Simulator("sim", socket_path=str(tmp_path / "a.sock"), build_dir=build) as again:
        assert _mem(again)[0xF0:0xF2] == b"\xa5\xa5"  # a's state came back to a
    with Simulator(
        "sim", socket_path=str(tmp_path / "a.sock"), build_dir=build, fresh=True
    ) as fresh:
        assert _mem(fresh)[0xF0:0xF2] == b"\xff\xff"
        assert any("removed the EEPROM state" in n for n in fresh.notes)


def test_a_changed_fru_section_replaces_the_old_state_and_says_so(tmp_path):
    build, socket = tmp_path / "build", str(tmp_path / "s.sock")
    data = yaml.safe_load((BOARDS_DIR / "sim.yaml").read_text())
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(data))
    with Simulator(load_board(path), socket_path=socket, build_dir=build) as s:
        s.control("device", name="fru0", set={"poke": [0xF0, "a5"]})  # a write to keep
        old = _mem(s)
    with Simulator(load_board(path), socket_path=socket, build_dir=build) as s:
        assert _mem(s) == old and s.notes == []  # same board file: the state is kept
    data["fru"][0]["source"]["BoardInfo"]["serial_number"] = "SIM000002"
    path.write_text(yaml.safe_dump(data))
    board = load_board(path)
    with Simulator(board, socket_path=socket, build_dir=build) as s:
        new = image.build(board, 0)
        assert _mem(s)[: len(new)] == new
        assert any("FRU image changed" in n and "fru0.bin.old" in n for n in s.notes), s.notes
        assert (s.state_dir / "fru0.bin.old").read_bytes() == old
