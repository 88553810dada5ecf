"""pytest plugin of the HIL suite: one suite, pointed at the simulator or at a real rig.

    pytest hil                                        # the simulated board (default)
    pytest hil --target sim+ftdi                      # ... through pyftdi and the FT232H twin
    pytest hil --target ftdi://ftdi:232h/1 --address 0x72 --board pico
    pytest hil --rig hil/rigs/pico-ft232h.toml

Fixtures: `rig` (what and where), `board` (the board file: expected values), `dut` (a
connection to the device under test), `hil_sim` (the Simulator, or None on a real
rig), `faults` (bus fault injection, cleared after each test), `stimulus` (physical
values of the simulation, restored after each test). A test marked
`@pytest.mark.needs("faults")` is reported as not applicable, with the reason, on a
rig without that capability. On a rig that records the bus, every failing test
leaves its trace as <results>/<test>.pcap (decode: tshark -d 'i2c.message,ipmi').
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from ..board import load_board
from ..transports import connect
from ..vbus.pcap import write_pcap
from .rig import CAPABILITIES, Rig, load_rig


def pytest_addoption(parser):
    g = parser.getgroup("satmc HIL")
    g.addoption(
        "--target", help="sim (default), sim+readback, sim+ftdi, or ftdi://..., serial://..."
    )
    g.addoption("--address", help="the satellite's 8-bit IPMB address (default 0x72)")
    g.addoption("--board", help="board file name or path giving the expected values")
    g.addoption("--rig", help="a rig file (hil/rigs/*.toml): target, board, capabilities")
    g.addoption("--hil-results", default="hil-results", help="where failing tests' traces go")
    g.addoption(
        "--firmware-mutant",
        help="run the simulator on a deliberately broken firmware (satmc.hil.mutants)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        f"needs(*capabilities): the test needs rig capabilities ({', '.join(CAPABILITIES)})",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"_hil_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def rig(pytestconfig) -> Rig:
    opt = pytestconfig.getoption
    if opt("--rig"):
        r = load_rig(opt("--rig"))
    else:
        address = int(opt("--address"), 0) if opt("--address") else None
        r = Rig.from_target(opt("--target") or "sim", address=address, board=opt("--board"))
    return r


@pytest.fixture(scope="session")
def board(rig):
    return load_board(rig.board)


@pytest.fixture(scope="session")
def hil_sim(rig, pytestconfig):
    """The simulated board when the rig is the simulator, else None."""
    mutant = pytestconfig.getoption("--firmware-mutant")
    if not rig.is_sim:
        if mutant:
            pytest.exit("--firmware-mutant needs a simulated target", returncode=4)
        yield None
        return
    from ..sim.simulator import Simulator
    from .mutants import make_mutant

    with tempfile.TemporaryDirectory(prefix="satmc-hil-") as tmp:
        firmware = make_mutant(mutant, Path(tmp)) if mutant else None
        sim = Simulator(
            rig.board,
            socket_path=f"{tmp}/sim.sock",
            build_dir=Path(tmp) / "build",
            firmware_dir=firmware,
        )
        sim.start()
        try:
            yield sim
        finally:
            sim.stop()


@pytest.fixture(scope="session")
def dut_connect(rig, hil_sim):
    """connect(**kwargs) -> a new connection to the device under test."""
    if hil_sim is None:
        return lambda **kw: connect(rig.url, address=rig.address, **kw)
    if rig.target == "sim+ftdi":
        return lambda **kw: connect(rig.url, address=rig.address, twin=hil_sim.socket_path, **kw)
    readback = rig.target == "sim+readback"
    return lambda **kw: connect(hil_sim.url, address=rig.address, readback=readback, **kw)


@pytest.fixture
def dut(dut_connect):
    """A connection to the device under test (python-ipmi Ipmi + raw requests)."""
    with dut_connect() as sat:
        yield sat


@pytest.fixture(autouse=True)
def _rig_capabilities(request, rig):
    for mark in request.node.iter_markers("needs"):
        missing = [c for c in mark.args if c not in rig.capabilities]
        if missing:
            pytest.skip(f"not applicable on rig {rig.name!r}: needs {', '.join(missing)}")


@pytest.fixture(autouse=True)
def _trace_on_failure(request, pytestconfig):
    """Keep the bus trace of a failing HIL test (one using the device) as a pcap file."""
    if not {"dut", "hil_sim", "faults"} & set(request.fixturenames):
        yield
        return
    hil_sim = request.getfixturevalue("hil_sim")
    if hil_sim is None:
        yield
        return
    buses = hil_sim.server.buses
    start = {name: bus.trace_seq for name, bus in buses.items()}
    yield
    rep = getattr(request.node, "_hil_call", None)
    if rep is None or not rep.failed:
        return
    records = []
    for name, bus in buses.items():
        records += bus.records_since(start[name])[1]
    records.sort(key=lambda r: r.time)
    out = Path(pytestconfig.getoption("--hil-results"))
    out.mkdir(parents=True, exist_ok=True)
    path = out / (re.sub(r"[^\w.-]+", "_", request.node.nodeid) + ".pcap")
    write_pcap(str(path), records)
    rep.sections.append(("bus trace", f"{len(records)} records in {path}"))


@pytest.fixture
def faults(hil_sim, rig):
    """Inject faults on the simulator's buses; all cleared after the test."""
    if hil_sim is None:
        pytest.skip(f"not applicable on rig {rig.name!r}: needs faults")
    used = set()
    buses = hil_sim.server.buses
    start = {name: dict(bus.faults.fired) for name, bus in buses.items()}

    class Faults:
        def inject(self, rule: dict, bus: str = "ipmb") -> None:
            used.add(bus)
            buses[bus].faults.add(rule)

        def clear(self, bus: str = "ipmb") -> None:
            buses[bus].faults.clear()

        def fired(self, kind: str, bus: str = "ipmb") -> int:
            """How often a fault of this kind hit during this test."""
            return buses[bus].faults.fired[kind] - start[bus][kind]

    yield Faults()
    for bus in used:
        hil_sim.server.buses[bus].faults.clear()


@pytest.fixture
def stimulus(hil_sim, rig):
    """Set physical values of the simulated board's devices; restored after the test."""
    if hil_sim is None:
        pytest.skip(f"not applicable on rig {rig.name!r}: needs stimulus")
    saved: dict[str, dict] = {}

    class Stimulus:
        def set(self, device: str, **values) -> dict:
            state = hil_sim.control("device", name=device)["state"]
            saved.setdefault(device, {k: state[k] for k in values if k in state})
            return hil_sim.control("device", name=device, set=values)["state"]

        def get(self, device: str) -> dict:
            return hil_sim.control("device", name=device)["state"]

    yield Stimulus()
    for device, values in saved.items():
        hil_sim.control("device", name=device, set=values)
