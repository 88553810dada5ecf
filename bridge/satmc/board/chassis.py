"""Chassis files: which boards sit at which IPMB addresses on one (simulated) IPMB.

    chassis = load_chassis("bench2")     # chassis/bench2.yaml, or a path
    for slot in chassis.satellites:      # Slot(name, board, address), in file order
        print(slot.name, slot.board.name, hex(slot.address))

The file (format in chassis/README.md):

    name: bench2
    satellites:
      - {board: sim, address: 0x72}                # name defaults to "<board>-<address>"
      - {board: pico, address: 0x74, name: left}   # optional name

A bad file raises BoardFileError naming the field and the reason, in one line, as board
files do (the same field checks): an unknown board, an odd, 7-bit or out-of-range
address (satmc.board.ipmb.check_address), 0x20 (the BMC's own address: the bench BMC
and the host stand there), two satellites at one address or with one name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import AddressError, BoardFileError
from ..resources import CHASSIS_DIR
from .fields import exists, need, only, read_yaml
from .ipmb import check_address
from .load import Board, board_names, board_path, load_board, named_file, names_in

BMC_ADDRESS = 0x20  # the BMC's IPMB address (IPMI 2.0 table 5-4): never a satellite's
TOP_FIELDS = ("name", "description", "satellites")
SLOT_FIELDS = ("board", "address", "name")
MAX_SATELLITES = 64


@dataclass
class Slot:
    name: str
    board: Board
    address: int


@dataclass
class Chassis:
    name: str
    path: Path
    satellites: list[Slot]

    def slot(self, address: int) -> Slot:
        for s in self.satellites:
            if s.address == address:
                return s
        have = ", ".join(f"{s.address:#04x}" for s in self.satellites)
        raise AddressError(f"no satellite at {address:#04x} in chassis {self.name}; there: {have}")


def chassis_path(name_or_path: str | Path) -> Path:
    return named_file(name_or_path, CHASSIS_DIR)


def chassis_names() -> list[str]:
    return names_in(CHASSIS_DIR)


def _slot(entry, w: str, boards: dict) -> Slot:
    if not isinstance(entry, dict):
        raise BoardFileError(f"{w}: expected a mapping {{board, address, name}}, got {entry!r}")
    only(entry, SLOT_FIELDS, w)
    board_name = need(entry, "board", w, str)
    if board_name not in boards:
        if not exists(board_path(board_name)):
            raise BoardFileError(
                f"{w}.board: no board {board_name!r}; boards: {', '.join(board_names())}"
            )
        try:
            boards[board_name] = load_board(board_name)
        except BoardFileError as e:
            raise BoardFileError(f"{w}.board: {board_name}: {e}") from None
    address = need(entry, "address", w)
    if isinstance(address, bool) or not isinstance(address, int):
        raise BoardFileError(f"{w}.address: expected an 8-bit IPMB address, got {address!r}")
    try:
        check_address(address)
    except AddressError as e:
        raise BoardFileError(f"{w}.address: {e}") from None
    if address == BMC_ADDRESS:
        raise BoardFileError(
            f"{w}.address: 0x20 is the BMC's address (the bench BMC and the host stand "
            "there); give the satellite another"
        )
    name = entry.get("name", f"{board_name}-{address:02x}")
    if not isinstance(name, str) or not name or any(c.isspace() for c in name):
        raise BoardFileError(f"{w}.name: expected a name without spaces, got {name!r}")
    return Slot(name=name, board=boards[board_name], address=address)


def chassis_from_data(data, where: str, path: Path) -> Chassis:
    """A Chassis from a chassis file's YAML data; `where` prefixes every error."""
    if not isinstance(data, dict):
        raise BoardFileError(f"{where}: expected a mapping at the top level")
    only(data, TOP_FIELDS, where)
    name = data.get("name", where)
    if not isinstance(name, str):
        raise BoardFileError(f"{where}.name: expected str, got {name!r}")
    entries = need(data, "satellites", where, list)
    if not 1 <= len(entries) <= MAX_SATELLITES:
        raise BoardFileError(
            f"{where}.satellites: expected 1..{MAX_SATELLITES} satellites, got {len(entries)}"
        )
    boards: dict = {}
    slots: list[Slot] = []
    for i, entry in enumerate(entries):
        w = f"{where}.satellites[{i}]"
        slot = _slot(entry, w, boards)
        for j, other in enumerate(slots):
            if other.address == slot.address:
                raise BoardFileError(
                    f"{w}.address: {slot.address:#04x} is already satellites[{j}]'s "
                    f"({other.name}); every satellite needs its own address"
                )
            if other.name == slot.name:
                raise BoardFileError(f"{w}.name: {slot.name!r} is already satellites[{j}]'s")
        slots.append(slot)
    return Chassis(name=name, path=path, satellites=slots)


def load_chassis(name_or_path: str | Path) -> Chassis:
    path = chassis_path(name_or_path)
    if not exists(path):
        raise BoardFileError(f"no chassis file {path}; chassis: {', '.join(chassis_names())}")
    return chassis_from_data(read_yaml(path), path.stem, path)
