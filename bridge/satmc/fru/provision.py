"""Where the board file's FRU images go before the firmware starts.

    bundle_files(board, bundle_root)   # file-backed FRUs: fru<id>.bin in the bundle
    program_sim_eeproms(sim)           # simulated EEPROMs: first contents + persistence

A file-backed FRU ships in the bundle as its image padded with 0xFF to the device
size (so deploying a bundle rewrites it). A simulated EEPROM keeps its memory in
`<build dir>/state/<device name>.bin`: the first start programs it from the board
file, later starts (and firmware resets) find what was last written.
"""

from __future__ import annotations

from pathlib import Path

from .board import sources
from .image import build


def bundle_files(board, root: Path) -> list[Path]:
    out = []
    for e in board.config.get("fru") or []:
        if e["device"] != "file":
            continue
        img = build(board, e["id"]) if sources(board)[e["id"]] is not None else b""
        path = Path(root) / e["path"]
        path.write_bytes(img + b"\xff" * (e["size"] - len(img)))
        out.append(path)
    return out


def _bus_of_pins(wiring: dict, pins: tuple) -> str | None:
    for bus, wired in wiring.items():
        if all(p in wired for p in pins):
            return bus
    return None


def program_sim_eeproms(sim) -> dict:
    """Give each board-file FRU EEPROM's simulated part its file; FRU id -> device name."""
    board = sim.board
    pb = board.config.get("private_bus")
    if pb is None:
        return {}
    bus = _bus_of_pins(board.sim.get("wiring") or {}, (pb["scl"], pb["sda"]))
    placed = {}
    for e in board.config.get("fru") or []:
        if e["device"] != "at24" or bus is None:
            continue
        model = sim.server.buses[bus].targets.get(e["addr"])
        name = next((n for n, m in sim.devices.items() if m is model), None)
        if name is None or not hasattr(model, "use_file"):
            continue
        if model.file is None:
            img = build(board, e["id"]) if sources(board)[e["id"]] is not None else None
            model.use_file(Path(sim.build_dir) / "state" / f"{name}.bin", initial=img)
        placed[e["id"]] = name
    return placed
