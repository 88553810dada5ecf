"""PICMG HPM.1 upgrade through the bench BMC: stock ipmitool -I lanplus bridged with -t
to a simulated satellite, and satmc flash --via lan:// and lanplus://. Each test has a
satellite of its own (an upgrade changes which bundle boots) and a bench BMC in front of
it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from bmc_lan import Server, load, users_file
from bmc_lan import ipmitool as lan_ipmitool
from test_hpm import NEW, OLD, _board, expect, new_image, revision

from satmc import hpm
from satmc.bmc.chassis import BenchBmc
from satmc.eventlog import EventLog
from satmc.ipmi import client, codes
from satmc.sim.simulator import Simulator
from satmc.transports import connect

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def board(tmp_path):
    s = Simulator(
        str(_board(tmp_path, upgrade_deadline_ms=4000)),
        socket_path=str(tmp_path / "s.sock"),
        build_dir=tmp_path / "build",
    )
    s.start()
    yield s
    s.stop()


@pytest.fixture
def bmc(board, tmp_path):
    d = tmp_path / "bmc"
    d.mkdir()
    chassis = BenchBmc(
        board.url, [board.address], log=EventLog(d / "events.sqlite", 256), cache_dir=d
    )
    s = Server(load(users_file(d)), responder=chassis)
    yield s
    s.close()


def test_ipmitool_lanplus_hpm_upgrade_bridged_to_the_satellite(ipmitool, board, bmc, tmp_path):
    path = tmp_path / "new.hpm"
    path.write_bytes(new_image(tmp_path))
    target = ("-b", "0", "-t", f"0x{board.address:02x}")
    r = lan_ipmitool(
        ipmitool, bmc.port, *target, "hpm", "upgrade", str(path), "activate", timeout=400
    )
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "Firmware upgrade procedure successful" in out
    r = lan_ipmitool(ipmitool, bmc.port, *target, "mc", "info")
    assert r.returncode == 0, r.stderr
    assert f"Firmware Revision         : {expect(NEW)}" in r.stdout
    with connect(board.url, address=board.address) as sat:
        assert revision(sat) == expect(NEW)


@pytest.mark.parametrize("scheme", ["lan", "lanplus"])
def test_satmc_flash_via_lan(board, bmc, tmp_path, scheme):
    url = f"{scheme}://admin@127.0.0.1:{bmc.port}"
    env = dict(os.environ, SATMC_LAN_PASSWORD="adminpw")
    with connect(board.url, address=board.address) as sat:
        assert revision(sat) == expect(OLD)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "satmc.cli.main",
            "-a",
            f"0x{board.address:02x}",
            "flash",
            "--board",
            "sim",
            "--via",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=400,
        env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "answers as sim" in r.stdout
    with connect(board.url, address=board.address) as sat:
        # satmc flash builds this tree's bundle (the version it has): the board now runs
        # the uploaded bundle and holds the one it had as its rollback
        assert revision(sat) == expect(OLD)
        got = client.get_component_properties(sat, 0, codes.HPM_PROP_ROLLBACK_VERSION)
        assert got[:2] == bytes(hpm.revision(OLD, [0, 0, 0, 0])[:2])
        assert client.query_self_test_results(sat) == (codes.SELF_TEST_OK, 0)


@pytest.mark.parametrize(
    "scheme, where",
    [
        ("lan", ["flash", "--ipmb-address", "0x7a"]),
        ("lanplus", ["flash", "--ipmb-address", "0x7a"]),
        ("lanplus", ["-a", "0x7a", "flash"]),  # the global -a names the satellite too
    ],
)
def test_satmc_flash_via_lan_to_nothing_is_one_line(board, bmc, scheme, where):
    """Nothing at 0x7a behind the BMC: its Send Message answers 83h (NAK on write), which
    python-ipmi raises (lan) and satmc reads from pyghmi (lanplus); satmc says so in one
    line, a non-zero exit. Named with -a, the upgrade goes there too, not to the board
    file's address (where the sim board stands)."""
    r = subprocess.run(
        [sys.executable, "-m", "satmc.cli.main", *where, "--board", "sim"]
        + ["--via", f"{scheme}://admin@127.0.0.1:{bmc.port}"],
        capture_output=True,
        text=True,
        timeout=400,
        env=dict(os.environ, SATMC_LAN_PASSWORD="adminpw"),
    )
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    [line] = r.stderr.splitlines()
    assert line.startswith("satmc: error: netFn 0x2c cmd 0x2e to IPMB 0x7a:"), line
    assert "the satellite at 0x7a did not take it" in line, line
    assert "completion code 0x83 (NAK on write)" in line, line
