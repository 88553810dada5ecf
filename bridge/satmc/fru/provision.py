"""Where the board file's FRU images go before the firmware starts.

    bundle_files(board, bundle_root)   # file-backed FRUs: fru<id>.bin in the bundle
    program_sim_eeproms(sim)           # simulated EEPROMs: first contents + persistence

A file-backed FRU ships in the bundle as its image padded with 0xFF to the device
size (so deploying a bundle rewrites it). A simulated EEPROM keeps its memory in the
simulator's state directory (`sim.state_dir`, one per bus socket), as
`<device name>.bin`, beside `<device name>.json` recording the SHA-256 of the board
file's image it was programmed from. The first start programs it from the board file;
later starts (and firmware resets) find what was last written, unless the board
file's FRU section changed since: then the EEPROM is programmed from the new image,
the old memory is kept as `<device name>.bin.old`, and the simulator says so.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..board.fru import sources
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
            note = _use_state(model, Path(sim.state_dir), name, img)
            if note:
                sim.notes.append(note)
        placed[e["id"]] = name
    return placed


def _use_state(model, state_dir: Path, name: str, img: bytes | None) -> str | None:
    """Give `model` its state file; a note when the board file's image replaced it."""
    path, meta = state_dir / f"{name}.bin", state_dir / f"{name}.json"
    digest = hashlib.sha256(img or b"").hexdigest()
    note = None
    if path.exists():
        try:
            was = json.loads(meta.read_text())["board_image_sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            was = None
        if was != digest:
            os.replace(path, path.with_suffix(".bin.old"))
            note = (
                f"{name}: the board file's FRU image changed since {path} was written; "
                f"programmed the new image (the old contents are in {path.name}.old)"
            )
    model.use_file(path, initial=img)
    meta.write_text(json.dumps({"board_image_sha256": digest}) + "\n")
    return note
