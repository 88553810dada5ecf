"""Board files: load, validate, and turn into the firmware's config.

    board = load_board("pico")           # boards/pico.yaml, or a path
    board.config                          # the dict the firmware gets as board_config.CONFIG
    board.for_simulation()                # the same board with its pins wired to the virtual bus

A bad board file raises BoardFileError naming the field and the reason. The format
is documented in boards/README.md; what each MCU allows (pin names, I2C blocks and
their pins, watchdog range) is the MCUS table below.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import BoardFileError
from .fru import board as fru_board
from .resources import BOARDS_DIR, FIRMWARE_DIR, checkout
from .sensor_board import sensors_config

REPO = checkout()  # the repository root (None when installed): tests and tools only


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
IPMB_MIN, IPMB_MAX = 0x10, 0xEE
LED_NAMES = ("heartbeat",)


def firmware_version() -> str:
    text = (FIRMWARE_DIR / "ipmc" / "__init__.py").read_text()
    m = re.search(r'^VERSION = "(\d+\.\d+\.\d+)"', text, re.M)
    if not m:
        raise BoardFileError("firmware/ipmc/__init__.py: VERSION not found")
    return m.group(1)


@dataclass
class Board:
    name: str
    path: Path
    data: dict
    config: dict = field(default_factory=dict)

    @property
    def mcu(self) -> str:
        return self.data["mcu"]

    @property
    def sim(self) -> dict:
        return self.data.get("sim") or {}

    @property
    def address(self) -> int:
        return self.config["ipmb"]["address"]

    def for_simulation(self) -> Board:
        """This board's config on the unix port: same blocks and settings, pins on the vbus.

        Pins become small integers (names like "X9" and blocks with fixed pins get
        numbers of their own), the IPMB target and controller pins join bus "ipmb",
        the private bus pins bus "board". Geographic address pins are dropped: the
        emulated pins read high, so the address is the board file's base address.
        """
        if self.mcu == "unix":
            return self
        cfg = copy.deepcopy(self.config)
        numbers: dict = {}

        def sim_pin(pin):
            key = pin if pin is not None else f"unnamed{len(numbers)}"
            return numbers.setdefault(key, len(numbers))

        wiring: dict = {"ipmb": [], "board": []}
        for role in ("target", "controller"):
            blk = cfg["ipmb"][role]
            blk["scl"], blk["sda"] = sim_pin(blk.get("scl")), sim_pin(blk.get("sda"))
            wiring["ipmb"] += [blk["scl"], blk["sda"]]
        if cfg.get("private_bus"):
            pb = cfg["private_bus"]
            pb["scl"], pb["sda"] = sim_pin(pb["scl"]), sim_pin(pb["sda"])
            wiring["board"] += [pb["scl"], pb["sda"]]
        for led in cfg["leds"].values():
            led["pin"] = sim_pin(led["pin"])
        for entry in cfg.get("fru") or []:
            if "wp_pin" in entry:
                entry["wp_pin"] = sim_pin(entry["wp_pin"])
        cfg["ipmb"]["ga_pins"] = []
        cfg["mcu"] = "unix"
        data = copy.deepcopy(self.data)
        data["mcu"] = "unix"
        data["sim"] = {**(self.data.get("sim") or {}), "wiring": wiring}
        return Board(name=self.name, path=self.path, data=data, config=cfg)


# --- field checks -----------------------------------------------------------------------


def _need(d: dict, key: str, where: str, kind=None):
    if not isinstance(d, dict) or key not in d:
        raise BoardFileError(f"{where}.{key}: missing")
    v = d[key]
    if kind is not None and not isinstance(v, kind):
        name = getattr(kind, "__name__", None) or " or ".join(k.__name__ for k in kind)
        raise BoardFileError(f"{where}.{key}: expected {name}, got {v!r}")
    return v


def _int(d: dict, key: str, where: str, lo: int, hi: int, default=None) -> int:
    if default is not None and key not in d:
        return default
    v = _need(d, key, where)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        f = "d" if key.endswith(("_ms", "freq")) else "#x"  # times and rates in decimal
        raise BoardFileError(f"{where}.{key}: {v!r} is not an integer in {lo:{f}}..{hi:{f}}")
    return v


def _only(d: dict, keys: tuple, where: str) -> None:
    unknown = sorted(set(d) - set(keys))
    if unknown:
        raise BoardFileError(f"{where}.{unknown[0]}: unknown field (known: {', '.join(keys)})")


class _Pins:
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
        elif not (isinstance(value, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", value)):
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
        _only(d, ("block", "scl", "sda"), where)
        m = self.mcu
        block = _need(d, "block", where)
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
            pin = self.pin(_need(d, line, where), f"{where}.{line}", f"{use} {line.upper()}")
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


def _ipmb(data: dict, where: str, pins: _Pins) -> dict:
    w = f"{where}.ipmb"
    ipmb = _need(data, "ipmb", where, dict)
    _only(ipmb, ("address", "ga_pins", "freq", "target", "controller"), w)
    addr = _int(ipmb, "address", w, IPMB_MIN, IPMB_MAX)
    if addr & 1:
        raise BoardFileError(f"{w}.address: {addr:#04x} is odd; IPMB addresses are 8-bit and even")
    target = pins.i2c_block(_need(ipmb, "target", w), f"{w}.target", "IPMB target")
    controller = pins.i2c_block(_need(ipmb, "controller", w), f"{w}.controller", "IPMB controller")
    if target["block"] == controller["block"]:
        raise BoardFileError(
            f"{w}.controller.block: same block as the target; an I2C block cannot be "
            "target and controller at once, wire a second block to the IPMB lines"
        )
    ga = ipmb.get("ga_pins") or []
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
        "freq": _int(ipmb, "freq", w, 10_000, 1_000_000, default=100_000),
        "target": target,
        "controller": controller,
    }


def _private_bus(data: dict, where: str, pins: _Pins):
    pb = data.get("private_bus")
    if pb is None:
        return None
    w = f"{where}.private_bus"
    if not isinstance(pb, dict):
        raise BoardFileError(f"{w}: expected a mapping {{scl, sda, freq}}, got {pb!r}")
    _only(pb, ("scl", "sda", "freq"), w)
    return {
        "scl": pins.pin(_need(pb, "scl", w), f"{w}.scl", "private bus SCL"),
        "sda": pins.pin(_need(pb, "sda", w), f"{w}.sda", "private bus SDA"),
        "freq": _int(pb, "freq", w, 10_000, 1_000_000, default=100_000),
    }


def _leds(data: dict, where: str, pins: _Pins) -> dict:
    leds = data.get("leds") or {}
    w = f"{where}.leds"
    if not isinstance(leds, dict):
        raise BoardFileError(f"{w}: expected a mapping of LED name to pin, got {leds!r}")
    out = {}
    for name, spec in leds.items():
        if name not in LED_NAMES:
            raise BoardFileError(f"{w}.{name}: unknown LED (known: {', '.join(LED_NAMES)})")
        if not isinstance(spec, dict):
            spec = {"pin": spec}
        _only(spec, ("pin", "active_low"), f"{w}.{name}")
        low = spec.get("active_low", False)
        if not isinstance(low, bool):
            raise BoardFileError(f"{w}.{name}.active_low: expected true or false, got {low!r}")
        pin = pins.pin(_need(spec, "pin", f"{w}.{name}"), f"{w}.{name}.pin", f"LED {name}")
        out[name] = {"pin": pin, "active_low": low}
    return out


def _device(data: dict, where: str) -> dict:
    w = f"{where}.device"
    dev = _need(data, "device", where, dict)
    _only(
        dev,
        ("device_id", "device_revision", "manufacturer_id", "product_id", "aux_firmware_revision"),
        w,
    )
    aux = dev.get("aux_firmware_revision", [0, 0, 0, 0])
    if not (
        isinstance(aux, list)
        and len(aux) == 4
        and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 256 for x in aux)
    ):
        raise BoardFileError(f"{w}.aux_firmware_revision: expected 4 bytes, got {aux!r}")
    return {
        "device_id": _int(dev, "device_id", w, 0, 0xFF),
        "device_revision": _int(dev, "device_revision", w, 0, 0x0F),
        "manufacturer_id": _int(dev, "manufacturer_id", w, 0, 0xFFFFF),
        "product_id": _int(dev, "product_id", w, 0, 0xFFFF),
        "aux_firmware_revision": aux,
    }


def _sim(data: dict, where: str) -> None:
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


TOP_FIELDS = (
    "name",
    "description",
    "mcu",
    "micropython_board",
    "ipmb",
    "private_bus",
    "sensors",
    "fru",
    "leds",
    "watchdog_ms",
    "scan_period_ms",
    "device",
    "sim",
)


def board_path(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    return BOARDS_DIR / f"{name_or_path}.yaml"


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.yaml"))


def load_board(name_or_path: str | Path) -> Board:
    path = board_path(name_or_path)
    if not path.exists():
        raise BoardFileError(f"no board file {path}; boards: {', '.join(board_names())}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise BoardFileError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise BoardFileError(f"{path}: expected a mapping at the top level")
    where = path.stem
    _only(data, TOP_FIELDS, where)
    name = _need(data, "name", where, str)
    mcu = _need(data, "mcu", where, str)
    if mcu in UNSUPPORTED_MCUS:
        raise BoardFileError(f"{where}.mcu: {mcu} is not supported: {UNSUPPORTED_MCUS[mcu]}")
    if mcu not in MCUS:
        raise BoardFileError(f"{where}.mcu: {mcu!r} is not one of {', '.join(MCUS)}")
    pins = _Pins(mcu, where)
    for key, kind, what in (("sensors", list, "a list"), ("fru", list, "a list")):
        if key in data and not isinstance(data[key], kind):
            raise BoardFileError(f"{where}.{key}: expected {what}, got {type(data[key]).__name__}")
    _sim(data, where)
    if "micropython_board" in data and not isinstance(data["micropython_board"], str):
        raise BoardFileError(f"{where}.micropython_board: expected a MicroPython board name")
    config = {
        "name": name,
        "mcu": mcu,
        "firmware_version": firmware_version(),
        "ipmb": _ipmb(data, where, pins),
        "private_bus": _private_bus(data, where, pins),
        "leds": _leds(data, where, pins),
        "device": _device(data, where),
        "watchdog_ms": _int(data, "watchdog_ms", where, 0, MCUS[mcu].watchdog_max_ms, default=0),
        "scan_period_ms": _int(data, "scan_period_ms", where, 100, 60_000, default=1000),
    }
    config.update(fru_board.config(data, where))
    config.update(sensors_config(data, where))
    return Board(name=name, path=path, data=data, config=config)
