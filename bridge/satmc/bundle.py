"""The firmware bundle: what gets flashed, and what the simulator runs.

    bundle = build_bundle(load_board("sim"), Path("build/sim"))
    bundle.root          # main.py, board_config.mpy, ipmc/*.mpy, manifest.json

Every firmware module is compiled with mpy-cross for the board's architecture; the
board config is generated from the board file as a module and compiled too; main.py
stays source (MicroPython runs main.py, not main.mpy). Extra files (the FRU image)
come from PROVIDERS. manifest.json records versions and a SHA-256 per file; `satmc
flash` compares those hashes with the board's files and copies only what changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from pprint import pformat

from .board import FIRMWARE_DIR, MCUS, Board
from .errors import SatmcError
from .resources import build_root, mpy_cross

MARCH = {"unix": None, "rp2040": "armv6m", "rp2350": "armv7emsp", "stm32": "armv7emsp"}
MIN_MICROPYTHON = (1, 26)  # machine.I2CTarget
MANIFEST = "manifest.json"

# Extra bundle files: "module:function" names; function(board, bundle_dir) writes the
# files the firmware reads at run time into the bundle and returns their paths.
PROVIDERS: list[str] = ["satmc.fru.provision:bundle_files"]  # FRU images of file-backed FRUs

# main.py runs the boot selector (firmware/satboot.py): it picks the bundle an HPM.1
# upgrade left active (or the one at the root), and rolls a failed new one back.
# Ctrl-C is off from its first line (firmware/satboot.py, _quiet_line): a host's frames
# during the boot must not stop it in the REPL; the firmware gives it back when it ends.
MAIN_PY = '''"""satmc firmware entry point (generated)."""
import micropython

micropython.kbd_intr(-1)
import satboot

satboot.boot()
'''
ROOT_MODULES = ("satboot.py",)  # firmware modules beside ipmc/, outside every HPM.1 slot


class BundleError(SatmcError):
    """The firmware bundle could not be built."""


@dataclass
class Bundle:
    root: Path
    manifest: dict


def _compile(src: Path, dst: Path, source_name: str, march: str | None) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    cmd = mpy_cross() + ["-o", str(dst), "-s", source_name]
    if march:
        cmd.append(f"-march={march}")
    cmd.append(str(src))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise BundleError(f"mpy-cross failed on {source_name}:\n{r.stderr.strip()}")


def default_dir(board: Board) -> Path:
    return build_root() / board.name / "bundle"


def _extra_files(board: Board, out: Path) -> list[Path]:
    paths: list[Path] = []
    for name in PROVIDERS:
        module, func = name.split(":")
        paths += getattr(importlib.import_module(module), func)(board, out)
    return paths


def _write_sources(board: Board, out: Path) -> Path:
    """board_config.py and main.py of the board in out; returns the board_config.py path."""
    gen = out / "board_config.py"
    gen.write_text(
        f'"""Board config of {board.name} (generated from {board.path.name})."""\n\n'
        f"CONFIG = {pformat(board.config, width=99, sort_dicts=True)}\n"
    )
    (out / "main.py").write_text(MAIN_PY)
    return gen


def frozen_sources(board: Board, out: Path) -> str:
    """Sources `make frozen` freezes besides ipmc; returns "ports/PORT BOARD=NAME"."""
    mpy_board = board.data.get("micropython_board")
    if board.mcu == "unix" or not mpy_board:
        raise BundleError(f"board {board.name} names no MicroPython board (micropython_board)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write_sources(board, out)
    return f"ports/{MCUS[board.mcu].port} BOARD={mpy_board}"


def build_bundle(
    board: Board, out: Path | None = None, firmware_dir: Path = FIRMWARE_DIR
) -> Bundle:
    """Compile the firmware (firmware_dir/ipmc, normally the project's) for the board.

    It is built in a directory of its own beside `out` and moved into place when whole,
    so two builds of one board at once (two simulators starting) never write into or
    delete each other's files, and `out` never holds half a bundle. A bundle already
    there with exactly the same files is kept (nothing moves under its readers); copy
    one out under `reading(out)`. What a killed build leaves beside it is swept up by
    the next build."""
    out = Path(out or default_dir(board))
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}-build-{os.getpid()}-", dir=out.parent))
    try:
        work.chmod(0o755)  # as a directory made the usual way; mkdtemp's is private
        manifest = _build_into(board, work, firmware_dir)
        _move_into_place(work, out, manifest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Bundle(out, manifest)


@contextlib.contextmanager
def _locked(out: Path, how: int):
    with open(out.parent / f".{out.name}.lock", "a") as lock:
        fcntl.flock(lock, how)
        yield


def reading(out: Path):
    """A context in which no build replaces the bundle at `out` (for copying it)."""
    return _locked(Path(out), fcntl.LOCK_SH)


def _holds(out: Path, manifest: dict) -> bool:
    """Does `out` hold exactly the bundle `manifest` describes (no file more, none changed)?"""
    try:
        if json.loads((out / MANIFEST).read_text()) != manifest:
            return False
        files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()} - {MANIFEST}
        return files == set(manifest["files"]) and all(
            hashlib.sha256((out / rel).read_bytes()).hexdigest() == entry["sha256"]
            for rel, entry in manifest["files"].items()
        )
    except (OSError, ValueError):
        return False


def _sweep(out: Path) -> None:
    """Remove what builds that died left beside `out` (their directories name their pid)."""
    for p in out.parent.glob(f".{out.name}-*-*"):
        kind, _, rest = p.name[len(out.name) + 2 :].partition("-")
        pid = rest.split("-", 1)[0]
        if kind not in ("build", "old") or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:
            pass  # another user's live process


def _move_into_place(work: Path, out: Path, manifest: dict) -> None:
    """`work` becomes `out` unless `out` already holds the same bundle; the bundle that
    was there is removed. Swaps wait for readers and each other (a lock beside them)."""
    with _locked(out, fcntl.LOCK_EX):
        _sweep(out)
        if _holds(out, manifest):
            return
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}-old-{os.getpid()}")
            shutil.rmtree(old, ignore_errors=True)
            os.rename(out, old)
        os.rename(work, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _build_into(board: Board, out: Path, firmware_dir: Path) -> dict:
    """The bundle's files in the empty directory out; -> its manifest."""
    march = MARCH[board.mcu]
    for src in sorted((Path(firmware_dir) / "ipmc").glob("*.py")):
        rel = f"ipmc/{src.name}"
        _compile(src, out / "ipmc" / (src.stem + ".mpy"), rel, march)
    for name in ROOT_MODULES:
        _compile(Path(firmware_dir) / name, out / (Path(name).stem + ".mpy"), name, march)
    gen = _write_sources(board, out)
    _compile(gen, out / "board_config.mpy", "board_config.py", march)
    gen.unlink()
    for path in _extra_files(board, out):
        if path.name == MANIFEST or path.suffix in (".py", ".mpy"):
            raise BundleError(f"{path.name} from a bundle provider clashes with the firmware's")
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
        "march": march,
        "micropython_min": ".".join(map(str, MIN_MICROPYTHON)),
        "mpy_cross": subprocess.run(
            mpy_cross() + ["--version"], capture_output=True, text=True
        ).stdout.strip(),
        "board_file_sha256": hashlib.sha256(board.path.read_bytes()).hexdigest(),
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def bundle_size(bundle: Bundle) -> int:
    """Bytes the bundle takes on the board's filesystem (its files plus the manifest)."""
    return (
        sum(f["size"] for f in bundle.manifest["files"].values())
        + (bundle.root / MANIFEST).stat().st_size
    )
