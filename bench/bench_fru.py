"""FRU: read and write a 256-byte image over the simulated 100 kHz bus, wire-time paced.

Prints, for a read and for a write of the whole AT24C02 FRU (id 0): seconds, IPMB and
private-bus transactions, and the IPMB wire time as a ratio of the elapsed time (1.0
would be a bus never idle). A write also waits out the EEPROM's write cycles (5 ms per
8-byte page), which no bus speed removes; its private-bus figures show them as
address NACKs (acknowledge polling). The read is held to the paced target of
DESIGN.md (>= 0.8 of the wire limit); the write has no target (its EEPROM write cycles).
Then heap bytes the firmware allocated per Read FRU Data (target 0).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench import verdict
from satmc.fru import image
from satmc.fru.access import FRUAccess
from satmc.ipmi.client import read_heap
from satmc.sim.simulator import Simulator
from satmc.transports import connect

SIZE = 256
READ_TARGET = 0.8


def _measure(sim, what):
    for bus in ("ipmb", "board"):
        sim.control("reset_stats", bus=bus)
    t0 = time.perf_counter()
    result = what()
    elapsed = time.perf_counter() - t0
    ipmb = sim.control("stats", bus="ipmb")
    board = sim.control("stats", bus="board")
    return result, elapsed, ipmb, board


def _line(name, elapsed, ipmb, board, target):
    ratio = ipmb["wire_time"] / elapsed if elapsed else 0.0
    met = f"target >= {target}: {verdict(ratio >= target)}" if target else "no target"
    print(
        f"{name:<6} {elapsed:7.3f} s  IPMB {ipmb['transactions']:4d} transactions "
        f"({ipmb['wire_time'] * 1000:6.1f} ms wire, {ratio:4.2f} of the wire limit; {met})  "
        f"private bus {board['transactions']:4d} transactions "
        f"({board['address_nacks']} polls NACKed)",
        flush=True,
    )


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-fru-") as d:
        sim = Simulator(
            "sim", socket_path=str(Path(d) / "sim.sock"), build_dir=Path(d) / "build", pacing=True
        )
        with sim:
            sim.control("pacing", on=True)
            with connect(sim.url, address=sim.address) as sat:
                dev = FRUAccess(sat, 0)
                if dev.size != SIZE:
                    raise RuntimeError(f"FRU 0 is {dev.size} bytes, the benchmark wants {SIZE}")
                before = read_heap(sat)
                original, elapsed, ipmb, board = _measure(sim, dev.read)
                after = read_heap(sat)
                _line("read", elapsed, ipmb, board, READ_TARGET)
                pattern = bytes((i * 7 + 3) & 0xFF for i in range(SIZE))
                _, elapsed, ipmb, board = _measure(sim, lambda: dev.write(0, pattern))
                _line("write", elapsed, ipmb, board, None)
                if dev.read() != pattern:
                    raise RuntimeError("the benchmark write did not land intact")
                dev.write_image(original[: image.used_length(original)])
            # frames: the reads + Get Heap Info itself (whose own cost is 0 when all is well)
            frames = after["hot_frames"] - before["hot_frames"]
            per = (after["hot_alloc"] - before["hot_alloc"]) / max(1, frames)
            print(
                f"heap per Read FRU Data  {per:.2f} bytes over {frames} requests "
                f"(target 0: {verdict(per == 0)})"
            )
