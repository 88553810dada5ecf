"""The Firmware Firewall end to end on the simulated board: stock ipmitool's `firewall`
over Serial Basic Mode, `satmc firewall`, the policy across Cold Reset, a torn policy
file, and a board file's production profile.

ipmitool is a real tool here: .ci/run installs it; in CI a missing ipmitool fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import yaml

from satmc.board import load_board
from satmc.board.firewall import PROFILES
from satmc.ipmi import client
from satmc.ipmi.codes import (
    CC_OK,
    CC_PRIVILEGE,
    CHANNEL_IPMB,
    CHANNEL_SERIAL,
    CMD_COLD_RESET,
    CMD_GET_DEVICE_GUID,
    CMD_HPM_GET_TARGET_UPGRADE_CAPABILITIES,
    CMD_HPM_INITIATE_UPGRADE_ACTION,
    CMD_READ_FRU_DATA,
    CMD_WRITE_FRU_DATA,
    NETFN_APP,
    NETFN_GROUP,
    NETFN_STORAGE,
)
from satmc.sim.simulator import Simulator
from satmc.transports import connect, wait_until_answering

SATMC = [sys.executable, "-m", "satmc.cli.main"]


def ipmitool_serial(ipmitool, sim, *args):
    return subprocess.run(
        [ipmitool, "-I", "serial-basic", "-D", f"{sim.serial.pty_path}:115200", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def satmc(*args):
    r = subprocess.run(SATMC + list(args), capture_output=True, text=True, timeout=60)
    return r


def _state_line(text: str, netfn: int, cmd: int) -> str:
    m = re.search(rf"NetFn 0x{netfn:02x}, Command 0x{cmd:02x}:\s*(\|.*\|)", text)
    assert m, text
    return m.group(1)


def test_stock_ipmitool_reads_and_changes_the_firewall(ipmitool, sim, sat):
    info = ("firewall", "info", "channel", "0", "lun", "0", "netfn", "6", "command", "8")
    r = ipmitool_serial(ipmitool, sim, *info)
    assert r.returncode == 0, r.stderr
    assert _state_line(r.stdout, 6, 8).split() == ["|", "X", "|", "X", "|", "X", "|"]
    r = ipmitool_serial(ipmitool, sim, "firewall", "disable", *info[2:])
    try:
        assert r.returncode == 0, r.stderr
        assert sat.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_PRIVILEGE  # IPMB: refused
        r = ipmitool_serial(ipmitool, sim, *info)
        assert _state_line(r.stdout, 6, 8).split() == ["|", "X", "|", "X", "|", "|"]
        r = ipmitool_serial(ipmitool, sim, "raw", "0x06", "0x08")  # serial: served
        assert r.returncode == 0, r.stderr
    finally:
        r = ipmitool_serial(ipmitool, sim, "firewall", "enable", *info[2:])
    assert r.returncode == 0, r.stderr
    assert sat.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_OK


def test_stock_ipmitool_cannot_switch_off_set_command_enables(ipmitool, sim, sat):
    args = ("channel", "0", "lun", "0", "netfn", "6", "command", "0x60", "force")
    ipmitool_serial(ipmitool, sim, "firewall", "disable", *args)
    assert client.commands(sat, NETFN_APP, CHANNEL_IPMB)[0x60]["enabled"]


def test_satmc_firewall_show_disable_enable(sim, sat):
    r = satmc("-t", sim.url, "firewall", "show", "app", "get_device_guid", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [
        {
            "netfn": 6,
            "cmd": 8,
            "name": "get_device_guid",
            "subfn": None,
            "configurable": True,
            "ipmb": True,
            "serial": True,
        }
    ]
    r = satmc("-t", sim.url, "firewall", "show", "storage", "read_fru_data", "--csv")
    assert r.stdout.splitlines() == [
        "netfn,cmd,name,subfn,configurable,ipmb,serial",
        "10,17,read_fru_data,,true,true,true",
        "10,17,read_fru_data,0,true,true,true",
        "10,17,read_fru_data,1,true,true,true",
    ]
    r = satmc("-t", sim.url, "firewall", "disable", "--channel", "ipmb", "app", "0x08")
    try:
        assert r.returncode == 0, r.stderr
        assert re.search(r"0x06\s+0x08\s+get_device_guid\s+yes\s+off$", r.stdout, re.M)
        assert sat.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_PRIVILEGE
        with connect(sim.serial.socket_url, address=0x20) as line:
            assert line.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_OK
    finally:
        r = satmc("-t", sim.url, "firewall", "enable", "app", "get_device_guid")
    assert r.returncode == 0, r.stderr
    r = satmc("-t", sim.url, "firewall", "show")
    assert re.search(r"^0x0a\s+0x11\s+read_fru_data\s+yes\s+on\s+on$", r.stdout, re.M)
    assert re.search(r"^\s+FRU device id 1\s+on\s+on$", r.stdout, re.M)
    assert re.search(r"^0x06\s+0x60\s+set_command_enables\s+fixed\s+on\s+on$", r.stdout, re.M)


def test_satmc_firewall_refuses_what_it_cannot_do_in_one_line(sim):
    for args, message in (
        (("disable", "app", "set_command_enables"), "firewall's own commands"),
        (("disable", "app", "nope"), "is not a command of netFn 0x06"),
        (("show", "--channel", "7"), "is not a channel"),
        (("disable", "app", "0x55"), "does not have this command"),
    ):
        r = satmc("-t", sim.url, "firewall", *args)
        assert r.returncode == 1 and message in r.stderr and len(r.stderr.splitlines()) == 1


def _cold_reset(sim, sat):
    resets = sim.resets
    assert sat.raw(NETFN_APP, CMD_COLD_RESET) == (CC_OK, b"")
    deadline = time.monotonic() + 10
    while sim.resets == resets and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.resets == resets + 1, "Cold Reset did not reset the board"
    assert wait_until_answering(sat, 15)


def test_the_policy_survives_a_cold_reset(sim, sat):
    client.set_subfunction_enabled(sat, NETFN_STORAGE, CMD_READ_FRU_DATA, 1, False, CHANNEL_SERIAL)
    client.set_command_enabled(sat, NETFN_APP, CMD_GET_DEVICE_GUID, False, CHANNEL_IPMB)
    try:
        _cold_reset(sim, sat)
        assert sat.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_PRIVILEGE
        subs = client.subfunctions(sat, NETFN_STORAGE, CMD_READ_FRU_DATA, CHANNEL_SERIAL)
        assert not subs[1]["enabled"] and subs[0]["enabled"]
        assert client.read_counters(sat)["firewall_fallbacks"] == 0
    finally:
        client.set_command_enabled(sat, NETFN_APP, CMD_GET_DEVICE_GUID, True, CHANNEL_IPMB)
        client.set_subfunction_enabled(
            sat, NETFN_STORAGE, CMD_READ_FRU_DATA, 1, True, CHANNEL_SERIAL
        )


def test_a_torn_policy_file_falls_back_to_the_board_files_and_is_counted(sim, sat):
    client.set_command_enabled(sat, NETFN_APP, CMD_GET_DEVICE_GUID, False, CHANNEL_IPMB)
    policy = os.path.join(sim.bundle_dir, "firewall.pol")
    with open(policy, "rb") as f:
        whole = f.read()
    with open(policy, "wb") as f:  # a write cut short
        f.write(whole[: len(whole) // 2])
    sim.reset()
    sim.wait_ready()
    assert wait_until_answering(sat, 15)
    assert client.read_counters(sat)["firewall_fallbacks"] == 1
    assert sat.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_OK  # sim.yaml: no policy
    os.remove(policy)
    sim.reset()  # back to a clean boot for the module's other tests
    sim.wait_ready()
    assert wait_until_answering(sat, 15)


def test_a_board_files_production_profile_holds_ipmb_writes_back(tmp_path):
    data = yaml.safe_load(load_board("sim").path.read_text())
    data["firewall"] = {"profile": "production"}
    data["name"] = "production"
    path = tmp_path / "production.yaml"
    path.write_text(yaml.safe_dump(data))
    board = load_board(path)
    assert len(board.config["firewall"]) == len(PROFILES["production"])
    with Simulator(
        board, socket_path=str(tmp_path / "sim.sock"), build_dir=tmp_path / "build"
    ) as sim:
        with connect(sim.url, address=sim.address) as ipmb:
            assert ipmb.raw(NETFN_APP, CMD_COLD_RESET)[0] == CC_PRIVILEGE
            head = client.read_fru_data(ipmb, 1, 0, 8)  # reading: allowed
            write = bytes((1, 0, 0)) + head
            assert ipmb.raw(NETFN_STORAGE, CMD_WRITE_FRU_DATA, write)[0] == CC_PRIVILEGE
            # no upgrade over IPMB (HPM.1 Initiate Upgrade Action: prepare component 0),
            # while its capabilities can still be read
            hpm = (NETFN_GROUP, CMD_HPM_INITIATE_UPGRADE_ACTION, b"\x00\x01\x01")
            assert ipmb.raw(*hpm)[0] == CC_PRIVILEGE
            caps = ipmb.raw(NETFN_GROUP, CMD_HPM_GET_TARGET_UPGRADE_CAPABILITIES, b"\x00")
            assert caps[0] == CC_OK
            with connect(sim.serial.socket_url, address=0x20) as line:  # the bench: may
                assert line.raw(NETFN_STORAGE, CMD_WRITE_FRU_DATA, write) == (CC_OK, b"\x08")
            assert sim.resets == 0
