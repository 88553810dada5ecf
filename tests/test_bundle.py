"""The bundle: every module compiles for every board, and the bundle boots on the unix port."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from satmc import bundle as bundle_mod
from satmc.board import FIRMWARE_DIR, REPO, board_names, load_board
from satmc.bundle import MANIFEST, build_bundle, bundle_size, frozen_sources
from satmc.ipmi.codes import CMD_GET_DEVICE_ID, NETFN_APP
from satmc.sim.simulator import Simulator
from satmc.transports import connect

MODULES = sorted(f"ipmc/{p.stem}.mpy" for p in (FIRMWARE_DIR / "ipmc").glob("*.py"))


@pytest.mark.parametrize("name", board_names())
def test_every_module_compiles_for_every_board(tmp_path, name):
    board = load_board(name)
    b = build_bundle(board, tmp_path / "bundle")
    fru_files = [e["path"] for e in board.config.get("fru", []) if e["device"] == "file"]
    assert sorted(b.manifest["files"]) == sorted(
        MODULES + ["board_config.mpy", "main.py", "satboot.mpy"] + fru_files
    )
    for rel, entry in b.manifest["files"].items():
        data = (b.root / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"]
        if rel.endswith(".mpy"):
            assert data[:2] == b"M\x06", rel  # .mpy version 6: MicroPython 1.22 and later
    on_disk = json.loads((b.root / MANIFEST).read_text())
    assert on_disk == b.manifest
    assert on_disk["firmware_version"] == board.config["firmware_version"]
    assert on_disk["micropython_min"] == "1.26"
    assert bundle_size(b) == sum(p.stat().st_size for p in b.root.rglob("*") if p.is_file())


def test_providers_add_files_to_the_bundle(tmp_path, monkeypatch):
    providers = bundle_mod.PROVIDERS + ["tests.test_bundle:_calibration_provider"]
    monkeypatch.setattr(bundle_mod, "PROVIDERS", providers)
    b = build_bundle(load_board("sim"), tmp_path / "bundle")
    assert (b.root / "calibration.bin").read_bytes() == b"\x01\x02"
    assert b.manifest["files"]["calibration.bin"]["size"] == 2
    assert "fru1.bin" in b.manifest["files"]  # the FRU provider's file-backed FRU image


def _calibration_provider(board, out):
    path = out / "calibration.bin"
    path.write_bytes(b"\x01\x02")
    return [path]


@pytest.mark.parametrize("name", board_names())
def test_bundle_boots_in_128k_and_answers_get_device_id(tmp_path, name):
    """Each board's bundle on the unix port (real boards with their pins on the vbus)."""
    board = load_board(name).for_simulation()
    # Known gap: the sim board's seven sensors (sensor code, SDRs, objects) need ~160K on the
    # 64-bit unix port (objects twice a board's size), a little more while its pins' edges
    # queue under load; boards without sensors load none of that code.
    heap = "176K" if board.config["sensors"] else "128K"
    with Simulator(
        board, socket_path=str(tmp_path / "s.sock"), build_dir=tmp_path / "build", heapsize=heap
    ) as sim:
        with connect(sim.url, address=sim.address) as sat:
            cc, data = sat.raw(NETFN_APP, CMD_GET_DEVICE_ID, b"")
    assert cc == 0
    major, minor = (int(x) for x in board.config["firmware_version"].split(".")[:2])
    assert data[2] == major and data[3] == (minor // 10) << 4 | minor % 10
    assert data[9] | data[10] << 8 == board.config["device"]["product_id"]


def test_frozen_manifest_names_the_firmware(tmp_path, monkeypatch):
    """firmware/manifest.py in MicroPython's manifest language, run with recording stand-ins."""
    calls = []
    monkeypatch.setenv("SATMC_FROZEN_DIR", str(tmp_path))
    source = (FIRMWARE_DIR / "manifest.py").read_text()
    api = {
        "include": lambda path, **kw: calls.append(("include", path)),
        "package": lambda name, base_path=".", **kw: calls.append(("package", name, base_path)),
        "module": lambda name, base_path=".", **kw: calls.append(("module", name, base_path)),
    }
    exec(compile(source, "firmware/manifest.py", "exec"), api)
    assert ("include", "$(PORT_DIR)/boards/manifest.py") in calls
    assert ("package", "ipmc", ".") in calls and (FIRMWARE_DIR / "ipmc" / "__init__.py").exists()
    assert ("module", "board_config.py", str(tmp_path)) in calls
    assert ("module", "main.py", str(tmp_path)) in calls


@pytest.mark.parametrize(
    "name,make_args",
    [
        ("pico", "ports/rp2 BOARD=RPI_PICO"),
        ("pico2", "ports/rp2 BOARD=RPI_PICO2"),
        ("pyboard", "ports/stm32 BOARD=PYBV11"),
    ],
)
def test_frozen_sources(tmp_path, name, make_args):
    assert frozen_sources(load_board(name), tmp_path) == make_args
    for src in ("board_config.py", "main.py"):
        r = subprocess.run(
            bundle_mod.mpy_cross() + ["-o", os.devnull, str(tmp_path / src)],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr


def test_make_bundle(tmp_path):
    r = subprocess.run(
        ["make", "-s", "bundle", "BOARD=pico2"], cwd=REPO, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert f"build/pico2/bundle: {len(MODULES) + 3} files" in r.stdout
    assert "for rp2350" in r.stdout


def test_builds_of_one_board_at_once_each_leave_a_whole_bundle(tmp_path):
    """Two simulators starting together build the same bundle directory at once: neither
    may delete or overwrite the other's files half way, and the directory ends whole."""
    from concurrent.futures import ThreadPoolExecutor

    board = load_board("sim")
    with ThreadPoolExecutor(4) as pool:
        built = list(pool.map(lambda _: build_bundle(board, tmp_path / "bundle"), range(4)))
    on_disk = json.loads((tmp_path / "bundle" / MANIFEST).read_text())
    assert all(b.manifest["files"] == on_disk["files"] for b in built)
    for rel, entry in on_disk["files"].items():
        data = (tmp_path / "bundle" / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], rel
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["bundle"]  # no leftovers


def test_a_rebuild_keeps_an_identical_bundle_resets_a_changed_one_and_sweeps_leftovers(tmp_path):
    board, out = load_board("sim"), tmp_path / "bundle"
    build_bundle(board, out)
    inode = out.stat().st_ino
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid no process has now: a build killed half way
    for name in (f".bundle-build-{dead.pid}-x1y2", f".bundle-old-{dead.pid}"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.py").write_text("half\n")
    build_bundle(board, out)
    assert out.stat().st_ino == inode  # the same files: nothing moved under a reader
    assert sorted(p.name for p in tmp_path.iterdir()) == [".bundle.lock", "bundle"]
    (out / "firewall.pol").write_bytes(b"\x00")  # written at run time: a rebuild resets it
    b = build_bundle(board, out)
    assert out.stat().st_ino != inode and not (out / "firewall.pol").exists()
    assert sorted(b.manifest["files"]) == sorted(
        str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != MANIFEST
    )
