"""Stock ipmitool against the simulated board over IPMI Serial Basic Mode (its USB serial).

ipmitool is a real tool here: .ci/run installs it; in CI a missing ipmitool fails.
"""

from __future__ import annotations

import random
import re
import socket
import subprocess
import time

from satmc.board import load_board
from satmc.ipmi.client import read_counters
from satmc.ipmi.codes import CMD_GET_DEVICE_ID, CMD_GET_SELF_TEST_RESULTS, NETFN_APP
from satmc.transports import connect

BOARD = load_board("sim")


def run_ipmitool(ipmitool, sim, *args, timeout=60):
    return subprocess.run(
        [ipmitool, "-I", "serial-basic", "-D", f"{sim.serial.pty_path}:115200", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def fields(text: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, v in re.findall(r"^([^:\n]+):(.*)$", text, re.M)}


def test_mc_info_matches_the_board_file(ipmitool, sim):
    r = run_ipmitool(ipmitool, sim, "mc", "info")
    assert r.returncode == 0, r.stderr
    f = fields(r.stdout)
    dev = BOARD.config["device"]
    major, minor, _ = (int(x) for x in BOARD.config["firmware_version"].split("."))
    assert int(f["Device ID"]) == dev["device_id"]
    assert int(f["Device Revision"]) == dev["device_revision"]
    assert f["Firmware Revision"] == f"{major}.{minor:02d}"
    assert f["IPMI Version"] == "2.0"
    assert int(f["Manufacturer ID"]) == dev["manufacturer_id"]
    assert f["Product ID"].startswith(f"{dev['product_id']} (0x{dev['product_id']:04x})")


def test_raw_get_device_id_is_byte_identical_to_ipmb(ipmitool, sim, sat):
    r = run_ipmitool(ipmitool, sim, "raw", "0x06", "0x01")
    assert r.returncode == 0, r.stderr
    assert bytes.fromhex(r.stdout) == sat.call(NETFN_APP, CMD_GET_DEVICE_ID)


def test_unknown_command_reports_c1(ipmitool, sim):
    r = run_ipmitool(ipmitool, sim, "raw", "0x06", "0x55")
    assert r.returncode == 1 and "rsp=0xc1" in r.stderr


def test_satmc_over_the_serial_line(sim):
    for url in (sim.serial.socket_url, f"serial://{sim.serial.pty_path}"):
        with connect(url, address=0x20) as sat:
            assert sat.call(NETFN_APP, CMD_GET_SELF_TEST_RESULTS) == b"\x55\x00"


def test_garbage_and_half_frames_do_not_stop_the_firmware(ipmitool, sim):
    rng = random.Random(6)
    with connect(sim.serial.socket_url, address=0x20) as sat:
        before = read_counters(sat)
    with socket.create_connection(("127.0.0.1", sim.serial.port)) as line:
        for _ in range(50):
            junk = bytes(
                rng.choice([0xA0, 0xA5, 0xAA, 0x20, 0x18]) for _ in range(rng.randrange(9))
            )
            line.sendall(junk.replace(b"\x03", b""))
        line.sendall(b"\xa0\x20\x18\xc8\x81")  # a half frame, never finished
        line.sendall(bytes(rng.randrange(4, 256) for _ in range(300)))  # no 0x03: no REPL
        time.sleep(0.2)
    r = run_ipmitool(ipmitool, sim, "mc", "info")
    assert r.returncode == 0 and "IPMI Version              : 2.0" in r.stdout
    with connect(sim.serial.socket_url, address=0x20) as sat:
        after = read_counters(sat)
    assert after["serial_dropped"] > before["serial_dropped"]
    assert sim.alive()


def test_cr_ctrl_c_between_frames_leaves_the_line_to_the_repl(sim):
    with socket.create_connection(("127.0.0.1", sim.serial.port)) as line:
        line.settimeout(5)
        line.sendall(b"\xa0\x20\x03\x03\xa5")  # 0x03 inside a frame is data
        time.sleep(0.3)
        assert not sim.wait_for_output("KeyboardInterrupt", timeout=0.1)
        line.sendall(b"\xa5\x03")  # a lone Ctrl-C between frames: a host's byte, not a key
        time.sleep(0.3)
        assert not sim.wait_for_output("KeyboardInterrupt", timeout=0.1)
        line.sendall(b"\r\x03")  # what mpremote sends first
        assert sim.wait_for_output("KeyboardInterrupt")
        line.sendall(b"\r\x01")  # enter the raw REPL, as mpremote does next
        got = b""
        deadline = time.monotonic() + 5
        while b"raw REPL; CTRL-B to exit" not in got and time.monotonic() < deadline:
            got += line.recv(4096)
        assert b"raw REPL; CTRL-B to exit" in got
        line.sendall(b"print(6 * 7)\x04")
        while b"OK42" not in got and time.monotonic() < deadline:
            got += line.recv(4096)
        assert b"OK42" in got
    sim.reset()
    sim.wait_ready()
