"""The bench BMC in front of a simulated chassis (chassis/bench2.yaml: two sim boards and a
Pico on one IPMB): stock ipmitool -I lanplus and FreeIPMI list every satellite's
sensors, each reading bridged to its own satellite."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
from bmc_lan import Server, load, users_file
from bmc_lan import ipmitool as run_ipmitool

from satmc.bmc.chassis import BenchBmc
from satmc.eventlog import EventLog

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def chassis(tmp_path_factory):
    from satmc.sim.chassis import ChassisSimulator

    d = tmp_path_factory.mktemp("bench2")
    with ChassisSimulator("bench2", socket_path=str(d / "bench2.sock"), build_dir=d / "b") as c:
        yield c


@pytest.fixture(scope="module")
def bmc(chassis, tmp_path_factory):
    d = tmp_path_factory.mktemp("bmc-bench2")
    addresses = [s.address for s in chassis.satellites]
    responder = BenchBmc(chassis.url, addresses, log=EventLog(d / "ev.sqlite", 64), cache_dir=d)
    s = Server(load(users_file(d)), responder=responder)
    s.dir = d
    yield s
    s.close()


def lanplus(exe, bmc, *args):
    r = run_ipmitool(exe, bmc.port, *args, extra=("-N", "3"))
    assert r.returncode == 0, f"{args}: {r.stderr}"
    return r.stdout


def test_every_satellite_answers_through_the_bmc(bmc, chassis, ipmitool):
    for sat in chassis.satellites:
        out = lanplus(ipmitool, bmc, "-b", "0", "-t", f"0x{sat.address:02x}", "mc", "info")
        assert "Device ID" in out


def test_sdr_list_has_every_satellites_sensors_with_their_own_readings(bmc, chassis, ipmitool):
    chassis.control("device", address=0x74, name="temp0", set={"temperature": 40.0})
    try:
        deadline = time.monotonic() + 60
        while True:
            out = lanplus(ipmitool, bmc, "sdr", "list")
            temps = re.findall(r"^Board Temp\s*\|\s*(\d+) degrees C", out, re.M)
            if sorted(temps) == ["25", "40"]:
                break
            assert time.monotonic() < deadline, out
            time.sleep(0.2)
        assert out.count("Fan 1 ") == 2  # both sim boards; the Pico has no sensors
        presence = re.findall(r"^Sat (\w\w) Presence\s*\|\s*(0x\w\w)", out, re.M)
        assert presence == [("72", "0x01"), ("74", "0x01"), ("76", "0x01")]  # all present
        r = subprocess.run(
            ["ipmi-sensors", "-D", "LAN_2_0", "-h", f"127.0.0.1:{bmc.port}", "-u", "admin",
             "-p", "adminpw", "-l", "ADMIN", "-b", "--sdr-cache-directory", str(bmc.dir)],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert r.stdout.count("Board Temp") == 2 and "40.00" in r.stdout
    finally:
        chassis.control("device", address=0x74, name="temp0", set={"temperature": 25.0})


@pytest.mark.parametrize("scheme", ["lan", "lanplus"])
def test_satmc_scan_through_the_bmc_lists_it_and_every_satellite(bmc, chassis, scheme):
    """satmc scan over lan:// and lanplus://: Get Device ID bridged to each address (the
    BMC's own at 0x20); the empty addresses are the BMC's 83h, each sent once."""
    url = f"{scheme}://admin@127.0.0.1:{bmc.port}"
    r = subprocess.run(
        [sys.executable, "-m", "satmc.cli.main", "-t", url, "scan", "--first", "0x10",
         "--last", "0x7e", "--json"],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, SATMC_LAN_PASSWORD="adminpw"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    found = {d["address"]: d for d in json.loads(r.stdout)}
    assert sorted(found) == [0x20, *(s.address for s in chassis.satellites)]
    assert found[0x20]["device_id"] == 0x20  # the bench BMC itself
    assert {found[s.address]["device_id"] for s in chassis.satellites[:2]} == {0x01}
