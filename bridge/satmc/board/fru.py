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

The source's area and field names are checked against frugy's own schema (the areas
frugy registers and each one's `_schema`) when the board is loaded, so a misspelt
field is an error naming it and the valid ones at bundle time, not a KeyError from
frugy later. Values are frugy's to check when it builds the image.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BoardFileError
from .fields import integer, one_of, read_yaml
from .parts import AT24_PARTS, at24_addrsize

FILE_SIZE = 256  # default size of a file-backed FRU


def frugy_fields() -> dict[str, tuple[str, ...] | None]:
    """frugy's FRU areas -> the field names each takes (None: MultirecordArea, a list)."""
    import frugy.fru  # noqa: F401  (importing it registers the areas)
    from frugy.fru_registry import FruRecordType, rec_enumerate

    out: dict[str, tuple[str, ...] | None] = {}
    for cls in rec_enumerate(FruRecordType.ipmi_area):
        if cls.__name__ == "CommonHeader":
            continue  # frugy computes it
        schema = getattr(cls, "_schema", None)
        out[cls.__name__] = None if schema is None else tuple(f[0] for f in schema)
    return out


def _multirecord_fields(kind) -> tuple[str, ...] | None:
    from frugy.fru_registry import rec_lookup_by_name

    try:
        cls = rec_lookup_by_name(kind)
    except (KeyError, TypeError):
        return None
    return ("type", *(f[0] for f in getattr(cls, "_schema", ()) if not f[0].startswith("_")))


def check_source(src, where: str, base: Path | None) -> None:
    """Refuse FRU area and field names frugy does not know, naming the valid ones."""
    if isinstance(src, str):
        if base is None:
            return
        path = Path(src) if Path(src).is_absolute() else base / src
        try:
            src = read_yaml(path)
        except BoardFileError as e:
            raise BoardFileError(f"{where}: FRU source: {e}") from None
        where = f"{where} ({path.name})"
    if not isinstance(src, dict):
        raise BoardFileError(f"{where}: expected a mapping of FRU areas")
    areas = frugy_fields()
    for area, fields in src.items():
        w = f"{where}.{area}"
        if area not in areas:
            raise BoardFileError(f"{w}: unknown FRU area (known: {', '.join(areas)})")
        known = areas[area]
        if known is None:
            if not isinstance(fields, list):
                raise BoardFileError(f"{w}: expected a list of records")
            for i, rec in enumerate(fields):
                kind = rec.get("type") if isinstance(rec, dict) else None
                names = _multirecord_fields(kind)
                if names is None:
                    raise BoardFileError(f"{w}[{i}].type: {kind!r} is not a frugy record type")
                _known(rec, names, f"{w}[{i}]")
        elif fields is not None:
            if not isinstance(fields, dict):
                raise BoardFileError(f"{w}: expected a mapping of fields")
            _known(fields, known, w)


def _known(fields: dict, names: tuple[str, ...], where: str) -> None:
    for name in fields:
        if name not in names:
            raise BoardFileError(f"{where}.{name}: unknown FRU field (valid: {', '.join(names)})")


def _entry(e: dict, where: str, seen: set, base: Path | None) -> dict:
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
    if src is not None:
        check_source(src, f"{where}.source", base)
    if device == "file":
        return {
            "id": fru_id,
            "device": "file",
            "size": integer(e, "size", where, 8, 0xFFFF, default=FILE_SIZE),
            "path": f"fru{fru_id}.bin",
        }
    if not one_of(device, AT24_PARTS):
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


def config(data: dict, where: str, base: Path | None = None) -> dict:
    """The firmware config key of the FRU section: {"fru": [...]}, [] without one.
    `base` is the board file's folder, where `source` paths start."""
    entries = data.get("fru")
    if entries is None:
        return {"fru": []}
    if not isinstance(entries, list):
        raise BoardFileError(f"{where}.fru: expected a list of FRU devices")
    seen: set = set()
    return {"fru": [_entry(e, f"{where}.fru[{i}]", seen, base) for i, e in enumerate(entries)]}


def on_private_bus(data: dict):
    """What a board file's FRU section puts on the private bus (a name), or None."""
    entries = data.get("fru")
    for e in entries if isinstance(entries, list) else ():  # else: refused by config()
        if isinstance(e, dict) and one_of(e.get("device"), AT24_PARTS):
            return "the FRU EEPROM"
    return None


def sources(board) -> dict:
    """FRU device id -> its `source` (None when the board file gives none)."""
    return {e["id"]: e.get("source") for e in board.data.get("fru") or []}
