"""Listing sensors: bus transactions cold and warm, and heap per Get Sensor Reading.

Figures (one run on the simulated board, slave-capable host):
  - bus transactions on the virtual IPMB to list every sensor with its reading: cold
    (no SDR cache: Get Device SDR Info, reservation, 22-byte SDR chunks, readings), warm
    (cache keyed by the SDR change indicator: SDR info + one reading per sensor, target
    N + 1 exchanges), and python-ipmi's own device SDR walk (5-byte header first) as a
    reference for the cold case;
  - heap bytes the firmware allocated per Get Sensor Reading (its hot-path counter,
    OEM Get Heap Info; target 0).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench import verdict
from satmc.ipmi.client import get_sensor_reading, read_heap
from satmc.sensors import SensorClient
from satmc.sim.simulator import Simulator
from satmc.transports import connect

N_READINGS = 200
COLD_TARGET = 0.5  # of the reference walk's transactions


def transactions(sim: Simulator, action) -> tuple[int, int]:
    """(bus transactions, requests the host made) during action()."""
    sim.control("reset_stats", bus="ipmb")
    n_requests = action()
    return sim.control("stats", bus="ipmb")["transactions"], n_requests


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-") as tmp:
        sim = Simulator(
            "sim", socket_path=str(Path(tmp) / "sim.sock"), build_dir=Path(tmp) / "build"
        )
        with sim, connect(sim.url, address=sim.address) as sat:
            time.sleep(1.2)  # every sensor scanned once
            cache = Path(tmp) / "cache"
            n = len(SensorClient(sat, cache_dir=Path(tmp) / "warmup").read_all())

            def cold():
                SensorClient(sat, cache_dir=cache).read_all()
                return n

            def warm():
                SensorClient(sat, cache_dir=cache).read_all()  # a new process: disk cache
                return n

            def pyipmi_walk():
                records = sat.ipmi.get_device_sdr_list()
                for r in records:
                    if hasattr(r, "convert_sensor_raw_to_value"):
                        sat.ipmi.get_sensor_reading(r.number)
                return n

            t_cold, _ = transactions(sim, cold)
            t_warm, _ = transactions(sim, warm)
            t_ref, _ = transactions(sim, pyipmi_walk)
            print(f"sensors listed                 : {n}")
            ratio = t_cold / t_ref
            print(
                f"cold listing, transactions     : {t_cold}  (python-ipmi's SDR walk: "
                f"{t_ref}, ratio {ratio:.2f}; target <= {COLD_TARGET}: "
                f"{verdict(ratio <= COLD_TARGET)})"
            )
            print(
                f"warm listing, transactions     : {t_warm}  (target 2 x (N + 1) = "
                f"{2 * (n + 1)}, request + response per exchange: "
                f"{verdict(t_warm <= 2 * (n + 1))})"
            )

            before = read_heap(sat)
            again = read_heap(sat)  # what one Get Heap Info costs, to take it out below
            per_info = again["hot_alloc"] - before["hot_alloc"]
            for _ in range(N_READINGS):
                get_sensor_reading(sat, 1)
            after = read_heap(sat)
            grew = after["hot_alloc"] - again["hot_alloc"] - per_info
            print(
                f"heap per Get Sensor Reading    : {grew / N_READINGS:.1f} bytes "
                f"over {N_READINGS} requests (target 0: {verdict(grew == 0)})"
            )
