"""Stock ipmitool against satmc over the same serial link (Serial Basic Mode).

Wall time of `ipmitool -I serial-basic -D PTY sdr list` and of `satmc -t serial://PTY
sensors` (cold: no SDR cache; warm: cached SDRs) against the simulated board, each the
median of several runs of the command as a user types it, and the requests each one
sends (the satellite's serial frame counter). Both commands pay their own start-up; the
Python interpreter's and satmc's start-up alone is printed last, for scale. Targets
(DESIGN.md): satmc's cold listing takes at most half of ipmitool's requests, its warm
listing N + 1 (SDR info, then one reading per sensor).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import verdict
from satmc.ipmi.client import read_counters
from satmc.sim.simulator import Simulator
from satmc.transports import connect

RUNS = 5
COLD_TARGET = 0.5  # of ipmitool's requests


def timed(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()[-300:]}")
    return time.perf_counter() - t


def frames(sim: Simulator) -> int:
    with connect(sim.url, address=sim.address) as sat:
        return read_counters(sat)["serial_frames"]


def run() -> None:
    ipmitool = shutil.which("ipmitool")
    if ipmitool is None:
        print("ipmitool not installed (apt-get install ipmitool): no comparison")
        return
    with tempfile.TemporaryDirectory(prefix="satmc-bench-") as tmp:
        sim = Simulator("sim", socket_path=f"{tmp}/s.sock", build_dir=Path(tmp) / "build")
        sim.start()
        try:
            time.sleep(1.2)  # every sensor scanned once
            pty = sim.serial.pty_path
            stock = [ipmitool, "-I", "serial-basic", "-D", f"{pty}:115200", "sdr", "list"]
            ours = [sys.executable, "-m", "satmc.cli.main", "-t", f"serial://{pty}", "sensors"]
            env = dict(os.environ, XDG_CACHE_HOME=f"{tmp}/cache")
            rows = []
            for name, cmd, cold in (
                ("ipmitool sdr list", stock, False),
                ("satmc sensors, cold", ours, True),
                ("satmc sensors, warm", ours, False),
            ):
                times, requests = [], []
                for _ in range(RUNS):
                    if cold:
                        shutil.rmtree(f"{tmp}/cache", ignore_errors=True)
                    before = frames(sim)
                    times.append(timed(cmd, env))
                    requests.append(frames(sim) - before)
                rows.append((name, statistics.median(times), statistics.median(requests)))
            startup = statistics.median(
                timed([sys.executable, "-c", "import satmc.cli.main, satmc.sensors"], env)
                for _ in range(RUNS)
            )
            rows.append(("(satmc start-up alone)", startup, 0))
            base, stock_requests = rows[0][1], rows[0][2]
            n_sensors = len(sim.board.config["sensors"])
            targets = {
                "satmc sensors, cold": (
                    f"target <= {COLD_TARGET}x ipmitool's requests",
                    rows[1][2] <= COLD_TARGET * stock_requests,
                ),
                "satmc sensors, warm": (
                    f"target N + 1 = {n_sensors + 1}",
                    rows[2][2] <= n_sensors + 1,
                ),
            }
            for name, t, n in rows:
                line = (
                    f"{name:<22} {t * 1000:7.1f} ms  {n:4.0f} requests  {t / base:5.2f}x ipmitool"
                )
                if name in targets:
                    what, met = targets[name]
                    line += f"  ({what}: {verdict(met)})"
                print(line)
        finally:
            sim.stop()
