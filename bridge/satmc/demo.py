"""`make demo`: the simulated board end to end, then everything started is stopped.

Starts the virtual bus and the firmware bundle of the board on the MicroPython unix
port, talks to it through the bridge as a slave-capable BMC and as a master-only host
(the way an FTDI adapter must) and through pyftdi on an emulated FT232H (satmc.twin),
and prints what a newcomer wants to see. Then the bench BMC (`satmc bmc`) in front of
a small simulated chassis, and stock `ipmitool -I lanplus sdr list` listing every
satellite's sensors through it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import demo_sensors, twin
from .errors import SatmcError
from .ipmi import client
from .ipmi.codes import NETFN_APP, SELF_TEST_OK, cc_text
from .sim.simulator import Simulator
from .transports import connect


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 60 - len(title)))


def run(board: str) -> int:
    with tempfile.TemporaryDirectory(prefix="satmc-demo-") as tmp:
        sock = str(Path(tmp) / "sim.sock")
        section(f"Starting the simulated board '{board}'")
        t0 = time.monotonic()
        with Simulator(board, socket_path=sock, build_dir=Path(tmp) / "build") as sim:
            print(
                f"firmware bundle: {sum(1 for _ in sim.bundle_dir.rglob('*.mpy'))} .mpy files, "
                f"running on the MicroPython unix port (up in {time.monotonic() - t0:.1f} s)"
            )
            print(f"virtual IPMB: {sim.url}, satellite at 0x{sim.address:02x}")
            with connect(sim.url, address=sim.address) as sat:
                section("Get Device ID (the BMC receives the answer as a master write)")
                dev = client.get_device_id(sat)
                rev = dev["device_revision"]
                print(f"  Device ID       : 0x{dev['device_id']:02x} revision {rev}")
                print(f"  Firmware        : {dev['firmware']}")
                print(f"  IPMI version    : {dev['ipmi_version']}")
                print(f"  Manufacturer ID : {dev['manufacturer_id']}")
                print(f"  Product ID      : 0x{dev['product_id']:04x}")
                print(f"  Capabilities    : {', '.join(dev['capabilities']) or 'none yet'}")
                result, detail = client.get_self_test_results(sat)
                st = "passed" if result == SELF_TEST_OK else f"FAILED {result:02x}{detail:02x}"
                print(f"  Self test       : {st}")
                print(f"  Device GUID     : {client.get_device_guid(sat).hex()}")
            with connect(sim.url, address=sim.address, readback=True) as sat:
                section("The same from a master-only host (answers fetched by readback)")
                t = time.monotonic()
                n = 20
                for _ in range(n):
                    client.get_device_id(sat)
                ms = (time.monotonic() - t) / n * 1000
                print(f"  {n} x Get Device ID by readback: {ms:.1f} ms each")
                cc, _ = sat.raw(NETFN_APP, 0x55)
                print(f"  an unknown command answers 0x{cc:02x} ({cc_text(cc)})")
                section("Satellite counters")
                c = client.read_counters(sat)
                print(
                    f"  requests {c['requests']}, delivered by master write {c['sent']}, "
                    f"by readback {c['read_back']}, malformed frames dropped {c['malformed']}"
                )
            section("Through an FT232H under real pyftdi (the FTDI twin, no hardware)")
            with connect("ftdi://ftdi:232h/1", address=sim.address, twin=sim.socket_path) as sat:
                chip = twin.installed().chip("SATMC01")
                chip.reset_counters()
                n = 20
                for _ in range(n):
                    client.get_device_id(sat)
                rt = chip.counters["round_trips"] / n
                print(f"  {n} x Get Device ID: {rt:.1f} USB round trips each (readback polls too)")
            twin.uninstall()
            with connect(sim.url, address=sim.address) as sat:
                section("Sensors, thresholds and events")
                demo_sensors.run(sat, sim)
        bench_bmc(Path(tmp))
        section("Stopping")
        print("simulators and firmware stopped. Next: 'make sim' keeps one running for satmc.")
    return 0


DEMO_CHASSIS = "bench2"


def bench_bmc(tmp: Path, chassis: str = DEMO_CHASSIS) -> None:
    """`satmc bmc --chassis` in a process of its own, and stock ipmitool -I lanplus."""
    from .sim.chassis import ChassisSimulator

    section(f"The bench BMC in front of the simulated chassis '{chassis}'")
    ipmitool = shutil.which("ipmitool")
    if ipmitool is None:
        print("  ipmitool is not installed (apt-get install ipmitool): skipped")
        return
    users = tmp / "bmc-users.toml"
    password = os.urandom(6).hex()
    users.write_text(f'[[user]]\nname = "admin"\npassword = "{password}"\n'
                     'privilege = "administrator"\n')  # fmt: skip
    users.chmod(0o600)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with ChassisSimulator(chassis, socket_path=str(tmp / "chassis.sock"),
                          build_dir=tmp / "chassis-build") as sim:  # fmt: skip
        sats = ",".join(f"0x{s.address:02x}" for s in sim.satellites)
        print(f"  satellites {sats} on one virtual IPMB ({sim.url})")
        cmd = [sys.executable, "-m", "satmc.cli.main", "-t", sim.url, "bmc", "--port",
               str(port), "--users", str(users), "--satellites", sats]  # fmt: skip
        print(f"  satmc -t {sim.url} bmc --port {port} --users bmc-users.toml --satellites {sats}")
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"))
        bmc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            lan = [ipmitool, "-I", "lanplus", "-H", "127.0.0.1", "-p", str(port), "-U", "admin",
                   "-P", password]  # fmt: skip
            deadline = time.monotonic() + 60
            while subprocess.run([*lan, "-N", "1", "-R", "1", "mc", "info"],
                                 capture_output=True).returncode:  # fmt: skip
                if bmc.poll() is not None or time.monotonic() > deadline:
                    raise SatmcError(f"the bench BMC did not start: {bmc.stderr.read()[-300:]}")
                time.sleep(0.2)
            for args in (["mc", "info"], ["sdr", "list"]):
                print(f"\n$ ipmitool -I lanplus -H 127.0.0.1 -p {port} -U admin -P ... "
                      + " ".join(args))  # fmt: skip
                r = subprocess.run([*lan, *args], capture_output=True, text=True, timeout=120)
                lines = r.stdout.splitlines()
                print("\n".join(lines[:8] if args[0] == "mc" else lines) or r.stderr)
        finally:
            bmc.terminate()
            bmc.wait(10)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m satmc.demo")
    p.add_argument("--board", default="sim")
    args = p.parse_args(argv)
    try:
        return run(args.board)
    except SatmcError as e:
        print(f"demo: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
