"""MCU pins and I2C blocks: what each MicroPython port accepts, and each pin used once.

pins = Pins("rp2040", "pico")
pins.pin(25, "pico.leds.heartbeat.pin", "LED heartbeat")     # 25, or BoardFileError
pins.i2c_block({"block": 0, "scl": 1, "sda": 0}, "pico.ipmb.target", "IPMB target")
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BoardFileError
from .fields import need, only


def _rp2_i2c_pin(block: int, pin: int, line: str) -> bool:
    """rp2: SDA on even, SCL on odd pins; I2C0/I2C1 alternate in pairs (GP0/1 I2C0, GP2/3 I2C1)."""
    return pin & 1 == (line == "scl") and (pin >> 1) & 1 == block


@dataclass(frozen=True)
class MCU:
    """What a MicroPython port accepts on one chip family."""

    port: str  # MicroPython port directory (ports/<port>)
    platform: str  # sys.platform on the board
    chip: str  # text in sys.implementation._machine
    pin_kind: type  # int (GPIO number) or str (pin name)
    pin_max: int  # highest GPIO number (int pins)
    blocks: tuple  # hardware I2C block ids
    block_pins: str  # "any", "rp2" (checked by _rp2_i2c_pin) or "fixed" (no scl/sda given)
    watchdog_max_ms: int


MCUS = {
    "unix": MCU("unix", "linux", "linux", int, 255, tuple(range(8)), "any", 8388),
    "rp2040": MCU("rp2", "rp2", "RP2040", int, 29, (0, 1), "rp2", 8388),
    "rp2350": MCU("rp2", "rp2", "RP2350", int, 47, (0, 1), "rp2", 8388),  # 16777 from 1.29
    "stm32": MCU("stm32", "pyboard", "STM32", str, 0, (1, 2, 3, 4), "fixed", 32767),
}
UNSUPPORTED_MCUS = {
    "esp32s3": "MicroPython's I2CTarget on esp32 serves only memory mode (mem=...) with no "
    "per-byte IRQs, and the chip cannot stretch SCL as a target; IPMB needs both",
}
PIN_NAME = r"[A-Za-z][A-Za-z0-9_]*"  # a pin name (stm32 "X9")


def mcu_of(name, where: str) -> MCU:
    if name in UNSUPPORTED_MCUS:
        raise BoardFileError(f"{where}.mcu: {name} is not supported: {UNSUPPORTED_MCUS[name]}")
    if name not in MCUS:
        raise BoardFileError(f"{where}.mcu: {name!r} is not one of {', '.join(MCUS)}")
    return MCUS[name]


class Pins:
    """Pin checks for one board: valid for the MCU, and each pin used once."""

    def __init__(self, mcu_name: str, where: str):
        self.mcu_name = mcu_name
        self.mcu = MCUS[mcu_name]
        self.where = where
        self.used: dict = {}

    def pin(self, value, field_name: str, use: str):
        m = self.mcu
        if m.pin_kind is int:
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= m.pin_max
            ):
                raise BoardFileError(
                    f"{field_name}: {value!r} is not a GPIO number of {self.mcu_name} "
                    f"(0..{m.pin_max})"
                )
        elif not (isinstance(value, str) and re.fullmatch(PIN_NAME, value)):
            raise BoardFileError(
                f'{field_name}: {value!r} is not a pin name of {self.mcu_name} (e.g. "X9")'
            )
        if value in self.used:
            raise BoardFileError(
                f"{field_name}: pin {value} is already used by {self.used[value]}"
            )
        self.used[value] = use
        return value

    def i2c_block(self, d, where: str, use: str) -> dict:
        if not isinstance(d, dict):
            raise BoardFileError(f"{where}: expected a mapping {{block, scl, sda}}, got {d!r}")
        only(d, ("block", "scl", "sda"), where)
        m = self.mcu
        block = need(d, "block", where)
        if isinstance(block, bool) or block not in m.blocks:
            raise BoardFileError(
                f"{where}.block: {block!r} is not an I2C block of {self.mcu_name} "
                f"({', '.join(map(str, m.blocks))})"
            )
        out = {"block": block}
        if m.block_pins == "fixed":
            for line in ("scl", "sda"):
                if line in d:
                    raise BoardFileError(
                        f"{where}.{line}: {self.mcu_name} I2C blocks have fixed pins; leave "
                        "scl/sda out (the wiring section of boards/README.md names them)"
                    )
            return out
        for line in ("scl", "sda"):
            pin = self.pin(need(d, line, where), f"{where}.{line}", f"{use} {line.upper()}")
            if m.block_pins == "rp2" and not _rp2_i2c_pin(block, pin, line):
                raise BoardFileError(
                    f"{where}.{line}: GP{pin} cannot be {line.upper()} of I2C{block} "
                    f"(I2C{block} {line.upper()} is on GP"
                    + ", GP".join(
                        str(p) for p in range(m.pin_max + 1) if _rp2_i2c_pin(block, p, line)
                    )
                    + ")"
                )
            out[line] = pin
        return out
