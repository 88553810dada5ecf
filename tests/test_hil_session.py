"""The HIL suite on a rig that cannot be driven stops at once with one line; a rig is
driven by one run at a time; its options are namespaced. pytest runs as a subprocess,
as `make hil` runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from satmc.hil.lock import RigBusyError, RigLock, lock_key
from satmc.hil.plugin import PREFLIGHT_EXIT

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    """The rig locks of these runs in a directory of their own, not the host's /run/lock."""
    path = tmp_path / "locks"
    path.mkdir()
    monkeypatch.setenv("SATMC_LOCK_DIR", str(path))
    return path


def run_hil(*args, cwd=ROOT, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "hil", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stopped_with_one_line(r) -> str:
    """The run ended by the preflight: its reason once, no test run, no traceback."""
    out = r.stdout + r.stderr
    assert r.returncode == PREFLIGHT_EXIT, out
    lines = [line for line in out.splitlines() if "HIL" in line and ":" in line]
    assert len(lines) == 1, out
    assert "Traceback" not in out and " passed" not in out and " error" not in out, out
    return lines[0]


def test_an_absent_adapter_stops_the_run_in_one_line(tmp_path):
    r = run_hil("--hil-target", "ftdi://ftdi:232h:SATMC-NONE/1", "--hil-results", str(tmp_path))
    assert "HIL preflight: ftdi://ftdi:232h:SATMC-NONE/1: " in stopped_with_one_line(r)


def test_a_wrong_address_stops_the_run_in_one_line(sim, tmp_path):
    # the simulator's socket as a plain transport URL: driven as a real rig would be
    r = run_hil("--hil-target", sim.url, "--hil-address", "0x74", "--hil-results", str(tmp_path))
    line = stopped_with_one_line(r)
    assert f"no satellite answers at IPMB 0x74 on {sim.url}" in line and "scan" in line


def test_a_7_bit_address_is_named(tmp_path):
    r = run_hil("--hil-target", "ftdi://ftdi:232h/1", "--hil-address", "0x39")
    assert "the 8-bit IPMB address is 0x72" in stopped_with_one_line(r)


def test_a_second_run_on_the_same_rig_is_refused_naming_the_holder(sim, tmp_path):
    with RigLock(sim.url + "?readback=0"):  # options do not make it another adapter
        r = run_hil("--hil-target", sim.url, "--hil-results", str(tmp_path))
    line = stopped_with_one_line(r)
    assert f"{lock_key(sim.url)} is in use by another HIL run on this host" in line
    assert f"pid {os.getpid()}: " in line


HOLD = "import sys, time; from satmc.hil.lock import RigLock; RigLock(sys.argv[1], sys.argv[2]).acquire(); print('held', flush=True); time.sleep(60)"  # noqa: E501


def test_two_holders_of_one_lock(tmp_path):
    url = "serial:///dev/ttyACM7"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, url, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RigBusyError) as e:
            RigLock(url, tmp_path).acquire()
        assert f"pid {holder.pid}: " in str(e.value) and "/dev/ttyACM7" in str(e.value)
        with RigLock("serial:///dev/ttyACM8", tmp_path):  # another port: its own lock
            pass
    finally:
        holder.send_signal(signal.SIGKILL)  # however the holder ends, the lock goes with it
        holder.wait()
    with RigLock(url, tmp_path) as lock:
        assert f"pid {os.getpid()}: " in lock.path.read_text()
    assert lock.path.read_text() == ""


def test_options_are_namespaced_and_a_clashing_short_form_is_left_to_its_owner(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p satmc.hil.plugin\n")
    (tmp_path / "r.toml").write_text((ROOT / "hil" / "rigs" / "sim.toml").read_text())
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            def pytest_addoption(parser):
                parser.addoption("--target", help="another plugin's --target")
            """
        )
    )
    (tmp_path / "test_options.py").write_text(
        textwrap.dedent(
            """
            def test_options(pytestconfig):
                assert pytestconfig.getoption("target") == "theirs"
                assert pytestconfig.getoption("hil_target") == "sim+readback"
                assert pytestconfig.getoption("hil_rig") == "r.toml"  # --rig: no clash
            """
        )
    )
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_options.py",
         "--target", "theirs", "--hil-target", "sim+readback", "--rig", "r.toml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout + r.stderr


def test_fru_conformance_accepts_a_units_own_serial_and_date(sim, tmp_path):
    from satmc.fru import image
    from satmc.fru.access import FRUAccess
    from satmc.transports import connect

    with connect(sim.url, address=sim.address) as sat:
        dev = FRUAccess(sat, 0)
        original = dev.read()
        used = image.used_length(original)
        unit = image.edit(
            original[:used],
            ["board.serial_number=UNIT-0042", "BoardInfo.mfg_date_time=2026-11-30 12:00:00"],
        )
        dev.write_image(unit)
        try:
            r = run_hil(
                "hil/test_fru_conformance.py",
                "-k",
                "every_fru_reads",
                "--hil-target",
                sim.url,
                "--hil-results",
                str(tmp_path),
            )
        finally:
            dev.write_image(original)
    assert r.returncode == 0 and "1 passed" in r.stdout, r.stdout[-3000:]


INTERRUPTED = """
import os
from satmc.fru import image
from satmc.fru.access import FRUAccess


def test_dies_between_write_and_restore(dut, fru_backup):
    dev = FRUAccess(dut, 0)
    original = fru_backup(dev)
    dev.write_image(image.edit(original[: image.used_length(original)], ["board.serial_number=X"]))
    os._exit(1)  # the run is killed before its restore
"""


def test_an_interrupted_fru_write_leaves_the_original_and_how_to_restore_it(tmp_path):
    from satmc.board import load_board
    from satmc.fru import image

    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p satmc.hil.plugin\n")
    (tmp_path / "test_interrupted.py").write_text(INTERRUPTED)
    results = tmp_path / "results"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_interrupted.py",
         "--hil-target", "sim", "--hil-board", str(ROOT / "boards" / "sim.yaml"),
         "--hil-results", str(results)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    backup = results / "fru-backup" / "sim-fru0.bin"
    assert backup.read_bytes().startswith(image.build(load_board("sim"), 0))  # the original
    restore = (results / "fru-backup" / "sim-fru0.txt").read_text()
    assert f"fru write {backup} --id 0 --verify --force" in restore
