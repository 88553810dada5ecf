"""The host package's import structure: no arrow runs back up between its packages.

LAYERS is the one declaration of the order, lowest floor first. A unit (a subpackage of
satmc, or a top-level module) imports only units on floors below its own; units on one
floor stand beside each other and do not import each other. Every import counts, those
inside functions too (read with ast, nothing imported). A new package goes into the
table at its floor; a unit missing from it fails the test. A module of a package may
stand on a floor of its own (`ipmi.codes`, below the exception tree that names codes).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bridge" / "satmc"

LAYERS = (
    ("ipmi.codes",),  # IPMI numbers and names (imports nothing)
    ("errors",),  # one exception tree (names completion codes with ipmi.codes)
    ("resources",),  # where the firmware sources and board files are, checkout or installed
    ("ipmi",),  # satmc's OEM messages, client functions through pyipmi.msgs
    ("board.order",),  # the order thresholds keep (board files, thresholds set)
    ("sensors",),  # sensors over the client functions: SDR walk and cache, readings
    ("eventlog",),
    ("board",),  # the board model: part tables, field checks, the firmware contract
    ("fru",),  # FRU images from board files, checks, printing, safe writes
    ("vbus",),  # the virtual I2C bus: wire format, server, clients, device models
    ("ports", "twin"),  # what meets the bus: the firmware's ports, the FTDI twin
    ("bundle",),  # the bundle a board is given
    ("hpm",),  # HPM.1 upgrade images of a bundle, and the upgrade over IPMB
    ("sim",),  # the simulator: a bundle on a port, with its buses and devices
    ("transports",),  # sim://, ftdi://, serial://, socket://
    ("bmc",),  # the bench BMC: IPMI over LAN in front of the satellites
    ("flash",),  # deploying with mpremote
    ("labgrid",),  # rigs as labgrid places: resources, the IPMB driver, the strategy
    ("hil",),  # the HIL suite: deploys onto the emulated RP2040 (rp2emu) with flash
    ("demo_sensors",),
    ("demo",),
    ("cli",),  # nothing imports the CLI
)

# Arrows allowed to run back up, each with its reason and the issue that removes it; an
# entry that no longer occurs fails the test too (delete it then). None today.
KNOWN: dict[tuple[str, str], str] = {}

FLOOR = {unit: i for i, floor in enumerate(LAYERS) for unit in floor}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        package = parts if path.name == "__init__.py" else parts[:-1]
        yield path, package


def _unit(dotted: str) -> str | None:
    """satmc.vbus.wire -> "vbus" (or "vbus.wire" where LAYERS names it); satmc -> None."""
    parts = dotted.split(".")
    if parts[0] != "satmc" or len(parts) < 2:
        return None
    for n in range(len(parts), 1, -1):
        unit = ".".join(parts[1:n])
        if unit in FLOOR:
            return unit
    top = PACKAGE / parts[1]
    if top.is_dir() or top.with_suffix(".py").exists():
        return parts[1]
    return None  # a name of the package itself (from .. import __version__)


def _imports(path: Path, package: tuple[str, ...]):
    """(line, dotted name) of every satmc module or name the file imports."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if node.module or not node.level:
                yield node.lineno, module
            else:  # from .. import twin: the names are modules
                for alias in node.names:
                    yield node.lineno, f"{module}.{alias.name}"


def _arrows():
    """(from unit, to unit, where) for every import between two units."""
    for path, package in _modules():
        here = _unit(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for line, name in _imports(path, package):
            there = _unit(name)
            if here and there and here != there:
                yield here, there, f"{path.relative_to(PACKAGE.parent.parent)}:{line}"


def test_every_unit_has_a_floor():
    units = {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    units |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    units |= {u for u in FLOOR if "." in u and (PACKAGE / (u.replace(".", "/") + ".py")).exists()}
    missing = sorted(units - FLOOR.keys())
    assert not missing, f"add {', '.join(missing)} to LAYERS in {Path(__file__).name}"
    gone = sorted(FLOOR.keys() - units)
    assert not gone, f"LAYERS names units that do not exist: {', '.join(gone)}"


def test_no_import_runs_back_up():
    found = {}
    for here, there, where in _arrows():
        if FLOOR[there] >= FLOOR[here]:
            found.setdefault((here, there), []).append(where)
    new = {k: v for k, v in found.items() if k not in KNOWN}
    assert not new, "imports running up or sideways:\n" + "\n".join(
        f"  {a} -> {b}: {', '.join(w)}" for (a, b), w in sorted(new.items())
    )
    fixed = sorted(KNOWN.keys() - found.keys())
    assert not fixed, f"no longer imported, remove from KNOWN: {fixed}"


def test_the_checker_sees_relative_and_function_level_imports(tmp_path):
    # what the table is checked with: every form of import names its target
    src = tmp_path / "mod.py"
    src.write_text(
        "from . import wire as w\nfrom ..sim.port import vbus_wire\nfrom .. import twin\n"
        "def f():\n    import satmc.cli.main\n"
    )
    got = [name for _, name in _imports(src, ("satmc", "vbus"))]
    assert got == ["satmc.vbus.wire", "satmc.sim.port", "satmc.twin", "satmc.cli.main"]
