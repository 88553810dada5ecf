"""Conformance: what any satmc satellite must do, checked black-box over IPMB.

Only the bridge API and standard IPMI: the same tests run against the simulator and
against a real board on a rig.
"""

from __future__ import annotations

import time

import pytest
from pyipmi.interfaces.ipmb import IpmbHeaderReq

from satmc.errors import SatmcError
from satmc.ipmi import client
from satmc.ipmi.codes import (
    CC_INVALID_COMMAND,
    CC_INVALID_FOR_LUN,
    CC_LENGTH,
    CC_OK,
    CMD_COLD_RESET,
    CMD_GET_DEVICE_GUID,
    CMD_GET_DEVICE_ID,
    CMD_GET_SELF_TEST_RESULTS,
    CMD_SEND_MESSAGE,
    FIREWALL_COMMANDS,
    NETFN_APP,
    NETFN_BRIDGE,
    NETFN_FIRMWARE,
    NETFN_TRANSPORT,
    SELF_TEST_OK,
)

APP_COMMANDS = {  # answered without side effects
    CMD_GET_DEVICE_ID: b"",
    CMD_GET_SELF_TEST_RESULTS: b"",
    CMD_GET_DEVICE_GUID: b"",
}


def test_device_id_matches_the_board_file(dut, board):
    dev = client.get_device_id(dut)
    want = board.config["device"]
    major, minor, _ = (int(x) for x in board.config["firmware_version"].split("."))
    assert (dev["device_id"], dev["device_revision"]) == (
        want["device_id"],
        want["device_revision"],
    )
    assert (dev["manufacturer_id"], dev["product_id"]) == (
        want["manufacturer_id"],
        want["product_id"],
    )
    assert dev["firmware"] == f"{major}.{minor:02d}" and dev["ipmi_version"] == "2.0"
    assert not dev["update_in_progress"]
    ident = dut.ipmi.get_device_id()  # python-ipmi agrees
    assert ident.device_id == want["device_id"] and ident.product_id == want["product_id"]


def _ipmb_request(rs_sa: int, netfn: int, cmd: int, rq_sa: int = 0x20) -> bytes:
    h = bytes((rs_sa, netfn << 2))
    b = bytes((rq_sa, 1 << 2, cmd))
    return h + bytes((-sum(h) & 0xFF,)) + b + bytes((-sum(b) & 0xFF,))


def test_app_commands_answer_and_every_other_app_command_is_c1(dut):
    for cmd, data in APP_COMMANDS.items():
        assert dut.raw(NETFN_APP, cmd, data)[0] == CC_OK, f"App 0x{cmd:02x}"
    # Send Message to the satellite itself, as ipmitool sends it to read its sensors
    inner = _ipmb_request(dut.address, NETFN_APP, CMD_GET_SELF_TEST_RESULTS)
    cc, rsp = dut.raw(NETFN_APP, CMD_SEND_MESSAGE, b"\x40" + inner)
    assert cc == CC_OK and rsp[6:9] == bytes((CC_OK, SELF_TEST_OK, 0x00))
    claimed = set(APP_COMMANDS) | {CMD_COLD_RESET, CMD_SEND_MESSAGE}  # reset: its own test
    claimed |= {c for n, c in FIREWALL_COMMANDS if n == NETFN_APP}  # test_firewall_conformance
    answers = {cmd: dut.raw(NETFN_APP, cmd)[0] for cmd in range(256) if cmd not in claimed}
    unclaimed = {cmd: cc for cmd, cc in answers.items() if cc != CC_INVALID_COMMAND}
    assert unclaimed == {}, f"App commands answered but not claimed: {unclaimed}"


def test_unknown_network_functions_are_c1(dut):
    for netfn in (NETFN_BRIDGE, NETFN_FIRMWARE, NETFN_TRANSPORT, 0x10, 0x3E):
        assert dut.raw(netfn, 0x01)[0] == CC_INVALID_COMMAND, f"netFn 0x{netfn:02x}"


def test_wrong_lun_is_c2(dut):
    for lun in (1, 2, 3):
        assert dut.raw(NETFN_APP, CMD_GET_DEVICE_ID, lun=lun)[0] == CC_INVALID_FOR_LUN


def test_wrong_length_is_c7(dut):
    assert dut.raw(NETFN_APP, CMD_GET_DEVICE_ID, b"\x00")[0] == CC_LENGTH
    assert dut.raw(NETFN_APP, CMD_GET_SELF_TEST_RESULTS, b"\x00\x00")[0] == CC_LENGTH


def _request(dut, seq: int, netfn=NETFN_APP, cmd=CMD_GET_DEVICE_ID, lun=0) -> bytes:
    """One request with a chosen sequence number; the whole response frame."""
    intf = dut.interface
    h = IpmbHeaderReq()
    h.netfn, h.rs_lun, h.rq_lun, h.cmdid = netfn, lun, 0, cmd
    h.rs_sa, h.rq_sa, h.rq_seq = dut.address, intf.slave_address, seq
    return intf.router.request(intf, h, None, 1.0)


@pytest.mark.needs("raw-ipmb")
def test_sequence_numbers_are_echoed(dut):
    for seq in (0, 1, 31, 32, 63):
        rsp = _request(dut, seq)
        assert rsp[4] >> 2 == seq and rsp[5] == CMD_GET_DEVICE_ID and rsp[6] == CC_OK


@pytest.mark.needs("raw-ipmb")
def test_a_duplicated_request_is_harmless(dut):
    first = _request(dut, 17)
    second = _request(dut, 17)  # a requester's retry: same sequence number
    assert first == second
    assert client.get_self_test_results(dut) == (SELF_TEST_OK, 0x00)


def test_broadcast_get_device_id(dut, board, hil_chassis):
    data = dut.broadcast_get_device_id()
    assert data is not None, "no answer to Broadcast Get Device ID"
    assert client.decode_device_id(data)["product_id"] == board.config["device"]["product_id"]
    taken = {dut.address, *(hil_chassis.addresses if hil_chassis else ())}
    other = next(a for a in range(0x74, 0xF0, 2) if a not in taken)  # nobody stands there
    assert dut.broadcast_get_device_id(other) is None


def test_self_test_passes(dut):
    assert client.get_self_test_results(dut) == (SELF_TEST_OK, 0x00)


def test_device_guid_is_stable(dut):
    guid = client.get_device_guid(dut)
    assert len(guid) == 16 and guid != bytes(16) and client.get_device_guid(dut) == guid


@pytest.mark.needs("reset")
def test_cold_reset_comes_back_within_the_stated_time(dut, rig, hil_sim):
    """The board is back when it answers with its counters started again: fewer requests
    counted than before the reset (no guess at when the reset is taken)."""
    resets = hil_sim.resets if hil_sim else None
    for _ in range(4):
        client.get_self_test_results(dut)
    before = client.read_counters(dut)["requests"]
    assert dut.raw(NETFN_APP, CMD_COLD_RESET) == (CC_OK, b"")
    deadline = time.monotonic() + rig.reset_seconds
    while time.monotonic() < deadline:
        try:
            if client.read_counters(dut)["requests"] < before:
                break
        except SatmcError:  # not answering while it restarts
            pass
        time.sleep(0.05)
    else:
        pytest.fail(f"no answer from a restarted board within {rig.reset_seconds} s of Cold Reset")
    assert client.get_self_test_results(dut) == (SELF_TEST_OK, 0x00)
    if hil_sim:
        assert hil_sim.resets == resets + 1, "the board did not reset"
