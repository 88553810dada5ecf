"""Running a MicroPython program on the unix port against a virtual bus (test helper)."""

from __future__ import annotations

import os
import subprocess
import textwrap

from satmc.ports import unix
from satmc.sim.simulator import micropython_exe

WIRING = "ipmb=0,1,2,3;board=4,5"


def run_mpy(bus, program: str, timeout: float = 20) -> str:
    """Run program with the machine emulation wired to bus (a BusServer); its output."""
    env = dict(os.environ, MICROPYPATH=f"{unix.machine_path()}:.frozen", SATMC_VBUS=bus.path)
    env["SATMC_WIRING"] = WIRING
    r = subprocess.run(
        [micropython_exe(), "-c", textwrap.dedent(program)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return r.stdout + r.stderr
