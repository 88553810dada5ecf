"""Shared fixtures: the simulated board (bus + firmware) and connections to it."""

from __future__ import annotations

import os
import shutil
import tempfile
import time

import pytest

from satmc.ipmi.client import get_sensor_reading, read_counters
from satmc.sim.simulator import Simulator
from satmc.transports import connect

# tests/firmware/ runs on MicroPython, through tests/test_firmware_micropython.py
collect_ignore = ["firmware"]


@pytest.fixture(scope="session")
def sim_dir():
    with tempfile.TemporaryDirectory(prefix="satmc-test-") as d:
        yield d


@pytest.fixture
def full16(sim_dir):
    """full16("name") starts chassis/full16.yaml (16 satellites on one IPMB) under
    sim_dir, its sockets and builds named `name`; stopped after the test."""
    from satmc.sim.chassis import ChassisSimulator

    started = []

    def start(name: str, timeout: float = 300):
        chassis = ChassisSimulator(
            "full16",
            socket_path=os.path.join(sim_dir, f"{name}.sock"),
            build_dir=os.path.join(sim_dir, f"build-{name}"),
        )
        started.append(chassis)
        return chassis.start(timeout=timeout)

    yield start
    for chassis in started:
        chassis.stop()


@pytest.fixture(scope="module")
def sim(sim_dir, request):
    """The simulated board from boards/sim.yaml, one per test module."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    s = Simulator(
        "sim",
        socket_path=os.path.join(sim_dir, f"{name}.sock"),
        build_dir=os.path.join(sim_dir, f"build-{name}"),
    )
    s.start()
    yield s
    try:
        absorbed = absorbed_faults(s)
    finally:
        s.stop()
    assert not absorbed, f"the firmware survived faults it should never meet: {absorbed}"


@pytest.fixture(scope="module")
def scanned_sim(sim):
    """`sim` once every sensor of its board has been scanned (its reading available: a
    tach's first reading counts a whole period), however slowly the loaded host boots it."""
    numbers = [s["number"] for s in sim.board.data["sensors"]]
    deadline = time.monotonic() + 30
    with connect(sim.url, address=sim.address) as sat:
        while True:
            # python-ipmi names bit 5 for its 0 value: set, the reading is unavailable
            waiting = [
                n for n in numbers if get_sensor_reading(sat, n).config.initial_update_in_progress
            ]
            if not waiting:
                return sim
            assert time.monotonic() < deadline, f"sensors {waiting} never read"
            time.sleep(0.05)


def absorbed_faults(sim) -> dict[str, int]:
    """Handler and task faults the firmware counted (and survived) since its last boot."""
    if not sim.alive():
        return {}
    with connect(sim.url, address=sim.address) as sat:
        counters = read_counters(sat)
    return {k: counters[k] for k in ("handler_errors", "task_errors") if counters[k]}


@pytest.fixture
def sat(sim):
    """A slave-capable BMC connection (responses arrive as master writes)."""
    with connect(sim.url, address=sim.address) as s:
        yield s


@pytest.fixture
def sat_readback(sim):
    """A master-only host connection (responses fetched by readback)."""
    with connect(sim.url, address=sim.address, readback=True) as s:
        yield s


def real_tool(name: str, package: str) -> str:
    """Path of a Debian tool the tests drive for real: skipped locally if missing, failed
    in CI (where .ci/run installs it)."""
    exe = shutil.which(name)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing; .ci/run installs it")
        pytest.skip(f"{name} not installed (apt-get install {package})")
    return exe


@pytest.fixture(scope="session")
def ipmitool():
    return real_tool("ipmitool", "ipmitool")


@pytest.fixture(scope="session")
def tshark():
    return real_tool("tshark", "tshark")


@pytest.fixture(scope="session")
def need_tool():
    """real_tool for tests that need several tools: need_tool("ipmi-raw", "freeipmi-tools")."""
    return real_tool
