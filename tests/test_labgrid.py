"""The lab: satmc rigs as labgrid places (satmc.labgrid), on a real labgrid coordinator and
exporters on 127.0.0.1, each rig's hardware a simulator (its IPMB socket as SatmcIPMB, its
serial line as a NetworkSerialPort). The HIL suite runs through --lg-env."""

from __future__ import annotations

import os
import shutil

import pytest

from satmc.labgrid import SatmcIPMB
from tests.labgrid_lab import BIN, Lab

pytestmark = pytest.mark.timeout(300)
# a slice: Get Device ID against the board file, completion codes, sequence numbers, and
# Cold Reset (which the places' tags do not allow: reported not applicable)
SLICE = ["hil/test_conformance.py", "-k", "device_id_matches or c7 or sequence or cold_reset"]


def _binaries_absent():
    for name in ("labgrid-coordinator", "labgrid-exporter", "labgrid-client"):
        if not (BIN / name).exists() and not shutil.which(name):
            return name
    return None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    missing = _binaries_absent()
    if missing:
        pytest.skip(f"{missing} is not installed (labgrid, requirements.txt)")
    with Lab(tmp_path_factory.mktemp("lab")) as lab:
        yield lab


def _result(proc) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=240)
    return proc.returncode, out


def test_the_suite_runs_on_an_acquired_place_and_a_second_client_is_refused(lab):
    [rig] = lab.add_rigs(["satmc-sim-1"])
    lab.acquire(rig.place)
    try:
        code, out = _result(lab.hil(rig, SLICE + ["-rs"]))
        assert code == 0, out
        assert " passed" in out and "failed" not in out, out
        # the place's tags are the capabilities: no "reset" on this place
        assert "not applicable on rig 'satmc-sim-1': needs reset" in out, out

        other = lab.client("acquire", place=rig.place, user="someone-else", check=False)
        assert other.returncode != 0
        assert "already acquired" in other.stderr + other.stdout, other.stderr
        code, out = _result(lab.hil(rig, SLICE, user="someone-else"))
        assert code == 4, out  # the preflight's exit: not this user's place
        assert "not acquired by your user" in out, out
    finally:
        lab.client("release", place=rig.place)
    # released: now the other user gets it
    lab.client("acquire", place=rig.place, user="someone-else")
    lab.client("release", place=rig.place, user="someone-else")


def test_two_places_run_at_once(lab):
    rigs = lab.add_rigs(["satmc-sim-2", "satmc-sim-3"])
    for rig in rigs:
        lab.acquire(rig.place)
    try:
        procs = [lab.hil(rig, SLICE) for rig in rigs]  # two processes, both running
        results = [_result(p) for p in procs]
    finally:
        for rig in rigs:
            lab.client("release", place=rig.place)
    for code, out in results:
        assert code == 0, out
        assert " passed" in out and "failed" not in out, out


def test_a_bad_ipmb_resource_is_one_line():
    with pytest.raises(ValueError, match="use sim://SOCKET or ftdi://"):
        SatmcIPMB(None, "ipmb", url="/dev/ttyACM0")
    with pytest.raises(ValueError, match="even 8-bit IPMB address"):
        SatmcIPMB(None, "ipmb", url="sim://x", address=0x73)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    from satmc.sim.simulator import Simulator

    d = tmp_path_factory.mktemp("lg-sim")
    s = Simulator("sim", socket_path=str(d / "sim.sock"), build_dir=d / "build")
    s.start()
    yield s
    s.stop()


def _target(name):
    from labgrid import Target

    return Target(name)


def test_the_driver_reaches_the_satellite_over_the_serial_line_as_labgrid_exports_it(sim):
    """The board's serial line as a NetworkSerialPort (what ser2net's export looks like to
    a client; raw TCP here): Serial Basic Mode through SatmcIPMBDriver."""
    from labgrid.resource import NetworkSerialPort

    from satmc.labgrid import SatmcIPMBDriver

    t = _target("serial-rig")
    NetworkSerialPort(t, "serial", host="127.0.0.1", port=sim.serial.port, protocol="raw")
    drv = SatmcIPMBDriver(t, "ipmb")
    assert drv.url == f"socket://127.0.0.1:{sim.serial.port}"
    t.activate(drv)
    assert drv.answering()
    with drv.connect() as sat:
        assert sat.ipmi.get_device_id().device_id == sim.board.config["device"]["device_id"]
    t.cleanup()


def test_the_strategy_reaches_answering_and_says_why_it_cannot_switch_off(sim):
    from labgrid.strategy import StrategyError

    from satmc.labgrid import SatmcIPMBDriver, SatmcStrategy, Status

    t = _target("sim-rig")
    SatmcIPMB(t, "ipmb", url=sim.ipmb_url, address=0x72)
    SatmcIPMBDriver(t, "ipmb")
    strategy = SatmcStrategy(t, "strategy", board="sim", flash=False)
    strategy.transition("answering")  # powered, micropython, verified against the bundle
    assert strategy.status == Status.answering
    other = SatmcStrategy(_target_with_ipmb(sim), "strategy", board="sim")
    with pytest.raises(StrategyError) as e:
        other.transition("off")
    assert "no power driver" in str(e.value.__cause__)
    t.cleanup()


def _target_with_ipmb(sim):
    from satmc.labgrid import SatmcIPMBDriver

    t = _target("sim-rig-2")
    SatmcIPMB(t, "ipmb", url=sim.ipmb_url)
    SatmcIPMBDriver(t, "ipmb")
    return t


def test_a_bench_bmc_resource_names_what_it_needs(sim):
    from satmc.labgrid import SatmcBMC, SatmcIPMBDriver

    t = _target("bmc-rig")
    SatmcBMC(t, "bmc", host="127.0.0.1", port=6230, user="lab", address=0x74)
    drv = SatmcIPMBDriver(t, "ipmb")
    # RMCP+ unless the resource says otherwise, as ipmitool users write -I lanplus
    assert drv.url == "lanplus://lab@127.0.0.1:6230" and drv.ipmb_address == 0x74
    t.activate(drv)  # the session itself: test_the_suite_runs_through_the_bench_bmc
    t.cleanup()
    t = _target("bmc-rig-15")
    SatmcBMC(t, "bmc", host="127.0.0.1", port=6230, user="lab", protocol="lan")
    drv = SatmcIPMBDriver(t, "ipmb")
    assert drv.url == "lan://lab@127.0.0.1:6230" and drv.ipmb_address == 0x72
    t.activate(drv)
    t.cleanup()
    with pytest.raises(ValueError, match="SatmcBMC protocol 'ssh': use one of lan, lanplus"):
        SatmcBMC(_target("bmc-rig-bad"), "bmc", host="127.0.0.1", protocol="ssh")


def test_the_suite_runs_through_the_bench_bmc(lab):
    """The remote IPMB path: the place's SatmcBMC (a `satmc bmc` in front of the simulator,
    IPMI over LAN on UDP, lanplus:// as the resource's default protocol) is what the
    suite's connections go through."""
    [rig] = lab.add_rigs(["satmc-sim-bmc"], bmc=True)
    lab.acquire(rig.place)
    # not the sequence-number tests: they write raw IPMB frames, and behind a BMC the IPMB
    # sequence numbers are the BMC's own
    slice_ = [SLICE[0], "-k", "device_id_matches or c7 or self_test or guid or cold_reset"]
    try:
        code, out = _result(lab.hil(rig, slice_ + ["-rs"]))
    finally:
        lab.client("release", place=rig.place)
    assert code == 0, out
    assert " passed" in out and "failed" not in out, out


@pytest.mark.parametrize(
    "name, group, resources",
    [
        ("exporter-sim.yaml", "satmc-sim-1", {"ipmb", "serial"}),
        ("exporter-pico-ft232h.yaml", "satmc-pico-1", {"serial", "adapter", "power"}),
    ],
)
def test_the_shipped_exporter_files_load_as_labgrid_does(monkeypatch, name, group, resources):
    """labgrid renders an exporter file with Jinja, `#` starting a statement and `##` a
    comment: a file commented with `#` does not load at all."""
    from labgrid.remote.config import ResourceConfig

    from satmc.board import REPO

    monkeypatch.setenv("SATMC_SIM_SOCKET", "/run/satmc/sim.sock")
    monkeypatch.setenv("SATMC_SIM_SERIAL", "5000")
    env = {"env": os.environ, "isolated": False, "hostname": "rig-host", "name": "rig-host"}
    config = ResourceConfig(str(REPO / "hil" / "lab" / name), env)  # as the exporter passes
    assert resources <= set(config.data[group])
