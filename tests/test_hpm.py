"""PICMG HPM.1 upgrade of the simulated board's bundle: stock ipmitool, satmc, rollback.

Each test has a board of its own (its flash is its bundle directory), since an upgrade
changes which bundle boots. ipmitool reaches the board in Serial Basic Mode on its pty.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from pyipmi.hpm import UpgradeImage

from satmc import hpm
from satmc.board import load_board
from satmc.bundle import build_bundle
from satmc.errors import CompletionCodeError, SatmcError
from satmc.ipmi import client, codes
from satmc.resources import BOARDS_DIR, FIRMWARE_DIR
from satmc.sim.simulator import Simulator
from satmc.transports import connect

OLD = load_board("sim").config["firmware_version"]
NEW = "7.42.0"


def _board(tmp_path: Path, **fields):
    data = yaml.safe_load((BOARDS_DIR / "sim.yaml").read_text())
    data.update(fields)
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def board(tmp_path):
    s = Simulator(
        str(_board(tmp_path, upgrade_deadline_ms=4000)),
        socket_path=str(tmp_path / "s.sock"),
        build_dir=tmp_path / "build",
    )
    s.start()
    yield s
    s.stop()


def new_image(tmp_path: Path, version: str = NEW, firmware_dir: Path | None = None) -> bytes:
    """An image of the sim bundle at another firmware version (from another tree)."""
    b = load_board(_board(tmp_path, upgrade_deadline_ms=4000))
    b.config["firmware_version"] = version
    kw = {"firmware_dir": firmware_dir} if firmware_dir else {}
    return hpm.image(b, build_bundle(b, tmp_path / f"bundle-{version}", **kw))


def revision(sat) -> str:
    return client.get_device_id(sat)["firmware"]


def expect(version: str) -> str:
    major, minor, _ = (int(x) for x in version.split("."))
    return f"{major}.{minor:02d}"


def ipmitool_hpm(ipmitool, board, *args, timeout=120):
    """ipmitool hpm ...: (exit code, stdout and stderr: it prints notices on stderr)."""
    r = subprocess.run(
        [ipmitool, "-I", "serial-basic", "-D", f"{board.serial.pty_path}:115200", "hpm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return r.returncode, r.stdout + r.stderr


def test_the_image_is_what_python_ipmi_reads(tmp_path):
    data = new_image(tmp_path)
    path = tmp_path / "new.hpm"
    path.write_bytes(data)
    img = UpgradeImage(str(path))
    dev = load_board("sim").config["device"]
    assert img.header.device_id == dev["device_id"]
    assert img.header.product_id == dev["product_id"]
    assert img.header.manufacturer_id == dev["manufacturer_id"]
    assert img.header.components == [0]
    assert str(img.header.firmware_revision).startswith("7.42")
    actions = [a.action for a in img.actions]
    assert actions == [codes.HPM_ACTION_PREPARE, codes.HPM_ACTION_UPLOAD]
    assert bytes(img.actions[1].firmware_image_data) == hpm.component_payload(data)


def test_ipmitool_upgrades_activates_and_rolls_back(ipmitool, board, tmp_path):
    path = tmp_path / "new.hpm"
    path.write_bytes(new_image(tmp_path))
    rc, out = ipmitool_hpm(ipmitool, board, "upgrade", str(path), "activate")
    assert rc == 0, out
    assert "Firmware upgrade procedure successful" in out
    with connect(board.url, address=board.address) as sat:
        assert revision(sat) == expect(NEW)
    rc, out = ipmitool_hpm(ipmitool, board, "check")
    assert rc == 0, out
    assert f"{expect(NEW)} 00000000 |   {expect(OLD)} 00000000" in out  # active, backup
    rc, out = ipmitool_hpm(ipmitool, board, "compprop", "0", "1")
    assert "Major: 7" in out and "Minor: 42" in out
    rc, out = ipmitool_hpm(ipmitool, board, "upgstatus")
    assert "Command in progress:          35" in out
    assert "Last command completion code: 0" in out
    rc, out = ipmitool_hpm(ipmitool, board, "selftestresult")
    assert "Result1 = 55" in out
    rc, out = ipmitool_hpm(ipmitool, board, "rollbackstatus")
    assert "No Firmware rollback occurred" in out
    rc, out = ipmitool_hpm(ipmitool, board, "rollback")
    assert rc == 0, out
    assert "Rollback occurred on component mask: 0x01" in out
    with connect(board.url, address=board.address) as sat:
        assert revision(sat) == expect(OLD)
    rc, out = ipmitool_hpm(ipmitool, board, "rollbackstatus")
    assert "Rollback occurred on component mask: 0x01" in out


def test_satmc_bundle_hpm_and_flash_via_sim(board, tmp_path):
    env = dict(os.environ)
    out = tmp_path / "cli.hpm"
    r = subprocess.run(
        [sys.executable, "-m", "satmc.cli.main", "bundle", "--board", "sim", "--hpm", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "HPM.1 upgrade image" in r.stdout
    assert hpm.component_payload(out.read_bytes()).startswith(b"SATMCBA1")
    r = subprocess.run(
        [sys.executable, "-m", "satmc.cli.main", "flash", "--board", "sim", "--via", board.url],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "answers as sim" in r.stdout
    assert r.stderr == ""  # not a terminal: no progress bar
    with connect(board.url, address=board.address) as sat:
        # the board now runs the uploaded bundle; the one it had is its rollback
        got = client.get_component_properties(sat, 0, codes.HPM_PROP_ROLLBACK_VERSION)
        assert got[:2] == bytes(hpm.revision(OLD, [0, 0, 0, 0])[:2])
        assert client.query_self_test_results(sat) == (codes.SELF_TEST_OK, 0)


def _upload(sat, payload: bytes, block: int = client.HPM_BLOCK_IPMB) -> None:
    client.initiate_upgrade_action(sat, 0x01, codes.HPM_ACTION_UPLOAD)
    for n, at in enumerate(range(0, len(payload), block)):
        client.upload_firmware_block(sat, n, payload[at : at + block])


def test_a_damaged_image_is_refused_and_nothing_changes(board, tmp_path):
    payload = bytearray(hpm.component_payload(new_image(tmp_path)))
    payload[len(payload) // 2] ^= 0x01
    with connect(board.url, address=board.address) as sat:
        with pytest.raises(CompletionCodeError) as e:  # no upload begun
            client.upload_firmware_block(sat, 0, b"x")
        assert e.value.cc == codes.CC_NOT_IN_STATE
        _upload(sat, bytes(payload))
        with pytest.raises(CompletionCodeError) as e:  # a block out of sequence
            client.upload_firmware_block(sat, 7, b"x")
        assert e.value.cc == codes.CC_INVALID_DATA
        with pytest.raises(CompletionCodeError) as e:
            client.finish_firmware_upload(sat, 0, len(payload) + 1)
        assert e.value.cc == codes.CC_HPM_81  # length mismatch
        with pytest.raises(CompletionCodeError) as e:  # answered, or 80h then the status
            hpm.finish_upload(sat, len(payload))
        assert e.value.cc == codes.CC_HPM_82  # integrity check failed
        assert client.get_upgrade_status(sat) == (
            codes.CMD_HPM_FINISH_FIRMWARE_UPLOAD,
            codes.CC_HPM_82,
        )
        with pytest.raises(CompletionCodeError) as e:
            client.activate_firmware(sat)
        assert e.value.cc == codes.CC_NOT_IN_STATE
        with pytest.raises(CompletionCodeError) as e:  # still nothing to roll back to
            client.get_component_properties(sat, 0, codes.HPM_PROP_ROLLBACK_VERSION)
        assert e.value.cc == codes.CC_NOT_PRESENT
        with pytest.raises(CompletionCodeError) as e:
            client.initiate_manual_rollback(sat)
        assert e.value.cc == codes.CC_NOT_IN_STATE
        _upload(sat, bytes(payload[:100]))  # an upload given up: Abort drops what came
        client.abort_firmware_upgrade(sat)
        with pytest.raises(CompletionCodeError) as e:
            client.upload_firmware_block(sat, 4, b"x")
        assert e.value.cc == codes.CC_NOT_IN_STATE
        assert revision(sat) == expect(OLD)
    assert not (board.bundle_dir / "hpm" / "stage").exists()
    assert not (board.bundle_dir / "hpm" / "a").exists()  # the bad bundle never unpacked
    board.reset()
    board.wait_ready()
    with connect(board.url, address=board.address) as sat:
        assert revision(sat) == expect(OLD)


def _broken_tree(tmp_path: Path, how: str) -> Path:
    """A firmware tree whose bundle raises before serving, hangs, or serves with its
    self test failing (every FRU reported inaccessible)."""
    tree = tmp_path / f"firmware-{how}"
    shutil.copytree(FIRMWARE_DIR, tree)
    module, at, add = {
        "crash": ("main.py", "def run(config):\n", '    raise RuntimeError("a broken bundle")\n'),
        "hang": ("main.py", "def run(config):\n", "    while True:\n        time.sleep_ms(100)\n"),
        "selftest": (
            "fru.py",
            "    mc.self_test_bits = (\n",
            "    bits |= SELF_TEST_FRU_INACCESSIBLE\n",
        ),
    }[how]
    path = tree / "ipmc" / module
    text = path.read_text()
    assert at in text
    if how == "selftest":
        path.write_text(text.replace(at, add + at, 1))
    else:
        path.write_text(text.replace(at, at + add, 1))
    return tree


@pytest.mark.parametrize("how", ["crash", "hang", "selftest"])
def test_a_broken_bundle_is_rolled_back_by_itself(board, tmp_path, how):
    data = new_image(tmp_path, "7.43.0", _broken_tree(tmp_path, how))
    with connect(board.url, address=board.address) as sat:
        with pytest.raises(hpm.HpmError, match="rolled back"):
            hpm.upgrade(sat, data)
        assert revision(sat) == expect(OLD)
        assert client.query_rollback_status(sat) == 0x01
        assert client.query_self_test_results(sat) == (codes.SELF_TEST_ERROR, 0x01)
    assert board.resets >= 2  # into the new bundle, and back


def _kill(board) -> None:
    proc = board.proc
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def _power_cut_then_boot(board) -> str:
    """Cut the power (SIGKILL), power on again: the revision that boots."""
    _kill(board)
    board.reset()
    board.wait_ready(30)
    with connect(board.url, address=board.address, retries=5) as sat:
        return revision(sat)


def test_a_power_cut_anywhere_leaves_a_bundle_that_boots(board, tmp_path):
    """Kill the firmware at many points of upload, finish, activation and the trial boot:
    the board always boots the old bundle or the new one."""
    rng = random.Random(15)
    payload = hpm.component_payload(new_image(tmp_path))
    blocks = -(-len(payload) // client.HPM_BLOCK_IPMB)
    points = [("upload", rng.randrange(1, blocks)) for _ in range(3)]
    points += [("finish", d) for d in (0.0, 0.005, 0.02, 0.05, 0.1)]
    points += [("activate", d) for d in (0.0, 0.01, 0.03, 0.1, 0.3, 0.6, 1.0)]
    seen = set()
    for stage, at in points:
        cut = None
        with connect(board.url, address=board.address, retries=5) as sat:
            try:
                client.initiate_upgrade_action(sat, 0x01, codes.HPM_ACTION_UPLOAD)
                for n in range(blocks):
                    if stage == "upload" and n == at:
                        break
                    chunk = payload[n * client.HPM_BLOCK_IPMB : (n + 1) * client.HPM_BLOCK_IPMB]
                    client.upload_firmware_block(sat, n, chunk)
                if stage != "upload":
                    if stage == "finish":
                        cut = threading.Timer(at, _kill, (board,))
                        cut.start()
                    hpm.finish_upload(sat, len(payload))
                    client.activate_firmware(sat)
                    if stage == "activate":
                        time.sleep(at)
            except SatmcError:
                pass  # the board lost power under the request
        if cut is not None:
            cut.join()
        got = _power_cut_then_boot(board)
        assert got in (expect(OLD), expect(NEW)), (stage, at, got)
        seen.add(got)
        if got == expect(NEW):  # start the next point from the old bundle again
            with connect(board.url, address=board.address) as sat:
                client.initiate_manual_rollback(sat)
            board.wait_ready(30)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    with connect(board.url, address=board.address) as sat:
                        if revision(sat) == expect(OLD):
                            break
                except SatmcError:
                    pass
                time.sleep(0.2)
    assert expect(OLD) in seen


@pytest.mark.parametrize("link", ["serial", "ftdi"])
def test_satmc_upgrades_over_serial_and_the_ft232h_twin(board, tmp_path, link):
    """satmc flash --via: Serial Basic Mode on the board's pty, and IPMB through pyftdi on
    the FT232H twin; Get Device ID gives the new revision afterwards."""
    from satmc import twin
    from satmc.flash import upgrade_via

    new = load_board(_board(tmp_path, upgrade_deadline_ms=4000))
    new.config["firmware_version"] = NEW
    url = f"serial://{board.serial.pty_path}" if link == "serial" else "ftdi://ftdi:232h/1"
    try:
        r = upgrade_via(
            new,
            url,
            bundle_dir=tmp_path / "bundle",
            log=lambda line: None,
            twin=board.socket_path if link == "ftdi" else None,
        )
    finally:
        twin.uninstall()
    block = client.HPM_BLOCK_SERIAL if link == "serial" else client.HPM_BLOCK_IPMB
    assert r["blocks"] == -(-r["sent"] // block)
    assert r["self_test"] == (codes.SELF_TEST_OK, 0)
    with connect(board.url, address=board.address) as sat:
        assert revision(sat) == expect(NEW)


def test_ipmitool_hpm_compare_tells_the_installed_bundle_from_another(ipmitool, board, tmp_path):
    same, other = tmp_path / "same.hpm", tmp_path / "other.hpm"
    same.write_bytes(new_image(tmp_path, OLD))  # the bundle the board runs, built again
    other.write_bytes(new_image(tmp_path, NEW))
    rc, out = ipmitool_hpm(ipmitool, board, "compare", str(same))
    assert rc == 0 and "Comparison passed" in out, out
    rc, out = ipmitool_hpm(ipmitool, board, "compare", str(other))
    assert "Component's active copy doesn't match the upgrade image" in out, out
    with connect(board.url, address=board.address) as sat:
        assert revision(sat) == expect(OLD)  # a compare changes nothing
        with pytest.raises(CompletionCodeError) as e:
            client.activate_firmware(sat)
        assert e.value.cc == codes.CC_NOT_IN_STATE
    assert not (board.bundle_dir / "hpm" / "stage").exists()
