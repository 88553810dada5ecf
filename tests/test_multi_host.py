"""Several host processes on one simulated IPMB, all at the BMC's address (0x20).

Each sees every frame written there, as listeners on one real bus would, and takes the
responses to its own requests; each event is answered exactly once.
"""

from __future__ import annotations

import itertools
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from satmc.ipmi.client import events_open, read_counters
from satmc.ipmi.codes import CMD_GET_DEVICE_ID, NETFN_APP
from satmc.sim.stimulus import set_values
from satmc.transports import connect

SATMC = str(Path(sys.executable).parent / "satmc")
ONE_SHOT = (["sensors"], ["info"], ["raw", "app", "0x01"], ["stats"], ["events"])


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))


class Follower:
    """A real `satmc events --follow` process; its event lines arrive on a queue."""

    def __init__(self, url: str, env: dict, log: Path):
        self.proc = subprocess.Popen(
            [SATMC, "-t", url, "events", "--follow", "--log", str(log)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.events: list[str] = []
        first = self.proc.stdout.readline()
        assert first.startswith("receiving events"), first
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_event(self, text: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.events.append(line)
            if text in line:
                return True
        return False

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def _counters(sim) -> dict:
    with connect(sim.url, address=sim.address) as sat:
        return read_counters(sat)


def _settled(sim, timeout: float = 10.0) -> dict:
    """The counters once no event is queued or in flight any more."""
    deadline = time.monotonic() + timeout
    while True:
        c = _counters(sim)
        if events_open(c) == 0:
            return c
        assert time.monotonic() < deadline, c
        time.sleep(0.05)


def _crossings(sim, followers, count: int, one_shots_running) -> list[bool]:
    """`count` threshold crossings of Board Temp (UNC 60 C), each awaited in every follower."""
    seen = []
    for i in range(count):
        up = i % 2 == 0
        set_values(sim.url, "temp0", temperature=62 if up else 25)
        what = "UNC going high " + ("asserted" if up else "deasserted")
        seen.append(all(f.wait_event(what) for f in followers))
        assert one_shots_running() or i > count // 2  # the commands really interleave
    return seen


def _run_one_shots(url: str, env: dict, n: int, codes: list) -> None:
    for argv in itertools.islice(itertools.cycle(ONE_SHOT), n):
        r = subprocess.run([SATMC, "-t", url, *argv], env=env, capture_output=True, text=True)
        codes.append((argv, r.returncode, r.stdout + r.stderr))


def _followed(sim, env, tmp_path, n_followers: int) -> None:
    # Board Temp starts at 25 C (ok); the sim board's UNC is 60 C
    set_values(sim.url, "temp0", temperature=25)
    before = _counters(sim)
    followers = [
        Follower(sim.url, env, tmp_path / f"events{i}.sqlite") for i in range(n_followers)
    ]
    codes: list = []
    try:
        mid = _settled(sim)  # events from before the followers started are answered first
        shots = threading.Thread(target=_run_one_shots, args=(sim.url, env, 50, codes))
        shots.start()
        seen = _crossings(sim, followers, 20, shots.is_alive)
        shots.join(120)
        after = _settled(sim)
    finally:
        for f in followers:
            f.stop()
    assert [c for c in codes if c[1] != 0] == []  # every one-shot command answered
    assert len(codes) == 50
    assert all(seen), seen
    for f in followers:
        crossings = [e for e in f.events if "Board Temp: UNC going high" in e]
        assert len(crossings) == 20, f.events
    assert after["events_dropped"] == before["events_dropped"]
    # every event was answered, and exactly one Platform Event response reached the
    # satellite per event (a second one would count as not_for_us)
    queued = after["events_queued"] - mid["events_queued"]
    assert queued >= 20 and after["events_acked"] - mid["events_acked"] == queued
    assert after["not_for_us"] == mid["not_for_us"]


@pytest.mark.timeout(400)  # 50 satmc processes: slow on a loaded machine
def test_one_follower_sees_every_event_while_one_shot_commands_come_and_go(sim, env, tmp_path):
    _followed(sim, env, tmp_path, 1)


@pytest.mark.timeout(400)  # 50 satmc processes: slow on a loaded machine
def test_two_followers_both_see_every_event_and_it_is_answered_once(sim, env, tmp_path):
    _followed(sim, env, tmp_path, 2)


def test_host_processes_draw_distinct_sequence_numbers(sim):
    with connect(sim.url, address=sim.address) as a, connect(sim.url, address=sim.address) as b:
        seqs = []
        for _ in range(10):
            a.call(NETFN_APP, CMD_GET_DEVICE_ID)
            seqs.append(a.interface.next_sequence_number)
            b.call(NETFN_APP, CMD_GET_DEVICE_ID)
            seqs.append(b.interface.next_sequence_number)
        assert len(set(seqs)) == len(seqs)


def test_a_follower_whose_bus_goes_away_says_so_and_ends(tmp_path, env):
    from satmc.sim.simulator import Simulator

    s = Simulator("sim", socket_path=str(tmp_path / "gone.sock"), build_dir=tmp_path / "b")
    s.start()
    try:
        f = Follower(s.url, env, tmp_path / "events.sqlite")
    finally:
        s.stop()
    try:
        assert f.proc.wait(10) == 1
        f.pump.join(5)  # every line read
    finally:
        if f.proc.poll() is None:
            f.stop()
    lines = []
    while not f.lines.empty():
        lines.append(f.lines.get())
    assert [line for line in lines if line.startswith("satmc: error:")] == [
        lines[-1]
    ] and "closed the connection" in lines[-1], lines
