"""Load a board file: read the YAML, check every section, build the firmware's config.

board = load_board("pico")           # boards/pico.yaml, or a path
board.config                          # the dict the firmware gets as board_config.CONFIG
board.for_simulation()                # the same board with its pins wired to the virtual bus
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BoardFileError
from ..ipmi import codes
from ..resources import BOARDS_DIR, FIRMWARE_DIR, checkout
from . import firewall, fru, ipmb, sensors, simulation
from .fields import boolean, exists, integer, need, only, read_yaml
from .mcu import Pins, mcu_of

REPO = checkout()  # the repository root (None when installed): tests and tools only

LED_NAMES = ("heartbeat",)
AUX_REVISION_DEFAULT = [0, 0, 0, 0]
WATCHDOG_DEFAULT_MS = 0  # no watchdog
# an HPM.1 upgrade's new bundle must serve and pass its self test within this, or it is rolled back
UPGRADE_DEADLINE_MIN_MS, UPGRADE_DEADLINE_MAX_MS, UPGRADE_DEADLINE_DEFAULT_MS = (
    1000,
    600_000,
    60_000,
)
SCAN_PERIOD_MIN_MS, SCAN_PERIOD_MAX_MS, SCAN_PERIOD_DEFAULT_MS = 100, 60_000, 1000
# The timeouts HPM.1's Get Target Upgrade Capabilities advertises (ipmitool waits that long),
# in seconds; the command counts them in 5 s steps, one byte each. self_test and rollback
# default to the upgrade deadline (rounded up to 5 s) and may not be shorter than it.
HPM_TIMEOUT_MIN_S, HPM_TIMEOUT_MAX_S = codes.HPM_TIMEOUT_UNIT_S, 255 * codes.HPM_TIMEOUT_UNIT_S
HPM_TIMEOUTS = ("upgrade_s", "self_test_s", "rollback_s", "inaccessibility_s")
HPM_TIMEOUT_DEFAULTS_S = {"upgrade_s": 30, "inaccessibility_s": 30}
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
    "upgrade_deadline_ms",
    "hpm_timeouts",
    "device",
    "firewall",
    "sim",
)
DEVICE_FIELDS = (
    "device_id",
    "device_revision",
    "manufacturer_id",
    "product_id",
    "aux_firmware_revision",
)


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
    warnings: list[str] = field(default_factory=list)  # values rounded to a resolution

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
        """This board on the unix port, its pins on the virtual bus (board.simulation)."""
        if self.mcu == "unix":
            return self
        config, data = simulation.simulated(self.config, self.data)
        return Board(self.name, self.path, data, config, self.warnings)

    def for_slot(self) -> Board:
        """This board as a simulated chassis's slot runs it (satmc.sim.chassis): on the unix
        port, its IPMB address read from the slot's hardware-address pins, so one bundle
        serves every slot; an upgrade image for a slot is made from this bundle."""
        sim = self.for_simulation()
        config, _ = simulation.in_slot(sim.config, 0)
        return Board(sim.name, sim.path, sim.data, config, sim.warnings)


def _leds(data: dict, where: str, pins: Pins) -> dict:
    leds = data.get("leds") or {}
    w = f"{where}.leds"
    if not isinstance(leds, dict):
        raise BoardFileError(f"{w}: expected a mapping of LED name to pin, got {leds!r}")
    out = dict.fromkeys(LED_NAMES)
    for name, spec in leds.items():
        if name not in LED_NAMES:
            raise BoardFileError(f"{w}.{name}: unknown LED (known: {', '.join(LED_NAMES)})")
        if not isinstance(spec, dict):
            spec = {"pin": spec}
        only(spec, ("pin", "active_low"), f"{w}.{name}")
        low = boolean(spec, "active_low", f"{w}.{name}", False)
        pin = pins.pin(need(spec, "pin", f"{w}.{name}"), f"{w}.{name}.pin", f"LED {name}")
        out[name] = {"pin": pin, "active_low": low}
    return out


def _device(data: dict, where: str) -> dict:
    w = f"{where}.device"
    dev = need(data, "device", where, dict)
    only(dev, DEVICE_FIELDS, w)
    aux = dev.get("aux_firmware_revision", AUX_REVISION_DEFAULT)
    if not (
        isinstance(aux, list)
        and len(aux) == 4
        and all(isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 256 for x in aux)
    ):
        raise BoardFileError(f"{w}.aux_firmware_revision: expected 4 bytes, got {aux!r}")
    return {
        "device_id": integer(dev, "device_id", w, 0, 0xFF),
        "device_revision": integer(dev, "device_revision", w, 0, 0x0F),
        "manufacturer_id": integer(dev, "manufacturer_id", w, 0, 0xFFFFF),
        "product_id": integer(dev, "product_id", w, 0, 0xFFFF),
        "aux_firmware_revision": list(aux),
    }


def _hpm_timeouts(data: dict, where: str, deadline_ms: int) -> dict:
    """hpm_timeouts: {upgrade_s, self_test_s, rollback_s, inaccessibility_s}."""
    w = f"{where}.hpm_timeouts"
    given = data.get("hpm_timeouts", {})
    if not isinstance(given, dict):
        raise BoardFileError(f"{w}: expected a mapping of {', '.join(HPM_TIMEOUTS)}")
    only(given, HPM_TIMEOUTS, w)
    step = codes.HPM_TIMEOUT_UNIT_S
    trial = max(step, -(-deadline_ms // (step * 1000)) * step)
    out = {}
    for key in HPM_TIMEOUTS:
        default = HPM_TIMEOUT_DEFAULTS_S.get(key, trial)
        out[key] = integer(given, key, w, HPM_TIMEOUT_MIN_S, HPM_TIMEOUT_MAX_S, default=default)
        if key in ("self_test_s", "rollback_s") and out[key] * 1000 < deadline_ms:
            raise BoardFileError(
                f"{w}.{key}: {out[key]} s is shorter than upgrade_deadline_ms ({deadline_ms}): "
                "a client would give up before the board decides"
            )
    return out


def named_file(name_or_path: str | Path, directory: Path) -> Path:
    """A YAML file by path, or by name in directory (boards/, chassis/)."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or exists(p):
        return p
    return directory / f"{name_or_path}.yaml"


def names_in(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def board_path(name_or_path: str | Path) -> Path:
    return named_file(name_or_path, BOARDS_DIR)


def board_names() -> list[str]:
    return names_in(BOARDS_DIR)


def read_board_file(path: Path) -> dict:
    """The YAML mapping of a board file, or BoardFileError."""
    if not exists(path):
        raise BoardFileError(f"no board file {path}; boards: {', '.join(board_names())}")
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise BoardFileError(f"{path}: expected a mapping at the top level")
    return data


def board_config(
    data: dict, where: str, base: Path | None = None, warnings: list | None = None
) -> dict:
    """The firmware config (the contract in the package docstring) of a board file's data.
    `base`: the board file's folder (FRU source paths); `warnings` gets a line per value
    rounded to a sensor's resolution."""
    only(data, TOP_FIELDS, where)
    name = need(data, "name", where, str)
    mcu_name = need(data, "mcu", where, str)
    mcu = mcu_of(mcu_name, where)
    pins = Pins(mcu_name, where)
    for key in ("sensors", "fru"):
        if key in data and not isinstance(data[key], list):
            raise BoardFileError(f"{where}.{key}: expected a list, got {type(data[key]).__name__}")
    simulation.check(data, where)
    if "micropython_board" in data and not isinstance(data["micropython_board"], str):
        raise BoardFileError(f"{where}.micropython_board: expected a MicroPython board name")
    scan_period = integer(
        data,
        "scan_period_ms",
        where,
        SCAN_PERIOD_MIN_MS,
        SCAN_PERIOD_MAX_MS,
        default=SCAN_PERIOD_DEFAULT_MS,
    )
    deadline = integer(
        data,
        "upgrade_deadline_ms",
        where,
        UPGRADE_DEADLINE_MIN_MS,
        UPGRADE_DEADLINE_MAX_MS,
        default=UPGRADE_DEADLINE_DEFAULT_MS,
    )
    config = {
        "name": name,
        "mcu": mcu_name,
        "firmware_version": firmware_version(),
        "ipmb": ipmb.ipmb(data, where, pins),
        "private_bus": ipmb.private_bus(
            data, where, pins, fru.on_private_bus(data) or sensors.on_private_bus(data)
        ),
        "leds": _leds(data, where, pins),
        "device": _device(data, where),
        "watchdog_ms": integer(
            data, "watchdog_ms", where, 0, mcu.watchdog_max_ms, default=WATCHDOG_DEFAULT_MS
        ),
        "scan_period_ms": scan_period,
        "upgrade_deadline_ms": deadline,
        "hpm_timeouts": _hpm_timeouts(data, where, deadline),
    }
    config.update(fru.config(data, where, base))
    config.update(sensors.config(data, where, scan_period, [] if warnings is None else warnings))
    config.update(firewall.config(data, where))
    return config


def load_board(name_or_path: str | Path) -> Board:
    path = board_path(name_or_path)
    data = read_board_file(path)
    warnings: list[str] = []
    config = board_config(data, path.stem, path.parent, warnings)
    if config["name"] != path.stem:
        raise BoardFileError(
            f"{path.stem}.name: {config['name']!r} does not match the file name {path.name} "
            f"(name it {path.stem!r}, or rename the file {config['name']}{path.suffix})"
        )
    return Board(config["name"], path, data, config, warnings)
