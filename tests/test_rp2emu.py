"""The official MicroPython rp2 image on the emulated RP2040 (target rp2emu), end to end.

A blank emulated Pico (MicroPython only) gets the firmware the way users do it, `satmc
flash` (make flash) through mpremote on its USB serial, and is verified over IPMB; that
flash image then boots the board the other tests talk to: Get Device ID by master write
and by readback, ipmitool in Serial Basic Mode, a threshold event reaching the host, a FRU
written and read back across a reboot (the flash persists), stock ipmitool's HPM.1
upgrade with activation into a new bundle, and a slice of random frames. Needs RP2_UF2, RP2_BOOTROM
and Node.js (.ci/run provides them); skipped with the reason where they are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from satmc.board import load_board
from satmc.eventlog import EventReceiver
from satmc.fru import image
from satmc.fru.access import FRUAccess
from satmc.ipmi.client import get_device_id, read_counters
from satmc.ipmi.codes import (
    CMD_COLD_RESET,
    CMD_GET_SENSOR_READING,
    CMD_SET_EVENT_RECEIVER,
    NETFN_APP,
    NETFN_SENSOR,
)
from satmc.ports import rp2emu
from satmc.sim.rp2emu import TIME_FACTOR, Rp2emuSimulator, provision
from satmc.transports import connect

MISSING = rp2emu.missing()
if MISSING and os.environ.get("CI"):
    raise RuntimeError(f"the rp2emu target cannot run in CI: {MISSING} (.ci/run sets it up)")
pytestmark = [
    pytest.mark.skipif(MISSING is not None, reason=f"rp2emu target: {MISSING}"),
    pytest.mark.timeout(1800),  # a blank board's deploy, an HPM.1 upgrade of the chip
]

BOARD = load_board("pico_sim")
TIMEOUT = 0.25 * TIME_FACTOR  # a request's timeout on the emulated chip
TEMP = 1


def satmc_cli() -> str:
    return str(Path(sys.executable).parent / "satmc")


@pytest.fixture(scope="module")
def flashed(tmp_path_factory):
    """A blank board flashed with `satmc flash` on its pty: (flash image, flash output)."""
    cache = tmp_path_factory.mktemp("rp2emu-cache")
    said = {}

    def deploy(sim):
        assert not sim.wait_for_output("satmc: serving", 0.1)  # blank: MicroPython only
        r = subprocess.run(
            [satmc_cli(), "flash", "--board", "pico_sim", "--port", sim.serial.pty_path]
            + ["--verify-timeout", str(20 * sim.time_factor)],  # as slow as the host makes it
            capture_output=True,
            text=True,
            timeout=600,
        )
        said["flash"] = r
        assert r.returncode == 0, r.stdout + r.stderr
        with connect(sim.url, address=BOARD.address, timeout=TIMEOUT) as sat:
            said["device_id"] = get_device_id(sat)

    img = provision(BOARD, cache, deploy)
    return img, said


@pytest.fixture(scope="module")
def board(flashed, tmp_path_factory):
    d = tmp_path_factory.mktemp("rp2emu-board")
    sim = Rp2emuSimulator(
        BOARD,
        image=flashed[0],
        socket_path=str(d / "sim.sock"),
        build_dir=d / "build",
        pcap=str(d / "trace.pcap"),
    )
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def sat(board):
    with connect(board.url, address=board.address, timeout=TIMEOUT) as s:
        yield s


def test_make_flash_onto_a_blank_board_verifies_over_ipmb(flashed):
    _, said = flashed
    out = said["flash"].stdout
    assert "copied main.py" in out and "answers as pico_sim" in out
    dev = said["device_id"]
    assert dev["device_id"] == BOARD.config["device"]["device_id"]
    assert dev["product_id"] == BOARD.config["device"]["product_id"]


def test_get_device_id_by_master_write_and_by_readback(board):
    ids = []
    for readback in (False, True):
        with connect(board.url, address=board.address, readback=readback, timeout=TIMEOUT) as s:
            ids.append(s.call(NETFN_APP, 0x01, what="Get Device ID"))
    assert ids[0] == ids[1]
    assert ids[0][0] == BOARD.config["device"]["device_id"]


def ipmitool(board, *args, timeout=120):
    exe = shutil.which("ipmitool")
    if exe is None:
        pytest.skip("ipmitool not installed (apt-get install ipmitool)")
    r = subprocess.run(
        [exe, "-I", "serial-basic", "-D", f"{board.serial.pty_path}:115200", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout + r.stderr  # ipmitool hpm prints its notices on stderr


def test_ipmitool_serial_basic_mc_info_sdr_list_fru_print(board):
    info = ipmitool(board, "mc", "info")
    assert f"Product ID                : {BOARD.config['device']['product_id']}" in info
    sdr = ipmitool(board, "sdr", "list")
    for name in ("Board Temp", "12V", "Fan 1", "MCU Temp", "3V3"):
        assert name in sdr
    assert "25 degrees C" in sdr  # the LM75 model on the SoftI2C bus, read by the chip
    assert "3.30 Volts" in sdr  # the ADC model's 1.65 V on pin 26, through the 2:1 divider
    fru = ipmitool(board, "fru", "print", "0")
    assert "Emulated Pico satellite" in fru


def test_a_threshold_event_reaches_the_host(board, sat):
    with EventReceiver(sat) as rx:
        sat.call(NETFN_SENSOR, CMD_SET_EVENT_RECEIVER, b"\x20\x00")
        board.control("device", name="temp0", set={"temperature": 80.0})
        try:
            deadline = time.monotonic() + 4 * TIME_FACTOR
            while not [e for e in rx.received if e.sensor == TEMP and e.direction == "assert"]:
                assert time.monotonic() < deadline, "no Board Temp event reached the host"
                time.sleep(0.1)
            reading = sat.call(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((TEMP,)))
        finally:
            board.control("device", name="temp0", set={"temperature": 25.0})
    assert reading[0] == round((80 + 20) / 0.5)  # the LM75 model's 80 C, read by the chip


def test_fru_write_survives_a_reboot_in_flash(board, sat):
    dev = FRUAccess(sat, 1)  # a file in the board's flash filesystem
    img = dev.read()
    new = image.edit(img[: image.used_length(img)], ["board.serial_number=EMU-42"])
    dev.write_image(new)
    assert dev.read(0, len(new)) == new
    reboots = board.reboots
    sat.call(NETFN_APP, CMD_COLD_RESET, what="Cold Reset")
    board.wait_reboot(reboots)
    with connect(board.url, address=board.address, timeout=TIMEOUT) as again:
        assert FRUAccess(again, 1).read(0, len(new)) == new
        assert read_counters(again)["handler_errors"] == 0
        FRUAccess(again, 1).write_image(img[: len(new)])


def test_hot_paths_allocate_nothing_on_the_real_port(sat):
    # the unix port's figure (tests/test_fru.py, tests/firmware) holds on rp2 too: the
    # first Get Heap Info arms the measurement there (gc.mem_alloc walks the heap)
    from satmc.ipmi.client import read_heap

    before = read_heap(sat)
    for _ in range(5):
        sat.call(NETFN_APP, 0x01, what="Get Device ID")
        sat.call(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((TEMP,)), what="Get Sensor Reading")
    after = read_heap(sat)
    assert after["hot_frames"] - before["hot_frames"] == 11
    assert after["hot_alloc"] == before["hot_alloc"]


def test_the_bus_trace_decodes_in_tshark(board, sat):
    exe = shutil.which("tshark")
    if exe is None:
        pytest.skip("tshark not installed (apt-get install tshark)")
    sat.call(NETFN_APP, 0x01, what="Get Device ID")
    r = subprocess.run(
        [exe, "-r", board.pcap, "-d", "i2c.message,ipmi", "-Y", "ipmb || ipmi"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "0x20(IPMB-A) → 0x72" in r.stdout and "0x72(IPMB-A) → 0x20" in r.stdout


@pytest.fixture
def fresh(flashed, tmp_path):
    """A board of its own from the flash image (an upgrade changes which bundle boots)."""
    sim = Rp2emuSimulator(
        BOARD, image=flashed[0], socket_path=str(tmp_path / "sim.sock"), build_dir=tmp_path / "b"
    )
    sim.start()
    yield sim
    sim.stop()


def test_ipmitool_hpm_upgrade_activate_on_the_real_port(fresh, tmp_path):
    # component 0 is the bundle on the rp2 port's littlefs; activation reboots the chip
    # while ipmitool keeps polling on the line (the board file's timeouts say how long)
    from satmc import hpm
    from satmc.bundle import build_bundle

    b = load_board("pico_sim")
    b.config["firmware_version"] = "7.42.0"
    path = tmp_path / "new.hpm"
    path.write_bytes(hpm.image(b, build_bundle(b, tmp_path / "bundle")))
    reboots = fresh.reboots
    out = ipmitool(fresh, "hpm", "upgrade", str(path), "activate", timeout=1500)
    assert "Firmware upgrade procedure successful" in out, out
    fresh.wait_reboot(reboots)
    assert "Firmware Revision         : 7.42" in ipmitool(fresh, "mc", "info")
    with connect(fresh.url, address=fresh.address, timeout=TIMEOUT) as sat:
        assert get_device_id(sat)["firmware"] == "7.42"
    assert "breakpoint" not in "\n".join(fresh.output)  # no panic on the chip
    assert "No Firmware rollback occurred" in ipmitool(fresh, "hpm", "rollbackstatus")
    assert "Result1 = 55" in ipmitool(fresh, "hpm", "selftestresult")  # 55h: passed


def test_a_slice_of_random_frames_is_all_accounted_for(board, tmp_path):
    """fuzz.rp2emu's slice, short: random and mutated frames through the chip's real I2C
    target path, every one accounted for by the firmware's counters (make fuzz runs the
    long one and prints the rate). On the module's board, last: the frames may change its
    thresholds, event receiver and FRU (resets and firewall changes are left out)."""
    fresh = board
    root = Path(__file__).resolve().parents[1]
    # the seeds come from the firmware under CPython's shims: in a process of their own
    subprocess.run(
        [sys.executable, "-m", "fuzz.seeds", str(tmp_path / "seeds.bin")], cwd=root, check=True
    )
    sys.path.insert(0, str(root))
    try:
        from fuzz.rp2emu import run_slice
    finally:
        sys.path.pop(0)
    r = run_slice(
        fresh.socket_path,
        tmp_path / "seeds.bin",
        frames=60,
        seed=3,
        timeout=0.25 * fresh.time_factor,
    )
    assert r["problems"] == [], r
    c = r["counters"]
    assert r["written"] >= 25 and c["requests"] > 5 and c["malformed"] > 2
    assert c["handler_errors"] == c["task_errors"] == 0
    with connect(fresh.url, address=fresh.address, timeout=TIMEOUT) as s:  # still serving
        assert get_device_id(s)["device_id"] == BOARD.config["device"]["device_id"]
