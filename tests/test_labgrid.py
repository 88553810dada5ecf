"""The lab: satmc rigs as labgrid places (satmc.labgrid), on a real labgrid coordinator and
exporters on 127.0.0.1, each rig's hardware a simulator (its IPMB socket as SatmcIPMB, its
serial line as a NetworkSerialPort). The HIL suite runs through --lg-env."""

from __future__ import annotations

import shutil

import pytest

from satmc.labgrid import SatmcIPMB
from tests.labgrid_lab import BIN, Lab

pytestmark = pytest.mark.timeout(300)
SLICE = ["hil/test_conformance.py"]


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
    rig = lab.add_rig("satmc-sim-1")
    lab.client("acquire", place=rig.place)
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
    rigs = [lab.add_rig("satmc-sim-2"), lab.add_rig("satmc-sim-3")]
    for rig in rigs:
        lab.client("acquire", place=rig.place)
    try:
        procs = [lab.hil(rig, SLICE) for rig in rigs]  # two processes, both running
        results = [_result(p) for p in procs]
    finally:
        for rig in rigs:
            lab.client("release", place=rig.place)
    for code, out in results:
        assert code == 0, out
        assert " passed" in out and "failed" not in out, out


def test_a_place_not_acquired_is_refused_by_the_preflight(lab):
    rig = lab.add_rig("satmc-sim-4")
    code, out = _result(lab.hil(rig, SLICE))
    assert code == 4, out
    assert "HIL preflight" in out or "HIL: labgrid" in out, out


def test_a_bad_ipmb_resource_is_one_line():
    with pytest.raises(ValueError, match="use sim://SOCKET or ftdi://"):
        SatmcIPMB(None, "ipmb", url="/dev/ttyACM0")
    with pytest.raises(ValueError, match="even 8-bit IPMB address"):
        SatmcIPMB(None, "ipmb", url="sim://x", address=0x73)
