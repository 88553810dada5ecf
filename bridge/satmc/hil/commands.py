"""The firmware's command table as the firmware itself builds it: the modules a board
loads, imported on the MicroPython unix port, asked for dispatch.keys().

    registered_commands(board)            # {(netfn, cmd), ...}: what the board serves

The conformance tests compare what a satellite reports (Get Command Support) with this:
the same sources, registered by the same decorators, with no list kept by hand. A board
with sensors also loads the sensor modules (ipmc.main.build does the same).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..board import FIRMWARE_DIR, Board
from ..errors import SatmcError
from ..ports import unix
from ..sim.simulator import micropython_command

SENSOR_MODULES = ("sdr", "sensors", "events")  # the ones that register commands
BOOT_MODULES = ("hpm",)  # registered by main.build() on every board, after boot-only code

_PROGRAM = """
import ipmc.main
for name in {extra!r}:
    __import__("ipmc." + name)
from ipmc import dispatch
print(" ".join(str(k) for k in sorted(dispatch.keys())))
"""


def registered_commands(board: Board, firmware_dir: Path = FIRMWARE_DIR) -> set[tuple[int, int]]:
    """(netfn, cmd) of every command the firmware registers on this board."""
    extra = BOOT_MODULES + (SENSOR_MODULES if board.config["sensors"] else ())
    env = dict(os.environ)
    env["MICROPYPATH"] = f"{firmware_dir}:{unix.machine_path()}:.frozen"
    r = subprocess.run(
        micropython_command(None, "-c", _PROGRAM.format(extra=extra)),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    if r.returncode:
        raise SatmcError(f"the firmware's command table could not be read:\n{r.stderr.strip()}")
    return {(int(k) >> 8, int(k) & 0xFF) for k in r.stdout.split()}
