"""The simulation view of a board: its `sim:` section and its pins wired to the virtual bus.

sim:
  wiring: {ipmb: [0, 1, 2, 3], board: [4, 5]}   # bus name -> pin numbers on it
  devices:                                        # device models (vbus/devices/)
    - {name: fru0, model: at24, bus: board, addr: 0x50, part: at24c02}

simulated(config, data) -> (config, data)   # what Board.for_simulation() returns
in_slot(config, address) -> (config, levels)  # the same in a chassis slot at `address`
"""

from __future__ import annotations

import copy

from ..errors import BoardFileError


def check(data: dict, where: str) -> None:
    sim = data.get("sim")
    if sim is None:
        return
    w = f"{where}.sim"
    if not isinstance(sim, dict):
        raise BoardFileError(f"{w}: expected a mapping {{wiring, devices}}, got {sim!r}")
    wiring = sim.get("wiring") or {}
    if not isinstance(wiring, dict) or not all(
        isinstance(p, list) and all(isinstance(x, int) for x in p) for p in wiring.values()
    ):
        raise BoardFileError(f"{w}.wiring: expected bus name -> list of pin numbers")
    if not isinstance(sim.get("devices") or [], list):
        raise BoardFileError(f"{w}.devices: expected a list")


def simulated(config: dict, data: dict) -> tuple[dict, dict]:
    """A board's config and data on the unix port: same blocks and settings, pins on the vbus.

    Pins become small integers (names like "X9" and blocks with fixed pins get
    numbers of their own), the IPMB target and controller pins join bus "ipmb",
    the private bus pins bus "board". Geographic address pins are dropped: the
    emulated pins read high, so the address is the board file's base address.
    """
    cfg = copy.deepcopy(config)
    numbers: dict = {}

    def sim_pin(pin):
        key = pin if pin is not None else f"unnamed{len(numbers)}"
        return numbers.setdefault(key, len(numbers))

    wiring: dict = {"ipmb": [], "board": []}
    for role in ("target", "controller"):
        blk = cfg["ipmb"][role]
        blk["scl"], blk["sda"] = sim_pin(blk.get("scl")), sim_pin(blk.get("sda"))
        wiring["ipmb"] += [blk["scl"], blk["sda"]]
    if cfg["private_bus"]:
        pb = cfg["private_bus"]
        pb["scl"], pb["sda"] = sim_pin(pb["scl"]), sim_pin(pb["sda"])
        wiring["board"] += [pb["scl"], pb["sda"]]
    for led in cfg["leds"].values():
        if led is not None:
            led["pin"] = sim_pin(led["pin"])
    for entry in cfg["fru"]:
        if entry.get("wp_pin") is not None:
            entry["wp_pin"] = sim_pin(entry["wp_pin"])
    cfg["ipmb"]["ga_pins"] = []
    cfg["mcu"] = "unix"
    out = copy.deepcopy(data)
    out["mcu"] = "unix"
    out["sim"] = {**(data.get("sim") or {}), "wiring": wiring}
    return cfg, out


HA_PINS = tuple(range(100, 107))  # the backplane's hardware-address pins HA1..HA7 (LSB first)


def in_slot(config: dict, address: int) -> tuple[dict, dict]:
    """A simulated board's config in a chassis slot that gives it IPMB `address`, and the
    levels the slot's backplane drives on the hardware-address pins ({pin: 0 | 1}).

    As an ATCA backplane presents a slot's hardware address on HA pins (IPMB address =
    2 x hardware address), the slot straps seven pins: the config's ipmb.ga_pins become
    HA_PINS and its base address 0, so the firmware's own geographic-address read at
    boot (ipmc.wiring.ipmb_address: base + 2 x pin value) yields `address`. The bundle
    is the same for every slot; only the pins the simulator drives differ.
    """
    cfg = copy.deepcopy(config)
    cfg["ipmb"]["address"] = 0
    cfg["ipmb"]["ga_pins"] = list(HA_PINS)
    ha = address >> 1
    return cfg, {pin: (ha >> i) & 1 for i, pin in enumerate(HA_PINS)}
