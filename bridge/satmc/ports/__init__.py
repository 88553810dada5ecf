"""The ways a firmware meets the virtual bus, side by side (the bus itself: satmc.vbus).

    unix/     MicroPython's unix port: `machine` (I2C, SoftI2C, I2CTarget, Pin, ADC, WDT, ...)
              emulated in MicroPython over the bus socket; satmc.sim runs the firmware on it
    rp2emu/   the official rp2 MicroPython image on an emulated RP2040 (rp2040js under
              Node.js), its I2C blocks bridged to the bus socket by the project's I2C
              target extension; satmc.sim.rp2emu runs a board on it

Every port speaks the protocol of satmc.vbus.wire. A port folder with sources in another
language (FOREIGN_SOURCES) holds a wire.json of the protocol's constants and reads it:

    python -m satmc.ports         # (re)writes wire.json in every such port folder

tests/test_wire.py keeps every port on the same constants. A port imports the bus package
only; the orchestration (which port runs which firmware) lives in satmc.sim.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..vbus import wire

HERE = Path(__file__).resolve().parent
FOREIGN_SOURCES = ("*.js", "*.mjs", "*.cjs", "*.ts")


def wire_table() -> dict:
    """What wire.json holds: every constant of satmc.vbus.wire, and STATUS_NAMES."""
    table = {k: v for k, v in vars(wire).items() if k.isupper() and isinstance(v, int)}
    table["STATUS_NAMES"] = list(wire.STATUS_NAMES)
    return table


def wire_json() -> str:
    return json.dumps(wire_table(), indent=2, sort_keys=True) + "\n"


def foreign_sources(port: Path) -> list[Path]:
    """The port's sources in another language (dependencies in node_modules left out)."""
    found = (p for pattern in FOREIGN_SOURCES for p in sorted(port.rglob(pattern)))
    return [p for p in found if "node_modules" not in p.relative_to(port).parts]


def foreign_ports(root: Path = HERE) -> list[Path]:
    """Port folders under root with sources in another language."""
    return [p for p in sorted(root.iterdir()) if p.is_dir() and foreign_sources(p)]
