"""FRU images: built with frugy from the board file, checked, decoded with python-ipmi.

    img = build_from_source({"BoardInfo": {...}})       # frugy's YAML schema, as a dict
    check(img)                                          # FRUImageError("board info area ...")
    lines = describe(img, fru_id=0)                     # as `ipmitool fru print` shows it
    img2 = edit(img, ["BoardInfo.serial_number=SN42"])

The checks here are independent of the firmware's (ipmc/fru.py): each names the area,
its offset and the stored and expected checksum, in one line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
from pathlib import Path

import yaml

from . import FRUImageError

AREAS = (  # common header byte -> name
    (1, "internal use area"),
    (2, "chassis info area"),
    (3, "board info area"),
    (4, "product info area"),
    (5, "multi-record area"),
)
FRUGY_AREAS = {  # accepted short names for `edit`
    "internal": "InternalUse",
    "chassis": "ChassisInfo",
    "board": "BoardInfo",
    "product": "ProductInfo",
    "multirecord": "MultirecordArea",
}
CHASSIS_TYPES = (  # SMBIOS chassis types, as ipmitool names them
    "Unspecified",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "LapTop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All in One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "SubChassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system Chassis",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
    "Stick PC",
)
FRU_EPOCH = dt.datetime(1996, 1, 1, tzinfo=dt.UTC)


class _FrugyBelowError(logging.Filter):
    """frugy's own records below ERROR (its module-level logging.warning/debug calls)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.pathname.startswith(_FRUGY_DIR)


_FRUGY_DIR = ""
_QUIET = _FrugyBelowError()
_FRUGY_LOCK = threading.RLock()


@contextlib.contextmanager
def _frugy():
    """frugy's Fru, its chatter kept out of the program's log while it runs.

    frugy logs through the root logger at module level, and such a call configures
    logging (basicConfig) when nothing has. So while frugy runs, the root logger drops
    frugy's records below ERROR and holds a NullHandler if it had no handler; the
    program's own logging (satmc bmc -v, its levels, its format) stays as it was."""
    global _FRUGY_DIR
    import frugy
    from frugy.fru import Fru

    with _FRUGY_LOCK:  # one thread in frugy at a time: the filter and stub are shared
        _FRUGY_DIR = os.path.dirname(frugy.__file__) + os.sep
        root = logging.getLogger()
        stub = None if root.handlers else logging.NullHandler()
        if stub:
            root.addHandler(stub)
        root.addFilter(_QUIET)
        try:
            yield Fru
        finally:
            root.removeFilter(_QUIET)
            if stub:
                root.removeHandler(stub)


def build_from_source(source: dict | str | Path, base: Path | None = None) -> bytes:
    """The image of a frugy description: a dict (frugy's YAML schema) or a YAML file."""
    if not isinstance(source, dict):
        path = Path(source)
        if base is not None and not path.is_absolute():
            path = base / path
        try:
            source = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise FRUImageError(f"FRU source {path}: {e}") from e
        if not isinstance(source, dict):
            raise FRUImageError(f"FRU source {path}: expected a mapping of FRU areas")
    try:
        with _frugy() as Fru:
            return bytes(Fru(source).serialize())
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise FRUImageError(f"frugy cannot build the FRU image: {e}") from e


def _zero_sum(data: bytes) -> int:
    """The checksum byte that makes data (without it) sum to zero."""
    return -sum(data) & 0xFF


def problems(img: bytes) -> list[str]:
    """Every fault found in the image, one line each (empty: the image is good)."""
    if len(img) < 8:
        return [f"image is {len(img)} bytes; the common header alone needs 8"]
    if img[0] & 0x0F != 1:
        return [
            (
                f"common header: format version {img[0] & 0x0F}, expected 1 "
                "(blank or not a FRU image)"
            )
        ]
    if sum(img[:8]) & 0xFF:
        return [
            (
                f"common header at 0x00: checksum 0x{img[7]:02x}, expected "
                f"0x{_zero_sum(img[:7]):02x}"
            )
        ]
    out = []
    for idx, name in AREAS[1:4]:
        at = img[idx] * 8
        if not at:
            continue
        if at + 2 > len(img):
            out.append(f"{name}: offset 0x{at:02x} is past the end of the image")
            continue
        end = at + img[at + 1] * 8
        if img[at] & 0x0F != 1:
            out.append(f"{name} at 0x{at:02x}: format version {img[at] & 0x0F}, expected 1")
        elif end == at or end > len(img):
            out.append(
                f"{name} at 0x{at:02x}: length {end - at} bytes runs past the end "
                f"of the image ({len(img)} bytes)"
            )
        elif sum(img[at:end]) & 0xFF:
            out.append(
                f"{name} at 0x{at:02x}: checksum 0x{img[end - 1]:02x}, expected "
                f"0x{_zero_sum(img[at : end - 1]):02x}"
            )
    at = img[5] * 8
    for _ in range(64 if at else 0):
        if at + 5 > len(img):
            out.append(f"multi-record area: record at 0x{at:02x} is past the end of the image")
            break
        head, end = img[at : at + 5], at + 5 + img[at + 2]
        if sum(head) & 0xFF:
            out.append(
                f"multi-record area: record header at 0x{at:02x}: checksum "
                f"0x{head[4]:02x}, expected 0x{_zero_sum(head[:4]):02x}"
            )
            break
        if end > len(img) or (sum(img[at + 5 : end]) + head[3]) & 0xFF:
            out.append(
                f"multi-record area: record at 0x{at:02x} (type 0x{head[0]:02x}): "
                f"data checksum 0x{head[3]:02x}, expected "
                f"0x{_zero_sum(img[at + 5 : end]):02x}"
            )
            break
        if head[1] & 0x80:
            break
        at = end
    return out


def check(img: bytes, fru_id: int | None = None) -> None:
    """Raise FRUImageError with the first fault, in one line."""
    found = problems(img)
    if found:
        who = f"FRU {fru_id}: " if fru_id is not None else ""
        raise FRUImageError(f"{who}corrupt FRU image: {found[0]}")


# Fields each unit carries its own values of: a conforming device may differ from its
# board file there (and may fill them where the board file leaves them out).
PER_UNIT_FIELDS = frozenset({"serial_number", "mfg_date_time", "asset_tag"})


def differences(img: bytes, expected: bytes, per_unit=PER_UNIT_FIELDS) -> list[str]:
    """How a device's FRU image departs from the image its board file builds, one line
    each (empty: it conforms): its checksums first, then the areas present, each area's
    fields and their values, except the per-unit fields (serial numbers, dates)."""
    found = problems(img)
    if found:
        return found
    got, want = to_source(img), to_source(expected)
    out = []
    for area in sorted(set(got) | set(want)):
        if area not in got:
            out.append(f"{area}: missing (the board file has one)")
        elif area not in want:
            out.append(f"{area}: present, but not in the board file")
        elif isinstance(got[area], dict) and isinstance(want[area], dict):
            g, w = got[area], want[area]
            for name in sorted((set(g) | set(w)) - per_unit):
                if name not in g:
                    out.append(f"{area}.{name}: missing (the board file says {w[name]!r})")
                elif name not in w:
                    out.append(f"{area}.{name}: {g[name]!r}, not in the board file")
                elif g[name] != w[name]:
                    out.append(f"{area}.{name}: {g[name]!r}, the board file says {w[name]!r}")
        elif got[area] != want[area]:
            out.append(f"{area}: differs from the board file's")
    return out


def used_length(img: bytes) -> int:
    """Bytes the image's areas occupy (the rest of a device is padding)."""
    end = 8
    for idx, _ in AREAS[1:4]:
        at = img[idx] * 8
        if at and at + 2 <= len(img):
            end = max(end, at + img[at + 1] * 8)
    at = img[5] * 8
    while at and at + 5 <= len(img):
        end = max(end, at + 5 + img[at + 2])
        if img[at + 1] & 0x80:
            break
        at += 5 + img[at + 2]
    if img[1]:
        later = [img[i] * 8 for i in range(2, 6) if img[i] > img[1]]
        end = max(end, min(later) if later else len(img))
    return min(end, len(img))


def ipmitool_date(minutes: int) -> str:
    """A board manufacturing date as ipmitool prints it (C locale %c, UTC)."""
    if not minutes:
        return "Unspecified"
    t = FRU_EPOCH + dt.timedelta(minutes=minutes)
    return f"{t:%a %b} {t.day:2d} {t:%H:%M:%S %Y} UTC"


def _field(label: str, value) -> str | None:
    text = str(value) if value is not None else ""
    return f" {label:<22}: {text}" if text else None


def describe(img: bytes, fru_id: int = 0, description: str | None = None) -> list[str]:
    """`ipmitool fru print` lines for an image (checked first; FRUImageError if corrupt).

    As ipmitool 1.8.19: empty fields and the FRU file ID fields are not shown.
    """
    check(img, fru_id)
    try:
        return _describe(img, fru_id, description)
    except Exception as e:  # python-ipmi's decoder: DecodingError, ValueError, IndexError...
        raise FRUImageError(f"FRU {fru_id}: a field cannot be decoded: {e}") from e


def _describe(img: bytes, fru_id: int, description: str | None) -> list[str]:
    from pyipmi.fru import FruInventory

    inv = FruInventory(list(img))
    lines = [f"FRU Device Description : {description or 'Builtin FRU Device'} (ID {fru_id})"]
    c = inv.chassis_info_area
    if c is not None:
        name = CHASSIS_TYPES[c.type] if c.type < len(CHASSIS_TYPES) else "Unknown"
        lines += [
            _field("Chassis Type", name),
            _field("Chassis Part Number", c.part_number),
            _field("Chassis Serial", c.serial_number),
        ]
        lines += [_field("Chassis Extra", x) for x in c.custom_chassis_info]
    b = inv.board_info_area
    if b is not None:
        at = img[3] * 8
        lines.append(
            _field("Board Mfg Date", ipmitool_date(int.from_bytes(img[at + 3 : at + 6], "little")))
        )
        lines += [
            _field("Board Mfg", b.manufacturer),
            _field("Board Product", b.product_name),
            _field("Board Serial", b.serial_number),
            _field("Board Part Number", b.part_number),
        ]
        lines += [_field("Board Extra", x) for x in b.custom_mfg_info]
    p = inv.product_info_area
    if p is not None:
        lines += [
            _field("Product Manufacturer", p.manufacturer),
            _field("Product Name", p.name),
            _field("Product Part Number", p.part_number),
            _field("Product Version", p.version),
            _field("Product Serial", p.serial_number),
            _field("Product Asset Tag", p.asset_tag),
        ]
        lines += [_field("Product Extra", x) for x in p.custom_mfg_info]
    if inv.multirecord_area is not None:
        lines.append(_field("Multi-record Records", len(inv.multirecord_area.records)))
    return [line for line in lines if line]


def _parse(img: bytes):
    with _frugy() as Fru:
        fru = Fru()
        try:
            fru.deserialize(bytes(img))
        except Exception as e:  # frugy's decoder raises kinds of its own (bitstruct.Error, ...)
            raise FRUImageError(f"frugy cannot decode the FRU image: {e}") from e
    return fru


def to_source(img: bytes) -> dict:
    """The frugy description (YAML schema) of an image."""
    check(img)
    fru = _parse(img)
    with _frugy():
        return fru.to_dict()


def edit(img: bytes, assignments: list[str]) -> bytes:
    """A new image with FIELD=VALUE changes (Area.field, frugy's names; board.serial_number
    is short for BoardInfo.serial_number)."""
    src = to_source(img)
    for a in assignments:
        key, sep, value = a.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            raise FRUImageError(
                f"{a!r}: expected AREA.FIELD=VALUE, e.g. BoardInfo.serial_number=SN0042"
            )
        area = FRUGY_AREAS.get(parts[0].lower(), parts[0])
        if area not in FRUGY_AREAS.values():
            raise FRUImageError(
                f"{a!r}: no FRU area {parts[0]!r}; areas: {', '.join(FRUGY_AREAS.values())}"
            )
        fields = _fields(area)
        if fields and parts[1] not in fields:
            raise FRUImageError(
                f"{a!r}: {area} has no field {parts[1]!r}; fields: {', '.join(fields)}"
            )
        src.setdefault(area, {})[parts[1]] = value
    return build_from_source(src)


def _fields(area: str) -> list[str]:
    """The field names frugy's schema gives an area (empty for the list-shaped ones)."""
    from frugy import areas

    cls = getattr(areas, area, None)
    return [e[0] for e in getattr(cls, "_schema", ()) if not e[0].startswith("_")]


def build(board, fru_id: int = 0) -> bytes:
    """The image of FRU device fru_id of a board (its `source`, through frugy)."""
    from ..board.fru import sources
    from . import FRUError

    entries = {e["id"]: e for e in board.config.get("fru") or []}
    if fru_id not in entries:
        ids = ", ".join(map(str, entries)) or "none"
        raise FRUError(f"board {board.name} declares no FRU device {fru_id} (ids: {ids})")
    src = sources(board)[fru_id]
    if src is None:
        raise FRUImageError(f"board {board.name}: FRU {fru_id} has no source")
    img = build_from_source(src, base=board.path.parent)
    if len(img) > entries[fru_id]["size"]:
        raise FRUImageError(
            f"board {board.name}: FRU {fru_id} image is {len(img)} bytes, "
            f"the device holds {entries[fru_id]['size']}"
        )
    return img
