"""pytest plugin of the HIL suite: one suite, pointed at the simulator or at a real rig.

    pytest hil                                        # the simulated board (default)
    pytest hil --hil-target sim+ftdi                  # ... through pyftdi and the FT232H twin
    pytest hil --hil-target rp2emu                    # the official rp2 image, emulated RP2040
    pytest hil --hil-target ftdi://ftdi:232h/1 --hil-address 0x72 --hil-board pico
    pytest hil --hil-rig hil/rigs/pico-ft232h.toml
    pytest hil --hil-chassis bench2                   # every test on every satellite of a chassis
    pytest hil --lg-env lab.yaml                      # a labgrid place (satmc.labgrid)

The options are namespaced (--hil-*); the short forms --target, --address, --board,
--rig and --firmware-mutant work too unless another plugin or conftest.py defines one
of them, which then keeps it (see pytest_load_initial_conftests below).

Before the first test, a session preflight opens the target and sends Get Device ID:
no adapter, no board or a wrong address end the run with one line (pytest.exit, exit
status 4) instead of an error per test. A real rig is locked for the run (satmc.hil.lock):
a second run on the same host driving the same adapter or serial port is refused,
naming the holder. A test that writes a FRU saves the original image under
<results>/fru-backup/ first (fixture `fru_backup`).

With --hil-chassis NAME|FILE the simulated chassis (satmc.sim.chassis) starts once and
every test that uses the rig runs once per satellite (test ids end in [SATELLITE-NAME]):
`rig`, `board`, `dut`, `hil_sim`, `stimulus` and `faults` are that satellite's (faults on
"ipmb" hit the shared backplane). `hil_chassis` is the ChassisSimulator (None without
the option), for tests about the whole chassis.

With --lg-env (labgrid's own option, from its pytest plugin) the rig is the environment's
"main" target, normally a RemotePlace acquired with labgrid-client: its SatmcIPMBDriver
gives the connections, its SatmcStrategy (if any) is taken to "answering" as the
preflight, and board, address and capabilities come from the place's tags (satmc-board,
satmc-address, satmc-capabilities) or the environment's options. The place lock is
labgrid's; the local rig lock is not taken.

Fixtures: `rig` (what and where; rig.seconds(s) scales a host timeout by the rig's time
factor), `board_sleep` (seconds on the board's clock), `board` (the board file), `dut` (a
connection to the device under test), `hil_sim` (the Simulator, or None on a real
rig), `faults` (bus fault injection, cleared after each test), `stimulus` (physical
values of the simulation, restored after each test). A test marked
`@pytest.mark.needs("faults")` is reported as not applicable, with the reason, on a
rig without that capability. On a rig that records the bus, every failing test
leaves its trace as <results>/<test>.pcap (decode: tshark -d 'i2c.message,ipmi').
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import pytest

from ..board import load_board
from ..errors import BusNackError, NoResponseError, SatmcError
from ..transports import LAN_SCHEMES, check_address, connect
from ..vbus.pcap import write_pcap
from .lock import RigLock
from .rig import CAPABILITIES, RP2EMU, Rig, load_rig

PREFLIGHT_EXIT = 4  # pytest's "usage error": the rig named cannot be driven
# the short forms, added where no other plugin or conftest.py defines them
SHORT_OPTIONS = {
    "--target": "hil_target",
    "--address": "hil_address",
    "--board": "hil_board",
    "--rig": "hil_rig",
    "--firmware-mutant": "hil_firmware_mutant",
}


def pytest_addoption(parser):
    g = parser.getgroup("satmc HIL")
    g.addoption(
        "--hil-target",
        help="sim (default), sim+readback, sim+ftdi, rp2emu, or ftdi://..., serial://...",
    )
    g.addoption("--hil-address", help="the satellite's 8-bit IPMB address (default 0x72)")
    g.addoption("--hil-board", help="board file name or path giving the expected values")
    g.addoption("--hil-rig", help="a rig file (hil/rigs/*.toml): target, board, capabilities")
    g.addoption(
        "--hil-results",
        default="hil-results",
        help="where failing tests' traces and FRU backups go",
    )
    g.addoption(
        "--hil-chassis",
        help="a chassis file name or path (chassis/): run the tests on each of its satellites",
    )
    g.addoption(
        "--hil-firmware-mutant",
        help="run the simulator on a deliberately broken firmware (satmc.hil.mutants)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """After every plugin and initial conftest.py has added its options: the short forms of
    ours that nobody else took (theirs win: a clash would stop pytest at start)."""
    result = yield
    taken = {name for group in parser._groups for opt in group.options for name in opt.names()}
    group = parser.getgroup("satmc HIL")
    for short, dest in SHORT_OPTIONS.items():
        if short not in taken:
            group.addoption(short, dest=dest, help=f"short for --{dest.replace('_', '-')}")
    return result


def pytest_configure(config):
    config.stash[_CHASSIS] = _load_chassis_option(config)  # a bad one: usage error, exit 4
    config.addinivalue_line(
        "markers",
        f"needs(*capabilities): the test needs rig capabilities ({', '.join(CAPABILITIES)})",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"_hil_{report.when}", report)
    return report


_CHASSIS = pytest.StashKey()
_LAB = pytest.StashKey()


def _lab_env(config):
    """labgrid's Environment with --lg-env (or $LG_ENV), else None."""
    try:
        from labgrid.pytestplugin.hooks import LABGRID_ENV_KEY
    except ImportError:
        return None
    return config.stash.get(LABGRID_ENV_KEY, None)


class _Lab:
    """The rig of a labgrid environment: its target, IPMB driver and strategy."""

    def __init__(self, config):
        from labgrid.exceptions import NoDriverFoundError

        from ..labgrid import rig_settings

        env = _lab_env(config)
        for other in ("hil_rig", "hil_target", "hil_address", "hil_board", "hil_chassis"):
            if config.getoption(other):
                raise SatmcError(
                    f"--lg-env names the rig; --{other.replace('_', '-')} does not go with it"
                )
        try:
            self.target = env.get_target("main")
        except Exception as e:  # labgrid's UserError, NoResourceFoundError: one line
            raise SatmcError(f"labgrid environment {env.config_file}: {e}") from None
        if self.target is None:
            raise SatmcError(f"labgrid environment {env.config_file} has no 'main' target")
        try:
            self.ipmb = self.target.get_driver("SatmcIPMBDriver", activate=False)
        except NoDriverFoundError:
            raise SatmcError(
                f"{env.config_file}: the main target has no SatmcIPMBDriver "
                "(imports: [satmc.labgrid])"
            ) from None
        try:
            self.strategy = self.target.get_driver("SatmcStrategy", activate=False)
        except NoDriverFoundError:
            self.strategy = None
        settings = rig_settings(self.target)
        caps = settings.get("capabilities", [])
        unknown = sorted(set(caps) - set(CAPABILITIES))
        if unknown:
            raise SatmcError(
                f"labgrid place: unknown capabilities {unknown}; known: {', '.join(CAPABILITIES)}"
            )
        remote = [r for r in self.target.resources if type(r).__name__ == "RemotePlace"]
        self.rig = Rig(
            name=remote[0].name if remote else self.target.name,
            target=self.ipmb.url,
            address=settings.get("address") or self.ipmb.ipmb_address,
            board=settings.get("board") or "sim",
            # frames of a test's own making reach the satellite unless a BMC bridges them
            capabilities=frozenset(caps)
            | (frozenset() if self.ipmb.url.startswith(LAN_SCHEMES) else {"raw-ipmb"}),
        )
        if settings.get("address"):
            self.ipmb.address = settings["address"]

    def preflight(self) -> None:
        """The strategy to "answering" (or the driver activated and one Get Device ID)."""
        if self.strategy is not None:
            self.strategy.transition("answering")
        else:
            self.target.activate(self.ipmb)


def _lab(config) -> _Lab:
    if _LAB not in config.stash:
        config.stash[_LAB] = _Lab(config)
    return config.stash[_LAB]


def _chassis_file(config):
    """The --hil-chassis Chassis (loaded once, in pytest_configure), or None."""
    return config.stash.get(_CHASSIS, None)


def _load_chassis_option(config):
    from ..board.chassis import load_chassis

    name = config.getoption("hil_chassis", None)
    if not name:
        return None
    for other in ("hil_rig", "hil_target", "hil_address", "hil_board", "hil_firmware_mutant"):
        if config.getoption(other):
            raise pytest.UsageError(
                f"--hil-chassis runs the simulated chassis; --{other.replace('_', '-')} "
                "does not go with it"
            )
    try:
        return load_chassis(name)
    except SatmcError as e:
        raise pytest.UsageError(f"HIL: {e}") from None


def pytest_generate_tests(metafunc):
    """With --hil-chassis: every test using the rig, once per satellite."""
    if "hil_slot" not in metafunc.fixturenames:
        return
    chassis = _chassis_file(metafunc.config)
    if chassis is None:
        return
    metafunc.parametrize(
        "hil_slot",
        [s.address for s in chassis.satellites],
        ids=[s.name for s in chassis.satellites],
        indirect=True,
        scope="session",
    )


@pytest.fixture(scope="session")
def hil_slot(request):
    """The address of the chassis satellite under test (None without --hil-chassis)."""
    return getattr(request, "param", None)


@pytest.fixture(scope="session")
def hil_chassis(pytestconfig):
    """The running ChassisSimulator with --hil-chassis, else None."""
    chassis = _chassis_file(pytestconfig)
    if chassis is None:
        yield None
        return
    from ..sim.chassis import ChassisSimulator

    with tempfile.TemporaryDirectory(prefix="satmc-hil-") as tmp:
        sim = ChassisSimulator(chassis, socket_path=f"{tmp}/{chassis.name}.sock")
        try:
            sim.start()
        except SatmcError as e:
            pytest.exit(f"HIL preflight: the simulated chassis did not start: {e}", PREFLIGHT_EXIT)
        try:
            yield sim
        finally:
            sim.stop()


@pytest.fixture(scope="session")
def rig(pytestconfig, hil_slot) -> Rig:
    opt = pytestconfig.getoption
    try:
        if hil_slot is not None:
            chassis = _chassis_file(pytestconfig)
            slot = chassis.slot(hil_slot)
            return Rig(
                name=f"{chassis.name}-{slot.name}",
                target="sim",
                address=slot.address,
                board=str(slot.board.path),
                capabilities=Rig.from_target("sim").capabilities,
            )
        if _lab_env(pytestconfig) is not None:
            return _lab(pytestconfig).rig
        if opt("hil_rig"):
            return load_rig(opt("hil_rig"))
        address = check_address(int(opt("hil_address"), 0)) if opt("hil_address") else None
        return Rig.from_target(opt("hil_target") or "sim", address=address, board=opt("hil_board"))
    except ValueError:
        pytest.exit(f"HIL: --hil-address {opt('hil_address')!r} is not a number", PREFLIGHT_EXIT)
    except SatmcError as e:
        pytest.exit(f"HIL: {e}", PREFLIGHT_EXIT)


@pytest.fixture(scope="session")
def board(rig):
    return load_board(rig.board)


@pytest.fixture(scope="session")
def hil_sim(rig, pytestconfig, hil_chassis):
    """The simulated board when the rig is the simulator (a chassis: the satellite under
    test), else None."""
    if hil_chassis is not None:
        yield hil_chassis.satellite(rig.address)
        return
    mutant = pytestconfig.getoption("hil_firmware_mutant")
    if not rig.is_sim:
        if mutant:
            pytest.exit("--hil-firmware-mutant needs a simulated target", PREFLIGHT_EXIT)
        yield None
        return
    from ..sim.simulator import Simulator
    from .mutants import make_mutant

    if rig.target == RP2EMU and mutant:
        pytest.exit("--hil-firmware-mutant needs the unix-port simulator (sim)", PREFLIGHT_EXIT)
    with tempfile.TemporaryDirectory(prefix="satmc-hil-") as tmp:
        firmware = make_mutant(mutant, Path(tmp)) if mutant else None
        try:
            if rig.target == RP2EMU:
                sim = emulated_board(rig, Path(tmp))
            else:
                sim = Simulator(
                    rig.board,
                    socket_path=f"{tmp}/sim.sock",
                    build_dir=Path(tmp) / "build",
                    firmware_dir=firmware,
                )
        except SatmcError as e:
            pytest.exit(f"HIL preflight: {e}", PREFLIGHT_EXIT)
        try:
            sim.start(**({"timeout": rig.seconds(20)} if rig.target == RP2EMU else {}))
        except SatmcError as e:
            sim.stop()
            pytest.exit(f"HIL preflight: the simulated board did not start: {e}", PREFLIGHT_EXIT)
        if rig.target == RP2EMU and not os.environ.get("SATMC_TIME_FACTOR"):
            rig.time_factor = max(rig.time_factor, sim.time_factor)  # as measured here
            rig.reset_seconds = 10.0 * rig.time_factor
        try:
            yield sim
        finally:
            sim.stop()


def emulated_board(rig: Rig, tmp: Path):
    """The rp2emu target: an emulated board with the bundle deployed by `make flash`'s
    path (mpremote on its USB serial) once per image and bundle, then its flash copied."""
    from ..flash import flash
    from ..resources import build_root
    from ..sim.rp2emu import Rp2emuSimulator, provision

    board_file = load_board(rig.board)

    def deploy(sim):
        flash(board_file, port=sim.serial.pty_path, timeout=rig.seconds(20))

    image = provision(board_file, build_root() / board_file.name / "rp2emu", deploy)
    return Rp2emuSimulator(
        board_file, image=image, socket_path=f"{tmp}/sim.sock", build_dir=tmp / "build"
    )


@pytest.fixture(scope="session")
def dut_connect(rig, hil_sim, pytestconfig):
    """connect(**kwargs) -> a new connection to the device under test, once the preflight
    found it answering (a real rig is locked for the session)."""
    lab = _lab(pytestconfig) if _lab_env(pytestconfig) is not None else None
    if lab is not None:
        lock = None
        try:
            lab.preflight()
        except Exception as e:  # a StrategyError wraps what broke: name that
            cause = e.__cause__ or e
            pytest.exit(f"HIL preflight: labgrid place {rig.name!r}: {cause}", PREFLIGHT_EXIT)
        opener = lab.ipmb.connect
    elif hil_sim is None:
        lock = RigLock(rig.url)
        try:
            lock.acquire()
        except SatmcError as e:
            pytest.exit(f"HIL preflight: {e}", PREFLIGHT_EXIT)

        def opener(**kw):
            return connect(rig.url, address=rig.address, **kw)
    else:
        lock = None
        readback = rig.target == "sim+readback"
        twin = hil_sim.ipmb_socket if rig.target == "sim+ftdi" else None
        url = rig.url if twin else hil_sim.ipmb_url

        def opener(**kw):
            kw.setdefault("timeout", rig.seconds(0.25))
            return connect(url, address=rig.address, readback=readback or None, twin=twin, **kw)

    try:
        if hil_sim is None:  # the simulator's start already showed it serving
            preflight(rig, opener)
        yield opener
    finally:
        if lock is not None:
            lock.release()


def preflight(rig: Rig, opener) -> None:
    """Open the target and ask the satellite for its Device ID; pytest.exit with one line
    naming what to check if that fails."""
    where = rig.target if rig.name == rig.target else f"{rig.target} (rig {rig.name!r})"
    try:
        with opener() as sat:
            sat.call(0x06, 0x01, what="Get Device ID")
    except (NoResponseError, BusNackError) as e:
        pytest.exit(
            f"HIL preflight: no satellite answers at IPMB {rig.address:#04x} on {where}: {e}. "
            "Check that the board is powered, flashed and wired, and its address "
            f"(--hil-address; satmc -t {rig.url} scan lists who answers)",
            PREFLIGHT_EXIT,
        )
    except SatmcError as e:
        named = str(e).startswith(rig.url.split("?")[0])  # transport errors name the URL
        pytest.exit(f"HIL preflight: {e if named else f'{where}: {e}'}", PREFLIGHT_EXIT)


@pytest.fixture
def dut_serial(rig, hil_sim):
    """A connection to the device under test on its other channel, the USB serial line
    (Serial Basic Mode, as the BMC 0x20): the simulator's, or the rig's `serial`."""
    url = hil_sim.serial.socket_url if hil_sim is not None else rig.serial
    if url is None:
        pytest.skip(f"not applicable on rig {rig.name!r}: needs a serial line (rig key serial)")
    with connect(url, address=0x20) as sat:
        yield sat


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
    buses = hil_sim.buses
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
def board_sleep(hil_sim):
    """board_sleep(s): let s seconds pass on the board's clock (an emulated chip's runs
    behind the host's; a real board's and the unix port's are the host's)."""
    return hil_sim.sleep if hil_sim is not None else time.sleep


@pytest.fixture
def faults(hil_sim, rig):
    """Inject faults on the simulator's buses; all cleared after the test."""
    if hil_sim is None:
        pytest.skip(f"not applicable on rig {rig.name!r}: needs faults")
    used = set()
    buses = hil_sim.buses
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
        buses[bus].faults.clear()


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


@pytest.fixture
def fru_backup(rig, hil_sim, pytestconfig):
    """save(FRUAccess) -> the device's image, saved first to <results>/fru-backup/ with
    the command that restores it (RIG-fruN.bin, RIG-fruN.txt): a run interrupted between
    a write and its restore can be undone. A backup already there (from such a run) holds
    the real original and is kept; one equal to the device after the test is removed."""
    directory = Path(pytestconfig.getoption("hil_results")) / "fru-backup"
    url = hil_sim.ipmb_url if hil_sim is not None else rig.url
    saved = []

    def save(dev) -> bytes:
        img = dev.read()
        stem = re.sub(r"[^\w.-]+", "_", f"{rig.name}-fru{dev.fru_id}")
        path = directory / f"{stem}.bin"
        if not path.exists():
            directory.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_bytes(img)
            partial.replace(path)  # whole or absent, never a torn backup
            path.with_suffix(".txt").write_text(
                f"FRU {dev.fru_id} of rig {rig.name} at IPMB {rig.address:#04x}, saved before "
                f"a HIL test wrote it. Restore:\n  satmc -t {url} -a {rig.address:#04x} "
                f"fru write {path} --id {dev.fru_id} --verify --force\n"
            )
        saved.append((dev, path))
        return img

    yield save
    for dev, path in saved:
        try:
            now = dev.read()
        except SatmcError:
            continue  # kept: the device could not be read back
        if path.exists() and path.read_bytes() == now:
            path.unlink()
            path.with_suffix(".txt").unlink(missing_ok=True)
