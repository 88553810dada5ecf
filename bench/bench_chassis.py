"""A full chassis: 16 simulated satellites (chassis/full16.yaml) on one IPMB, at 100 kHz
and at 400 kHz (ChassisSimulator's freq_hz, a fast-mode backplane).

Figures, each run on a fresh chassis:
  - `satmc scan` of 0x70..0x8e: satellites that answered (target: all 16);
  - every sensor of every satellite listed cold (no SDR cache) and warm (cache), with
    the bus's busy time as a ratio of the elapsed time: the share of the wire limit the
    host reached (no target: a single host waits for each answer);
  - an event storm: Board Temp of every satellite crosses its UNC threshold at once;
    events reaching the receiver (targets: one from every satellite, and every event
    the satellites queued), events dropped (target 0), the time until the last arrived,
    and the wire's busy ratio meanwhile.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import verdict
from satmc.eventlog import EventReceiver
from satmc.ipmi.client import events_open, read_counters
from satmc.sensors import SensorClient
from satmc.sim.chassis import ChassisSimulator
from satmc.sim.stimulus import set_values
from satmc.transports import connect

SATMC = str(Path(sys.executable).parent / "satmc")


def _busy(chassis, action) -> tuple[float, float]:
    """(seconds action took, wire busy time / elapsed) on the chassis IPMB."""
    chassis.control("reset_stats", bus="ipmb")
    t0 = time.monotonic()
    action()
    dt = time.monotonic() - t0
    return dt, chassis.control("stats", bus="ipmb")["wire_time"] / dt


def run_one(freq: int, tmp: Path) -> None:
    khz = freq // 1000
    chassis = ChassisSimulator(
        "full16",
        socket_path=str(tmp / f"full16-{khz}.sock"),
        build_dir=tmp / f"build-{khz}",
        freq_hz=freq,
    )
    chassis.start(timeout=300)
    try:
        addrs = chassis.addresses
        r = subprocess.run(
            [SATMC, "-t", chassis.url, "scan", "--first", "0x70", "--last", "0x8e"],
            capture_output=True,
            text=True,
        )
        found = sum(f"0x{a:02x}: device" in r.stdout for a in addrs)
        print(
            f"{khz} kHz scan: {found}/{len(addrs)} satellites answered  "
            f"{verdict(found == len(addrs))}"
        )
        for label, cache in (("cold", None), ("warm", tmp / f"cache-{khz}")):
            n = [0]

            def listing(cache=cache, n=n):
                for a in addrs:
                    with connect(chassis.url, address=a) as sat:
                        d = cache or Path(tempfile.mkdtemp(dir=tmp))
                        n[0] += len(SensorClient(sat, cache_dir=d).read_all())

            if label == "warm":
                listing()  # fill the cache
                n[0] = 0
            dt, ratio = _busy(chassis, listing)
            print(
                f"{khz} kHz sensors {label}: {n[0]} readings from {len(addrs)} satellites "
                f"in {dt:.1f} s, wire busy {ratio:.2f} of the wire limit (no target)"
            )
        with connect(chassis.url, address=addrs[0]) as bmc:
            rx = EventReceiver(bmc).start()
            before = {}
            for a in addrs:
                with connect(chassis.url, address=a) as sat:
                    before[a] = read_counters(sat)
            got: set[int] = set()

            def storm():
                for a in addrs:
                    set_values(chassis.url, "temp0", address=a, temperature=62)
                deadline = time.monotonic() + 120
                while len(got) < len(addrs) and time.monotonic() < deadline:
                    got.update(ev.generator for ev in rx.wait_for(len(got) + 1, 0.5))

            dt, ratio = _busy(chassis, storm)
            dropped = queued = 0
            for a in addrs:  # every event settled: acknowledged or counted dropped
                with connect(chassis.url, address=a) as sat:
                    deadline = time.monotonic() + 60
                    while events_open(c := read_counters(sat)) and time.monotonic() < deadline:
                        time.sleep(0.1)
                    dropped += c["events_dropped"] - before[a]["events_dropped"]
                    queued += c["events_queued"] - before[a]["events_queued"]
            received = len(rx.received)
            rx.stop()
            for a in addrs:
                set_values(chassis.url, "temp0", address=a, temperature=25)
        print(
            f"{khz} kHz event storm: events from {len(got)}/{len(addrs)} satellites "
            f"{verdict(len(got) == len(addrs))}, {received} received of {queued} queued "
            f"{verdict(received == queued)}, dropped {dropped} {verdict(dropped == 0)}, "
            f"last after {dt:.1f} s, wire busy {ratio:.2f} of the wire limit"
        )
    finally:
        chassis.stop()


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-chassis-") as tmp:
        for freq in (100_000, 400_000):
            run_one(freq, Path(tmp))
