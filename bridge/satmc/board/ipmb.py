"""The board's buses: the IPMB (address, geographic address pins, the two I2C blocks)
and the private bus the sensors and FRU EEPROMs sit on.

    ipmb:
      address: 0x72                         # 8-bit, even, 0x10..0xEE
      ga_pins: [10, 11]                     # optional: address = base + 2 x pin value
      freq: 100000                          # optional
      target: {block: 0, scl: 1, sda: 0}    # answers requests
      controller: {block: 1, scl: 3, sda: 2}  # writes responses, wired to the same lines
    private_bus: {scl: 5, sda: 4, freq: 100000}   # SoftI2C pins of the board's own bus
"""

from __future__ import annotations

from ..errors import AddressError, BoardFileError
from .fields import integer, need, only
from .mcu import Pins

IPMB_MIN, IPMB_MAX = 0x10, 0xEE
FREQ_MIN, FREQ_MAX, FREQ_DEFAULT = 10_000, 1_000_000, 100_000


def check_address(address: int) -> int:
    """address if it is an 8-bit IPMB address (even, 0x02..0xfe), else AddressError saying
    what it looks like: an odd number below 0x80 is most likely the 7-bit form."""
    if not 0x02 <= address <= 0xFE:
        raise AddressError(f"{address:#04x} is not an 8-bit IPMB address (even, 0x02..0xfe)")
    if address & 1:
        if address < 0x80:
            raise AddressError(
                f"{address:#04x} looks like a 7-bit address; the 8-bit IPMB address is "
                f"{address << 1:#04x}"
            )
        raise AddressError(
            f"{address:#04x} is odd; 8-bit IPMB addresses are even (bit 0 is the R/W bit)"
        )
    return address


def ipmb(data: dict, where: str, pins: Pins) -> dict:
    w = f"{where}.ipmb"
    section = need(data, "ipmb", where, dict)
    only(section, ("address", "ga_pins", "freq", "target", "controller"), w)
    addr = integer(section, "address", w, IPMB_MIN, IPMB_MAX)
    if addr & 1:
        raise BoardFileError(f"{w}.address: {addr:#04x} is odd; IPMB addresses are 8-bit and even")
    target = pins.i2c_block(need(section, "target", w), f"{w}.target", "IPMB target")
    controller = pins.i2c_block(
        need(section, "controller", w), f"{w}.controller", "IPMB controller"
    )
    if target["block"] == controller["block"]:
        raise BoardFileError(
            f"{w}.controller.block: same block as the target; an I2C block cannot be "
            "target and controller at once, wire a second block to the IPMB lines"
        )
    ga = section.get("ga_pins") or []
    if not isinstance(ga, list):
        raise BoardFileError(f"{w}.ga_pins: expected a list of pins (LSB first), got {ga!r}")
    ga = [
        pins.pin(p, f"{w}.ga_pins[{i}]", f"geographic address bit {i}") for i, p in enumerate(ga)
    ]
    top = addr + 2 * ((1 << len(ga)) - 1)
    if top > IPMB_MAX:
        raise BoardFileError(
            f"{w}.ga_pins: base {addr:#04x} + 2 x {(1 << len(ga)) - 1} = {top:#04x} "
            f"exceeds {IPMB_MAX:#04x}; lower the address or use fewer pins"
        )
    return {
        "address": addr,
        "ga_pins": ga,
        "freq": integer(section, "freq", w, FREQ_MIN, FREQ_MAX, default=FREQ_DEFAULT),
        "target": target,
        "controller": controller,
    }


def private_bus(data: dict, where: str, pins: Pins, needed_by: str | None):
    """The private bus config, or None; `needed_by` names what sits on it (then required)."""
    pb = data.get("private_bus")
    w = f"{where}.private_bus"
    if pb is None:
        if needed_by:
            raise BoardFileError(f"{w}: missing; {needed_by} sits on it")
        return None
    if not isinstance(pb, dict):
        raise BoardFileError(f"{w}: expected a mapping {{scl, sda, freq}}, got {pb!r}")
    only(pb, ("scl", "sda", "freq"), w)
    return {
        "scl": pins.pin(need(pb, "scl", w), f"{w}.scl", "private bus SCL"),
        "sda": pins.pin(need(pb, "sda", w), f"{w}.sda", "private bus SDA"),
        "freq": integer(pb, "freq", w, FREQ_MIN, FREQ_MAX, default=FREQ_DEFAULT),
    }
