"""The satmc command line as a user runs it: output, exit codes, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from satmc.board import load_board

SATMC = [sys.executable, "-m", "satmc.cli.main"]
BOARD = load_board("sim")


def satmc(*args, env=None, timeout=60):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        SATMC + list(args), capture_output=True, text=True, timeout=timeout, env=e
    )


def test_info_shows_the_board_identity(sim):
    r = satmc("-t", sim.url, "info")
    assert r.returncode == 0, r.stderr
    dev = BOARD.config["device"]
    assert f"Device ID            : 0x{dev['device_id']:02x}" in r.stdout
    assert f"Product ID           : {dev['product_id']} (0x{dev['product_id']:04x})" in r.stdout
    assert "IPMI version         : 2.0" in r.stdout


def test_info_by_readback_and_from_the_environment(sim):
    r = satmc("--readback", "info", env={"SATMC_TARGET": sim.url})
    assert r.returncode == 0 and "IPMB address         : 0x72" in r.stdout


def test_raw_prints_data_or_the_completion_code(sim):
    r = satmc("-t", sim.url, "raw", "app", "0x04")
    assert (r.returncode, r.stdout.strip()) == (0, "55 00")
    r = satmc("-t", sim.url, "raw", "0x06", "0x01", "0xff")
    assert r.returncode == 1 and "completion code 0xc7 (request data length invalid)" in r.stdout
    r = satmc("-t", sim.url, "raw", "0x06", "0x1ff")
    assert r.returncode != 0 and "out of range" in r.stderr


def test_scan_finds_the_satellite_directly_and_by_broadcast(sim):
    for extra in ([], ["--broadcast"]):
        r = satmc("-t", sim.url, "scan", "--first", "0x70", "--last", "0x76", *extra)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[0].startswith("0x72: device 0x01 firmware 0.01")
        assert "1 controller answered" in r.stdout


def test_scan_retries_a_satellite_whose_first_answer_is_lost(sim):
    """A loaded satellite may miss one timeout; a scan retries as a BMC's does. Here its
    first Get Device ID request arrives corrupted (the firmware drops it, counted): one
    try per address found nothing at 0x72."""
    from satmc.ipmi.client import read_counters
    from satmc.transports import connect

    with connect(sim.url, address=sim.address) as sat:
        malformed = read_counters(sat)["malformed"]
    sim.control("fault", bus="ipmb", rule={"kind": "corrupt", "addr": sim.address >> 1,
                                           "index": 2, "xor": 1})  # fmt: skip
    try:
        r = satmc("-t", sim.url, "scan", "--first", "0x70", "--last", "0x76")
        fired = sim.control("stats", bus="ipmb")["fired"]["corrupt"]
    finally:
        sim.control("clear_faults", bus="ipmb")
    assert fired >= 1
    assert r.returncode == 0, r.stderr
    assert "0x72: device 0x01" in r.stdout and "1 controller answered" in r.stdout
    with connect(sim.url, address=sim.address) as sat:
        assert read_counters(sat)["malformed"] > malformed  # the lost try, counted


def test_stats_lists_the_counters(sim):
    r = satmc("-t", sim.url, "stats")
    assert r.returncode == 0 and "malformed" in r.stdout and "read_back" in r.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["-t", "bogus://x", "info"], "unknown target URL 'bogus://x'; use one of: sim://..."),
        (["-t", "ftdi://ftdi:232h/1", "info"], "ftdi://ftdi:232h/1: "),
        (["-t", "ftdi://nonsense", "info"], "ftdi://nonsense: "),
        (["-t", "sim:///nonexistent/sim.sock", "info"], "no virtual bus at /nonexistent/sim.sock"),
    ],
)
def test_wrong_or_absent_adapters_give_one_clear_line(args, message):
    r = satmc(*args)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("satmc: error: ") and message in lines[0], (
        r.stderr
    )


def test_no_answer_gives_one_clear_line(sim):
    r = satmc("-t", sim.url, "-a", "0x74", "--retries", "1", "info")
    assert r.returncode == 1
    assert r.stderr.strip() == "satmc: error: no ACK at 0x3a (IPMB 0x74)"


def test_debug_shows_the_traceback():
    r = satmc("-d", "-t", "sim:///nonexistent/sim.sock", "info")
    assert r.returncode == 1 and "Traceback" in r.stderr
