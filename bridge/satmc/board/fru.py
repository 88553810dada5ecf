"""The board file's FRU section.

    fru:
      - id: 0
        device: at24c02             # an AT24 part (parts.AT24_PARTS), or `file`
        addr: 0x50                  # 7-bit I2C address on the private bus
        wp_pin: 6                   # optional: the MCU drives the part's WP pin
        source: fru/sim-board.yaml  # frugy YAML (path relative to the board file) or inline
      - id: 1
        device: file                # no EEPROM: a file on the flash filesystem
        size: 256
        source: {BoardInfo: {...}}

Optional per EEPROM: `size`, `page` (bytes) override the part's; `addrsize` (8 or 16).
The firmware gets, per device: id, device ("at24" or "file"), size, and addr, page,
addrsize, wp_pin (None without one) or path. The contents (`source`) stay on the host:
they become images with frugy (`satmc fru build`), the bundle's file for file-backed
FRUs and the simulated EEPROM's first contents. An EEPROM sits on the private bus,
which the loader (board.load) then requires.
"""

from __future__ import annotations

from ..errors import BoardFileError
from .fields import integer
from .parts import AT24_PARTS, at24_addrsize

FILE_SIZE = 256  # default size of a file-backed FRU


def _entry(e: dict, where: str, seen: set) -> dict:
    if not isinstance(e, dict):
        raise BoardFileError(f"{where}: expected a mapping (id, device, source)")
    fru_id = integer(e, "id", where, 0, 0xFE)
    if fru_id in seen:
        raise BoardFileError(f"{where}.id: FRU device id {fru_id} is declared twice")
    seen.add(fru_id)
    device = e.get("device")
    src = e.get("source")
    if src is not None and not isinstance(src, (dict, str)):
        raise BoardFileError(f"{where}.source: expected a frugy YAML path or an inline mapping")
    if device == "file":
        return {
            "id": fru_id,
            "device": "file",
            "size": integer(e, "size", where, 8, 0xFFFF, default=FILE_SIZE),
            "path": f"fru{fru_id}.bin",
        }
    if device not in AT24_PARTS:
        raise BoardFileError(
            f"{where}.device: {device!r} is not one of file, {', '.join(AT24_PARTS)}"
        )
    size, page = AT24_PARTS[device]
    out = {
        "id": fru_id,
        "device": "at24",
        "addr": integer(e, "addr", where, 0x08, 0x77),
        "size": integer(e, "size", where, 8, size, default=size),
        "page": integer(e, "page", where, 1, 256, default=page),
    }
    if "addrsize" in e and e["addrsize"] not in (8, 16):
        raise BoardFileError(f"{where}.addrsize: {e['addrsize']!r} is not 8 or 16")
    out["addrsize"] = e.get("addrsize", at24_addrsize(size))
    if out["page"] & (out["page"] - 1):
        raise BoardFileError(f"{where}.page: {out['page']} is not a power of two")
    out["wp_pin"] = integer(e, "wp_pin", where, 0, 255, default=None)
    return out


def config(data: dict, where: str) -> dict:
    """The firmware config key of the FRU section: {"fru": [...]}, [] without one."""
    entries = data.get("fru")
    if entries is None:
        return {"fru": []}
    if not isinstance(entries, list):
        raise BoardFileError(f"{where}.fru: expected a list of FRU devices")
    seen: set = set()
    return {"fru": [_entry(e, f"{where}.fru[{i}]", seen) for i, e in enumerate(entries)]}


def on_private_bus(data: dict):
    """What a board file's FRU section puts on the private bus (a name), or None."""
    for e in data.get("fru") or []:
        if isinstance(e, dict) and e.get("device") in AT24_PARTS:
            return "the FRU EEPROM"
    return None


def sources(board) -> dict:
    """FRU device id -> its `source` (None when the board file gives none)."""
    return {e["id"]: e.get("source") for e in board.data.get("fru") or []}
