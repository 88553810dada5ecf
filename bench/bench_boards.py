"""Per board: bundle size in bytes, heap in use after boot on the unix port, and whether
it boots and serves in a 128K heap (DESIGN.md's target; -X heapsize=128K).

Each real board's config runs on the unix port with its pins wired to the virtual bus
(Board.for_simulation); the heap figure is the firmware's own (Get Heap Info, OEM
netFn 0x30 cmd 0x02) once it serves, so it counts what the board config makes the
firmware allocate (buffers, the private bus, tasks). The unix port's own overhead
(the machine emulation) is in it too: compare boards with each other, not with a chip.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench import verdict
from satmc.board import board_names, load_board
from satmc.bundle import build_bundle, bundle_size
from satmc.ipmi.client import read_heap
from satmc.sim.simulator import SimError, Simulator
from satmc.transports import connect

TARGET_HEAP = "128K"
BOOT_TIMEOUT_S = 8  # a boot that runs out of heap stays at the REPL: give up after this


def _boot(sim_board, tmp: Path, name: str, heapsize: str | None) -> dict | None:
    """The firmware's heap figures once it serves, or None when it did not come up."""
    sim = Simulator(
        sim_board,
        socket_path=str(tmp / f"{name}.sock"),
        build_dir=tmp / name / "sim",
        heapsize=heapsize,
    )
    try:
        sim.start(timeout=BOOT_TIMEOUT_S if heapsize else 20.0)
        with connect(sim.url, address=sim.address) as sat:
            return read_heap(sat)
    except SimError:
        return None
    finally:
        sim.stop()


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-") as tmp:
        print(
            f"{'board':10} {'mcu':8} {'bundle bytes':>12} {'files':>5} {'heap after boot':>16}"
            f"  serves in {TARGET_HEAP}"
        )
        for name in board_names():
            board = load_board(name)
            b = build_bundle(board, Path(tmp) / name / "bundle")
            sim_board = board.for_simulation()
            heap = _boot(sim_board, Path(tmp), name, TARGET_HEAP)
            fits = heap is not None
            if heap is None:  # its figure with the default heap, then
                heap = _boot(sim_board, Path(tmp), name, None)
            used = f"{heap['used']:16d}" if heap else f"{'did not boot':>16}"
            print(
                f"{name:10} {board.mcu:8} {bundle_size(b):12d} {len(b.manifest['files']):5d} "
                f"{used}  {verdict(fits)}"
            )
