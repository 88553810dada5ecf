"""The board file's FRU section and the private bus it lives on.

    private_bus: {scl: 5, sda: 4, freq: 100000}     # SoftI2C pins of the board's own bus
    fru:
      - id: 0
        device: at24c02             # an AT24 part (at24c01 .. at24c512), or `file`
        addr: 0x50                  # 7-bit I2C address on the private bus
        wp_pin: 6                   # optional: the MCU drives the part's WP pin
        source: fru/sim-board.yaml  # frugy YAML (path relative to the board file) or inline
      - id: 1
        device: file                # no EEPROM: a file on the flash filesystem
        size: 256
        source: {BoardInfo: {...}}

Optional per EEPROM: `size`, `page` (bytes) override the part's; `addrsize` (8 or 16).
The firmware gets, per device: id, device ("at24" or "file"), size, and addr, page,
addrsize, wp_pin or path. The contents (`source`) stay on the host: they become images
with frugy (`satmc fru build`), the bundle's file for file-backed FRUs and the
simulated EEPROM's first contents.
"""

from __future__ import annotations

from ..errors import BoardFileError
from ..vbus.devices.at24 import PARTS, addrsize

FILE_SIZE = 256  # default size of a file-backed FRU


def _int(d: dict, key: str, where: str, lo: int, hi: int, default=None) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise BoardFileError(f"{where}.{key}: {v!r} is not an integer in {lo:#x}..{hi:#x}")
    return v


def _entry(e: dict, where: str, seen: set) -> dict:
    if not isinstance(e, dict):
        raise BoardFileError(f"{where}: expected a mapping (id, device, source)")
    fru_id = _int(e, "id", where, 0, 0xFE)
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
            "size": _int(e, "size", where, 8, 0xFFFF, default=FILE_SIZE),
            "path": f"fru{fru_id}.bin",
        }
    if device not in PARTS:
        raise BoardFileError(f"{where}.device: {device!r} is not one of file, {', '.join(PARTS)}")
    size, page = PARTS[device]
    out = {
        "id": fru_id,
        "device": "at24",
        "addr": _int(e, "addr", where, 0x08, 0x77),
        "size": _int(e, "size", where, 8, size, default=size),
        "page": _int(e, "page", where, 1, 256, default=page),
        "addrsize": addrsize(size),
    }
    if "addrsize" in e and e["addrsize"] not in (8, 16):
        raise BoardFileError(f"{where}.addrsize: {e['addrsize']!r} is not 8 or 16")
    out["addrsize"] = e.get("addrsize", out["addrsize"])
    if out["page"] & (out["page"] - 1):
        raise BoardFileError(f"{where}.page: {out['page']} is not a power of two")
    if "wp_pin" in e:
        out["wp_pin"] = _int(e, "wp_pin", where, 0, 255)
    return out


def config(data: dict, where: str) -> dict:
    """The firmware config key of the FRU section: {"fru": [...]} (boards.py checks the bus)."""
    out = {}
    pb = data.get("private_bus")
    entries = data.get("fru")
    if entries is None:
        return out
    if not isinstance(entries, list):
        raise BoardFileError(f"{where}.fru: expected a list of FRU devices")
    seen: set = set()
    frus = [_entry(e, f"{where}.fru[{i}]", seen) for i, e in enumerate(entries)]
    if any(f["device"] == "at24" for f in frus) and pb is None:
        raise BoardFileError(f"{where}.private_bus: missing; the FRU EEPROM sits on it")
    out["fru"] = frus
    return out


def sources(board) -> dict:
    """FRU device id -> its `source` (None when the board file gives none)."""
    return {e["id"]: e.get("source") for e in board.data.get("fru") or []}
