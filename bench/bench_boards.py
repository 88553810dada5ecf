"""Per board: bundle size in bytes, and heap in use after boot on the unix port.

Each real board's config runs on the unix port with its pins wired to the virtual bus
(Board.for_simulation); the heap figure is the firmware's own (Get Heap Info, OEM
netFn 0x30 cmd 0x02) once it serves, so it counts what the board config makes the
firmware allocate (buffers, the private bus, tasks). The unix port's own overhead
(the machine emulation) is in it too: compare boards with each other, not with a chip.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from satmc.boards import board_names, load_board
from satmc.bundle import build_bundle, bundle_size
from satmc.heap import read_heap
from satmc.sim.simulator import Simulator
from satmc.transports import connect


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-") as tmp:
        print(f"{'board':10} {'mcu':8} {'bundle bytes':>12} {'files':>5} {'heap after boot':>16}")
        for name in board_names():
            board = load_board(name)
            b = build_bundle(board, Path(tmp) / name / "bundle")
            sim_board = board.for_simulation()
            with Simulator(
                sim_board,
                socket_path=str(Path(tmp) / f"{name}.sock"),
                build_dir=Path(tmp) / name / "sim",
            ) as sim:
                with connect(sim.url, address=sim.address) as sat:
                    heap = read_heap(sat)
            print(
                f"{name:10} {board.mcu:8} {bundle_size(b):12d} {len(b.manifest['files']):5d} "
                f"{heap['used']:16d}"
            )
