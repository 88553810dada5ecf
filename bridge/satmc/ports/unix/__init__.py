"""The unix port: `machine` for MicroPython's unix build, backed by the virtual bus.

    env["MICROPYPATH"] = f"{bundle_dir}:{unix.machine_path()}:.frozen"

machine.py and machine_pins.py are MicroPython modules (never imported by CPython); they
speak the bus protocol through `vbus_wire`, which is satmc.vbus.wire staged beside them:
machine_path() copies the three into one directory named by their contents (shared by
every process and checkout with the same sources; changed sources get a new directory)
and returns it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from ...vbus import wire

HERE = Path(__file__).resolve().parent

# name on the MicroPython path -> source file
SOURCES = {
    "machine.py": HERE / "machine.py",
    "machine_pins.py": HERE / "machine_pins.py",
    "vbus_wire.py": Path(wire.__file__).resolve(),
}


def machine_path() -> Path:
    """A directory holding machine.py, machine_pins.py and vbus_wire.py (for MICROPYPATH)."""
    contents = {name: src.read_bytes() for name, src in SOURCES.items()}
    digest = hashlib.sha256()
    for name, data in sorted(contents.items()):
        digest.update(name.encode() + b"\0" + data + b"\0")
    target = (
        Path(tempfile.gettempdir()) / f"satmc-{os.getuid()}" / f"unix-{digest.hexdigest()[:16]}"
    )
    target.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        path = target / name
        if not path.is_file() or path.read_bytes() != data:
            part = path.with_name(f".{name}.{os.getpid()}")
            part.write_bytes(data)
            os.replace(part, path)  # atomic: a process starting now sees all or nothing
    return target
