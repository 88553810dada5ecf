"""Board files: load, validate, and turn into the firmware's config.

    board = load_board("sim")            # boards/sim.yaml, or a path
    board.config                          # the dict the firmware gets as board_config.CONFIG

A bad board file raises BoardFileError naming the field and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import BoardFileError
from .fru import board as fru_board
from .sensor_board import sensors_config

REPO = Path(__file__).resolve().parents[2]
BOARDS_DIR = REPO / "boards"
FIRMWARE_DIR = REPO / "firmware"
MCUS = ("unix", "rp2040", "rp2350", "stm32", "esp32s3")


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


def _need(d: dict, key: str, where: str, kind=None):
    if not isinstance(d, dict) or key not in d:
        raise BoardFileError(f"{where}.{key}: missing")
    v = d[key]
    if kind is not None and not isinstance(v, kind):
        raise BoardFileError(
            f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {v!r}"
        )
    return v


def _int(d: dict, key: str, where: str, lo: int, hi: int, default=None) -> int:
    if default is not None and key not in d:
        return default
    v = _need(d, key, where)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise BoardFileError(f"{where}.{key}: {v!r} is not an integer in {lo:#x}..{hi:#x}")
    return v


def _i2c(d: dict, where: str) -> dict:
    return {
        "block": _int(d, "block", where, 0, 7),
        "scl": _int(d, "scl", where, 0, 255),
        "sda": _int(d, "sda", where, 0, 255),
    }


def board_path(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    return BOARDS_DIR / f"{name_or_path}.yaml"


def load_board(name_or_path: str | Path) -> Board:
    path = board_path(name_or_path)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in BOARDS_DIR.glob("*.yaml")))
        raise BoardFileError(f"no board file {path}; boards: {known}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise BoardFileError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise BoardFileError(f"{path}: expected a mapping at the top level")
    where = path.stem
    name = _need(data, "name", where, str)
    mcu = _need(data, "mcu", where, str)
    if mcu not in MCUS:
        raise BoardFileError(f"{where}.mcu: {mcu!r} is not one of {', '.join(MCUS)}")
    ipmb = _need(data, "ipmb", where, dict)
    addr = _int(ipmb, "address", f"{where}.ipmb", 0x10, 0xEE)
    if addr & 1:
        raise BoardFileError(
            f"{where}.ipmb.address: {addr:#04x} is odd; IPMB addresses are 8-bit and even"
        )
    target = _i2c(_need(ipmb, "target", f"{where}.ipmb", dict), f"{where}.ipmb.target")
    controller = _i2c(_need(ipmb, "controller", f"{where}.ipmb", dict), f"{where}.ipmb.controller")
    if target["block"] == controller["block"]:
        raise BoardFileError(
            f"{where}.ipmb.controller.block: same block as the target; an I2C block cannot be "
            "target and controller at once, wire a second block to the IPMB lines"
        )
    ga = ipmb.get("ga_pins") or []
    if not isinstance(ga, list) or not all(isinstance(p, int) for p in ga):
        raise BoardFileError(f"{where}.ipmb.ga_pins: expected a list of pin numbers")
    dev = _need(data, "device", where, dict)
    aux = dev.get("aux_firmware_revision", [0, 0, 0, 0])
    if not (
        isinstance(aux, list)
        and len(aux) == 4
        and all(isinstance(x, int) and 0 <= x < 256 for x in aux)
    ):
        raise BoardFileError(f"{where}.device.aux_firmware_revision: expected 4 bytes")
    config = {
        "name": name,
        "mcu": mcu,
        "firmware_version": firmware_version(),
        "ipmb": {
            "address": addr,
            "ga_pins": ga,
            "freq": _int(ipmb, "freq", f"{where}.ipmb", 10_000, 1_000_000, default=100_000),
            "target": target,
            "controller": controller,
        },
        "device": {
            "device_id": _int(dev, "device_id", f"{where}.device", 0, 0xFF),
            "device_revision": _int(dev, "device_revision", f"{where}.device", 0, 0x0F),
            "manufacturer_id": _int(dev, "manufacturer_id", f"{where}.device", 0, 0xFFFFF),
            "product_id": _int(dev, "product_id", f"{where}.device", 0, 0xFFFF),
            "aux_firmware_revision": aux,
        },
        "watchdog_ms": _int(data, "watchdog_ms", where, 0, 8388, default=0),
    }
    config.update(fru_board.config(data, where))
    config.update(sensors_config(data, where))
    return Board(name=name, path=path, data=data, config=config)
