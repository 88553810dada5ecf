"""Rigs: where the device under test is and what the bench around it can do.

    rig = load_rig("hil/rigs/pico-ft232h.toml")
    rig = Rig.from_target("ftdi://ftdi:232h/1", address=0x72, board="pico")
    rig.url          # what to connect to: ftdi://ftdi:232h/1?freq=100000&clockstretching=1

A rig only describes (as a labgrid resource does); transports act. Capabilities name
what a test may need beyond plain IPMB requests:

    stimulus    physical values can be set (simulator devices, or a bench heater/supply)
    faults      bus faults can be injected (simulator)
    trace       the bus can be recorded (simulator): failing tests leave a pcap
    reset       the board may be reset (Cold Reset is allowed)
    fru-write   the FRU EEPROM may be written (and is restored after the test)
    events      threshold events reach the host (a receiver at the host's address)
    master-write  the host is an I2C target: answers arrive as master writes (not readback)

A rig may name the board's USB serial line (`serial = "serial:///dev/ttyACM0"`): it
speaks Serial Basic Mode, a second channel for the firewall's per-channel tests (the
simulator has one).

Target rp2emu is the official MicroPython rp2 image on the emulated RP2040 (board
pico_sim by default, satmc.sim.rp2emu): every capability of sim, with host timeouts
multiplied by `time_factor` (the emulator runs slower than the chip; a rig file may set
it, and SATMC_TIME_FACTOR overrides it).

An FTDI rig (target ftdi://..., or sim+ftdi) may set the adapter's `freq` (Hz) and
`clockstretching` (true/false), as the URL options of the same names do.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from ..errors import SatmcError

CAPABILITIES = (
    "stimulus",
    "faults",
    "trace",
    "reset",
    "fru-write",
    "events",
    "master-write",
    "raw-ipmb",  # IPMB frames of the test's own making (sequence numbers): not through a BMC
)
SIM_CAPABILITIES = frozenset(CAPABILITIES) - {"master-write"}
# The simulated board, with the host as a slave-capable BMC, as a master-only host
# (readback), or on the emulated FT232H through unmodified pyftdi.
RP2EMU = "rp2emu"  # the official rp2 image on the emulated RP2040
SIM_TARGETS = ("sim", "sim+readback", "sim+ftdi", RP2EMU)
TWIN_URL = "ftdi://ftdi:232h/1"  # the FT232H twin of sim+ftdi
FTDI_KEYS = {"freq": int, "clockstretching": bool}  # rig keys that are ftdi:// URL options


class RigError(SatmcError):
    """A rig file is missing or invalid."""


@dataclass
class Rig:
    name: str
    target: str  # "sim", "sim+readback", "sim+ftdi", or a transport URL (ftdi://, serial://)
    address: int = 0x72
    board: str = "sim"
    capabilities: frozenset[str] = field(default_factory=frozenset)
    reset_seconds: float = 10.0
    freq: int | None = None  # FTDI rigs: I2C clock in Hz (the transport's default if None)
    clockstretching: bool | None = None  # FTDI rigs: adaptive clocking on AD7 (default on)
    serial: str | None = None  # the board's USB serial (Serial Basic Mode): a second channel
    time_factor: float = 1.0  # host timeouts x this (rp2emu: the emulator's slowness)

    def seconds(self, s: float) -> float:
        """A host timeout on this rig: s scaled by the rig's time factor."""
        return s * self.time_factor

    @property
    def is_sim(self) -> bool:
        return self.target in SIM_TARGETS

    @property
    def is_ftdi(self) -> bool:
        return self.target == "sim+ftdi" or self.target.startswith("ftdi://")

    @property
    def url(self) -> str:
        """The transport URL: the target (sim+ftdi: the twin's), with the FTDI options."""
        base = TWIN_URL if self.target == "sim+ftdi" else self.target
        options = {
            k: int(v) if isinstance(v, bool) else v
            for k, v in (("freq", self.freq), ("clockstretching", self.clockstretching))
            if v is not None
        }
        if not options:
            return base
        return base + ("&" if "?" in base else "?") + urlencode(options)

    @classmethod
    def from_target(cls, target: str, address: int | None = None, board: str | None = None):
        if target == RP2EMU:
            factor = time_factor()
            caps = SIM_CAPABILITIES | {"master-write"}
            return cls(
                target,
                target,
                address or 0x72,
                board or "pico_sim",
                caps,
                reset_seconds=10.0 * factor,
                time_factor=factor,
            )
        if target in SIM_TARGETS:
            caps = SIM_CAPABILITIES | ({"master-write"} if target == "sim" else set())
            return cls(target, target, address or 0x72, board or "sim", caps)
        from ..transports import LAN_SCHEMES

        caps = {"reset"} | (set() if target.startswith(LAN_SCHEMES) else {"raw-ipmb"})
        return cls(target, target, address or 0x72, board or "sim", frozenset(caps))


def time_factor(default: float | None = None) -> float:
    """The emulated target's time factor: SATMC_TIME_FACTOR, else the emulator's default."""
    value = os.environ.get("SATMC_TIME_FACTOR")
    if value:
        try:
            factor = float(value)
        except ValueError:
            raise RigError(f"SATMC_TIME_FACTOR={value!r} is not a number") from None
        if factor < 1:
            raise RigError(f"SATMC_TIME_FACTOR={value!r}: at least 1 (a slower target)")
        return factor
    if default is not None:
        return default
    from ..sim.rp2emu import TIME_FACTOR

    return TIME_FACTOR


def load_rig(path: str | Path) -> Rig:
    p = Path(path)
    if not p.exists():
        raise RigError(f"no rig file {p}")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise RigError(f"{p}: not valid TOML: {e}") from e
    for key in ("target", "board"):
        if not isinstance(data.get(key), str):
            raise RigError(f"{p}: '{key}' must be a string")
    caps = data.get("capabilities", [])
    unknown = sorted(set(caps) - set(CAPABILITIES))
    if unknown:
        raise RigError(f"{p}: unknown capabilities {unknown}; known: {', '.join(CAPABILITIES)}")
    address = data.get("address", 0x72)
    if not isinstance(address, int) or address & 1 or not 0x10 <= address <= 0xEE:
        raise RigError(f"{p}: 'address' must be an even 8-bit IPMB address, got {address!r}")
    if data["target"] in SIM_TARGETS:
        caps = set(caps) | Rig.from_target(data["target"]).capabilities
    for key, kind in FTDI_KEYS.items():
        value = data.get(key)
        if value is not None and (type(value) is not kind):
            raise RigError(
                f"{p}: '{key}' must be {'an integer (Hz)' if kind is int else 'true or false'}"
            )
    serial = data.get("serial")
    if serial is not None and not (
        isinstance(serial, str) and serial.startswith(("serial://", "socket://"))
    ):
        raise RigError(f"{p}: 'serial' must be a serial:// or socket:// URL, got {serial!r}")
    rig = Rig(
        name=data.get("name", p.stem),
        target=data["target"],
        address=address,
        board=data["board"],
        capabilities=caps,
        reset_seconds=float(data.get("reset_seconds", 10.0)),
        time_factor=time_factor(float(data["time_factor"]))
        if "time_factor" in data
        else (time_factor() if data["target"] == RP2EMU else 1.0),
        freq=data.get("freq"),
        clockstretching=data.get("clockstretching"),
        serial=serial,
    )
    if rig.freq is not None or rig.clockstretching is not None:
        if not rig.is_ftdi:
            raise RigError(
                f"{p}: {', '.join(FTDI_KEYS)} apply to ftdi:// and sim+ftdi targets only"
            )
        from ..transports.ftdi import parse_url

        try:
            parse_url(rig.url)
        except SatmcError as e:
            raise RigError(f"{p}: {e}") from None
    return rig
