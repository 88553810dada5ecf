"""Seconds to upgrade the sim board's bundle with PICMG HPM.1, against the wire limit.

Two paths, each a whole upgrade (prepare, upload, finish, activate, the reset into the
new bundle and its self test) of the same image:
  - satmc over the virtual IPMB paced at 100 kHz (python-ipmi, master-write answers,
    23 image bytes per Upload Firmware Block); the wire limit is the bus's own account
    of the time its bytes took (both directions, with start, address and ACK bits);
  - stock `ipmitool -I serial-basic hpm upgrade FILE activate` on the board's pty (31
    bytes per block); the wire limit is the bytes the line carried both ways at 115200
    baud, 10 bits a byte (the pty itself is not paced, so that is what a USB serial at
    that rate would take).
No target exists for these figures (DESIGN.md names none): they are printed to be
watched, the ratio says how much of the time the wire is busy.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from satmc import hpm
from satmc.board import load_board
from satmc.bundle import build_bundle
from satmc.sim.simulator import Simulator
from satmc.transports import connect

BAUD = 115200


def _image(tmp: Path, version: str) -> bytes:
    board = load_board("sim")
    board.config["firmware_version"] = version
    return hpm.image(board, build_bundle(board, tmp / f"bundle-{version}"))


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-") as d:
        tmp = Path(d)
        data = _image(tmp, "9.1.0")
        payload = len(hpm.component_payload(data))
        sim = Simulator("sim", socket_path=str(tmp / "s.sock"), build_dir=tmp / "build")
        sim.start()
        try:
            sim.control("pacing", on=True)
            sim.control("reset_stats", bus="ipmb")
            t0 = time.perf_counter()
            with connect(sim.url, address=sim.address) as sat:
                r = hpm.upgrade(sat, data)
            dt = time.perf_counter() - t0
            wire = sim.control("stats", bus="ipmb")["wire_time"]
            sim.control("pacing", on=False)
            print(
                f"HPM.1 upgrade over IPMB paced at 100 kHz (satmc)  : {dt:6.1f} s for "
                f"{payload} bytes in {r['blocks']} blocks; wire limit {wire:.1f} s "
                f"-> ratio {wire / dt:.2f} (no target)"
            )
            ipmitool = shutil.which("ipmitool")
            if ipmitool is None:
                print("ipmitool not installed (apt-get install ipmitool): no serial figure")
                return
            path = tmp / "up.hpm"
            path.write_bytes(_image(tmp, "9.2.0"))
            line = sim.serial
            before = line.bytes_to_firmware + line.bytes_from_firmware
            t0 = time.perf_counter()
            cmd = [ipmitool, "-I", "serial-basic", "-D", f"{line.pty_path}:{BAUD}"]
            p = subprocess.run(
                [*cmd, "hpm", "upgrade", str(path), "activate"],
                capture_output=True,
                text=True,
                timeout=600,
            )
            dt = time.perf_counter() - t0
            if p.returncode:
                print(f"ipmitool hpm upgrade failed: {(p.stdout + p.stderr).strip()[-300:]}")
                return
            sent = line.bytes_to_firmware + line.bytes_from_firmware - before
            wire = sent * 10 / BAUD
            print(
                f"HPM.1 upgrade over serial-basic (stock ipmitool)  : {dt:6.1f} s for "
                f"{payload} bytes; {sent} bytes on the line, wire limit {wire:.1f} s at "
                f"{BAUD} baud -> ratio {wire / dt:.2f} (no target)"
            )
        finally:
            sim.stop()
