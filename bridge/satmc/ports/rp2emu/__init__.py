"""The official MicroPython rp2 image on an emulated RP2040: the runner and its inputs.

    inputs = rp2emu.inputs()          # (uf2, bootrom): RP2_UF2, RP2_BOOTROM, checked
    cmd = rp2emu.command(uf2, bootrom, flash_state, socket, config)

The runner (runner.js, Node.js) is rp2040js, pinned in package.json/package-lock.json
here, with what the emulator lacks written in this folder: I2C target mode of the
DW_apb_i2c block (i2c_target.js), a SoftI2C bus decoded from its pins (soft_i2c.js),
flash erase/program applied and kept in a file per board, reboot on watchdog expiry and
machine.reset(), pull-ups, ADC and pin levels from the simulator. It speaks the bus
protocol on the constants of wire.json (python -m satmc.ports writes it).

`npm ci` installs the pinned package into node_modules/ here on first use (install());
the inputs are not part of the project: RP2_UF2 names the MicroPython RPI_PICO image
(v1.28.0 or later, from micropython.org), RP2_BOOTROM the RP2040 B1 boot ROM.
satmc.sim.rp2emu runs a board on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from ...errors import SatmcError

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "runner.js"
PACKAGE = "rp2040js"
ENV_UF2 = "RP2_UF2"
ENV_BOOTROM = "RP2_BOOTROM"
BOOTROM_SIZE = 16384
UF2_HELP = (
    "download the MicroPython image for RPI_PICO (v1.28.0 or later) from "
    "https://micropython.org/download/RPI_PICO/"
)
BOOTROM_HELP = "the RP2040 B1 boot ROM image (raspberrypi/pico-bootrom, 16384 bytes)"


class Rp2emuError(SatmcError):
    """The emulated RP2040 cannot run: an input, Node.js or the pinned package is missing."""


def inputs() -> tuple[Path, Path]:
    """The MicroPython image and the boot ROM named by RP2_UF2 and RP2_BOOTROM."""
    found = []
    for env, what in ((ENV_UF2, UF2_HELP), (ENV_BOOTROM, BOOTROM_HELP)):
        value = os.environ.get(env)
        if not value:
            raise Rp2emuError(f"{env} is not set: name {what}")
        p = Path(value)
        if not p.is_file():
            raise Rp2emuError(f"{env}={value} is not a file: name {what}")
        found.append(p)
    uf2, bootrom = found
    if uf2.stat().st_size % 512 or uf2.read_bytes()[:4] != b"UF2\n":
        raise Rp2emuError(f"{ENV_UF2}={uf2} is not a UF2 image: {UF2_HELP}")
    if bootrom.stat().st_size != BOOTROM_SIZE:
        raise Rp2emuError(f"{ENV_BOOTROM}={bootrom} is not a 16 KB boot ROM: {BOOTROM_HELP}")
    return uf2, bootrom


def missing() -> str | None:
    """Why the target cannot run here (a test's skip reason), or None."""
    try:
        inputs()
        node()
    except Rp2emuError as e:
        return str(e)
    return None


def node() -> str:
    exe = shutil.which("node")
    if not exe or not shutil.which("npm"):
        raise Rp2emuError("Node.js and npm are needed (Debian: apt-get install nodejs npm)")
    return exe


def _lock_digest() -> str:
    return hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()[:16]


def install() -> None:
    """npm ci into node_modules/ here, once per package-lock.json."""
    node()
    stamp = HERE / "node_modules" / ".satmc-lock"
    if stamp.is_file() and stamp.read_text() == _lock_digest():
        return
    r = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise Rp2emuError(f"npm ci in {HERE} failed: {tail[0]}")
    stamp.write_text(_lock_digest())


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def command(uf2: Path, bootrom: Path, flash_state: Path, socket: str, config: dict) -> list[str]:
    """The runner's command line (install() first)."""
    return [
        node(),
        str(RUNNER),
        "--uf2",
        str(uf2),
        "--bootrom",
        str(bootrom),
        "--flash",
        str(flash_state),
        "--vbus",
        socket,
        "--config",
        json.dumps(config, separators=(",", ":")),
    ]
