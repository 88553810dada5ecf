"""IPMB throughput over the virtual bus, its ratio to the 100 kHz wire limit, and heap.

Figures (one run, same machine):
  - requests/s for Get Device ID, raw frames and through python-ipmi, both delivery modes;
  - with wire-time pacing on: requests/s against the wire-limited rate (wire time per
    request taken from the bus's own accounting), as a ratio (target >= 0.8);
  - heap bytes allocated per request inside the firmware (gc.mem_alloc deltas around
    the request path, reported by the firmware; target 0), heap in use after boot.
"""

from __future__ import annotations

import queue
import tempfile
import time
from pathlib import Path

from bench import verdict
from satmc.ipmi.client import get_device_id, read_heap
from satmc.sim.simulator import Simulator
from satmc.transports import connect
from satmc.vbus.client import BusController, BusTarget

GET_DEVICE_ID = bytes.fromhex("1876200401db")  # to 0x72 from 0x20, seq 1, without rsSA
N = 400
PACED_TARGET = 0.8


def raw_rate(sim: Simulator, n: int) -> tuple[float, float]:
    """(requests/s, wire seconds per request) writing frames and awaiting answers directly."""
    got: queue.Queue = queue.Queue()
    host = BusTarget(sim.socket_path, "ipmb", [0x10], lambda a, d: got.put(d))
    ctl = BusController(sim.socket_path, "ipmb", name="bench")
    try:
        ctl.write(0x39, GET_DEVICE_ID)
        got.get(timeout=2)
        sim.control("reset_stats", bus="ipmb")
        t0 = time.perf_counter()
        for _ in range(n):
            ctl.write(0x39, GET_DEVICE_ID)
            got.get(timeout=2)
        dt = time.perf_counter() - t0
    finally:
        host.close()
        ctl.close()
    wire = sim.control("stats", bus="ipmb")["wire_time"] / n
    return n / dt, wire


def ipmi_rate(sim: Simulator, n: int, readback: bool) -> tuple[float, float]:
    with connect(sim.url, address=sim.address, readback=readback) as sat:
        get_device_id(sat)
        sim.control("reset_stats", bus="ipmb")
        t0 = time.perf_counter()
        for _ in range(n):
            get_device_id(sat)
        dt = time.perf_counter() - t0
    return n / dt, sim.control("stats", bus="ipmb")["wire_time"] / n


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-") as tmp:
        sim = Simulator(
            "sim", socket_path=str(Path(tmp) / "s.sock"), build_dir=Path(tmp) / "build"
        ).start()
        try:
            with connect(sim.url, address=sim.address) as sat:
                boot = read_heap(sat)
            rate, wire = raw_rate(sim, N)
            print(
                f"Get Device ID, raw frames, master-write answers : {rate:7.0f} req/s "
                f"(wire {wire * 1e3:.2f} ms/req)"
            )
            for readback in (False, True):
                r, w = ipmi_rate(sim, N // 2, readback)
                mode = "readback    " if readback else "master write"
                print(
                    f"Get Device ID via python-ipmi, {mode}      : {r:7.0f} req/s "
                    f"(wire {w * 1e3:.2f} ms/req)"
                )
            sim.control("pacing", on=True)
            rate, wire = raw_rate(sim, N // 2)
            limit = 1 / wire
            ratio = rate / limit
            print(
                f"paced at 100 kHz, raw frames                    : {rate:7.0f} req/s of a "
                f"wire limit {limit:.0f} req/s -> ratio {ratio:.2f} "
                f"(target >= {PACED_TARGET}: {verdict(ratio >= PACED_TARGET)})"
            )
            r, w = ipmi_rate(sim, N // 4, readback=True)
            print(
                f"paced at 100 kHz, python-ipmi readback          : {r:7.0f} req/s of a "
                f"wire limit {1 / w:.0f} req/s -> ratio {r * w:.2f} (no target: polls)"
            )
            sim.control("pacing", on=False)
            with connect(sim.url, address=sim.address) as sat:
                end = read_heap(sat)
            frames = end["hot_frames"] - boot["hot_frames"]
            per = (end["hot_alloc"] - boot["hot_alloc"]) / max(1, frames)
            print(
                f"heap allocated per request in the firmware      : {per:.2f} bytes "
                f"over {frames} requests (target 0: {verdict(per == 0)})"
            )
            print(
                f"heap in use after boot (unix port, sim board)   : {boot['used']} bytes, "
                f"{boot['free']} free (target: boots in 128K, see boards)"
            )
        finally:
            sim.stop()
