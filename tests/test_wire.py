"""Every speaker of the virtual bus protocol is on the constants of satmc.vbus.wire.

The speakers: the bus server and the CPython clients (import the module), the unix port's
`machine` emulation (the same file staged as vbus_wire, run here on the real MicroPython),
and any port in another language (bridge/satmc/ports/<port>/ with JavaScript sources reads
a wire.json generated from the module; see satmc.vbus.wire).
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from satmc import ports
from satmc.ports import unix
from satmc.sim.simulator import micropython_exe
from satmc.vbus import wire

BRIDGE = Path(wire.__file__).resolve().parents[2]
CONSTANTS = ports.wire_table()


def port_problems(port: Path) -> list[str]:
    """What keeps a port in another language off the module's constants (none: [])."""
    sources = ports.foreign_sources(port)
    if not sources:
        return []
    table = port / "wire.json"
    if not table.is_file():
        return [f"{port.name}: no wire.json (python -m satmc.ports writes it)"]
    problems = []
    if json.loads(table.read_text()) != CONSTANTS:
        problems.append(f"{port.name}/wire.json differs from satmc.vbus.wire: regenerate it")
    if not any("wire.json" in p.read_text(errors="replace") for p in sources):
        problems.append(f"{port.name}: no source reads wire.json")
    return problems


def test_the_spec_names_every_constant():
    missing = [n for n in CONSTANTS if not re.search(rf"\b{n}\b", wire.__doc__)]
    assert not missing, f"satmc.vbus.wire's docstring does not describe {missing}"


def test_status_names_follow_the_status_codes():
    codes = sorted(v for k, v in CONSTANTS.items() if k.startswith("ST_"))
    assert codes == list(range(len(wire.STATUS_NAMES)))  # STATUS_NAMES[st] for every st


@pytest.mark.parametrize(
    "module",
    ["satmc.vbus.server", "satmc.vbus.client", "satmc.vbus.bus", "satmc.vbus.faults"]
    + ["satmc.twin.mpsse"],
)
def test_cpython_speakers_use_the_module(module):
    assert importlib.import_module(module).w is wire


def test_no_python_module_declares_protocol_constants_again():
    names = set(CONSTANTS)
    again = []
    for path in sorted((BRIDGE / "satmc").rglob("*.py")):
        if path.resolve() == Path(wire.__file__).resolve():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            again += [
                f"{path.relative_to(BRIDGE)}:{node.lineno} {t.id}"
                for t in targets
                if isinstance(t, ast.Name) and t.id.lstrip("_") in names
            ]
    assert not again, "protocol constants declared outside satmc.vbus.wire:\n" + "\n".join(again)


def test_the_micropython_emulation_speaks_the_same_constants():
    program = (
        "import json, machine, machine_pins, vbus_wire as w\n"
        "print(machine._w is w, machine_pins._w is w)\n"
        "t = {k: getattr(w, k) for k in dir(w) if k.isupper()}\n"
        "t['STATUS_NAMES'] = list(w.STATUS_NAMES)\n"
        "print(json.dumps(t))\n"
    )
    env = dict(os.environ, MICROPYPATH=f"{unix.machine_path()}:.frozen")
    env.pop("SATMC_VBUS", None)
    r = subprocess.run(
        [micropython_exe(), "-c", program], env=env, capture_output=True, text=True, timeout=30
    )
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[:1] == ["True True"], r.stdout + r.stderr
    assert json.loads(lines[1]) == CONSTANTS


def test_the_unix_port_is_staged_with_the_wire_module(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    staged = unix.machine_path()
    assert staged.is_relative_to(tmp_path)
    names = ["machine.mpy", "machine_pins.mpy", "vbus_wire.mpy"]
    assert sorted(p.name for p in staged.iterdir()) == names  # compiled, no sources
    assert all((staged / n).read_bytes()[:1] == b"M" for n in names)  # .mpy header
    (staged / "vbus_wire.mpy").unlink()  # a temp cleaner took a file: staged again
    assert unix.machine_path() == staged
    assert (staged / "vbus_wire.mpy").read_bytes()[:1] == b"M"


def test_every_port_in_another_language_reads_the_generated_table():
    problems = [p for port in ports.foreign_ports() for p in port_problems(port)]
    assert not problems, "\n".join(problems)


def _generate(root: Path) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "satmc.ports", str(root)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_a_stale_or_missing_table_is_caught(tmp_path):
    # the check above, on a port as the rp2emu runner will lay it out
    port = tmp_path / "rp2emu"
    (port / "node_modules" / "dep").mkdir(parents=True)
    (port / "node_modules" / "dep" / "index.js").write_text("module.exports = 1;\n")
    (tmp_path / "unix").mkdir()
    (tmp_path / "unix" / "machine.py").write_text("import vbus_wire\n")
    assert ports.foreign_ports(tmp_path) == []  # Python ports, dependencies: no table
    (port / "bus.js").write_text('const wire = require("./wire.json");\n')
    assert ports.foreign_ports(tmp_path) == [port]
    assert port_problems(port) == ["rp2emu: no wire.json (python -m satmc.ports writes it)"]
    assert _generate(tmp_path) == f"wrote {port / 'wire.json'}\n"
    assert port_problems(port) == []
    assert _generate(tmp_path) == f"{port / 'wire.json'} is current\n"
    table = json.loads((port / "wire.json").read_text())
    table["T_ADDR"] += 1
    (port / "wire.json").write_text(json.dumps(table))
    assert port_problems(port) == ["rp2emu/wire.json differs from satmc.vbus.wire: regenerate it"]
    _generate(tmp_path)
    (port / "bus.js").write_text("const T_ADDR = 0x20;\n")
    assert port_problems(port) == ["rp2emu: no source reads wire.json"]
