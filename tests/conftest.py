"""Shared fixtures: the simulated board (bus + firmware) and connections to it."""

from __future__ import annotations

import os
import tempfile

import pytest

from satmc.sim.simulator import Simulator
from satmc.transports import connect

# tests/firmware/ runs on MicroPython, through tests/test_firmware_micropython.py
collect_ignore = ["firmware"]


@pytest.fixture(scope="session")
def sim_dir():
    with tempfile.TemporaryDirectory(prefix="satmc-test-") as d:
        yield d


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
    s.stop()


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
