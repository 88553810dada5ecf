"""Conformance: what any satmc satellite must do, checked black-box over IPMB.

Only the bridge API and standard IPMI: the same tests run against the simulator and
against a real board on a rig.
"""

from __future__ import annotations

import time

import pytest
from pyipmi.interfaces.ipmb import IpmbHeaderReq

from satmc.cli.device import decode_device_id
from satmc.errors import BusError, NoResponseError

NETFN_APP = 0x06
APP_COMMANDS = {0x01: b"", 0x04: b"", 0x08: b""}  # answered without side effects


def test_device_id_matches_the_board_file(dut, board):
    dev = decode_device_id(dut.call(NETFN_APP, 0x01))
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
        assert dut.raw(NETFN_APP, cmd, data)[0] == 0x00, f"App 0x{cmd:02x}"
    # Send Message to the satellite itself, as ipmitool sends it to read its sensors
    cc, rsp = dut.raw(NETFN_APP, 0x34, b"\x40" + _ipmb_request(dut.address, NETFN_APP, 0x04))
    assert cc == 0 and rsp[6:9] == b"\x00\x55\x00"
    claimed = set(APP_COMMANDS) | {0x02, 0x34}  # Cold Reset is left to its own test
    answers = {cmd: dut.raw(NETFN_APP, cmd)[0] for cmd in range(256) if cmd not in claimed}
    unclaimed = {cmd: cc for cmd, cc in answers.items() if cc != 0xC1}
    assert unclaimed == {}, f"App commands answered but not claimed: {unclaimed}"


def test_unknown_network_functions_are_c1(dut):
    for netfn in (0x02, 0x08, 0x0C, 0x10, 0x3E):
        assert dut.raw(netfn, 0x01)[0] == 0xC1, f"netFn 0x{netfn:02x}"


def test_wrong_lun_is_c2(dut):
    for lun in (1, 2, 3):
        assert dut.raw(NETFN_APP, 0x01, lun=lun)[0] == 0xC2


def test_wrong_length_is_c7(dut):
    assert dut.raw(NETFN_APP, 0x01, b"\x00")[0] == 0xC7
    assert dut.raw(NETFN_APP, 0x04, b"\x00\x00")[0] == 0xC7


def _request(dut, seq: int, netfn=NETFN_APP, cmd=0x01, lun=0) -> bytes:
    """One request with a chosen sequence number; the whole response frame."""
    intf = dut.interface
    h = IpmbHeaderReq()
    h.netfn, h.rs_lun, h.rq_lun, h.cmdid = netfn, lun, 0, cmd
    h.rs_sa, h.rq_sa, h.rq_seq = dut.address, intf.slave_address, seq
    return intf.router.request(intf, h, None, 1.0)


def test_sequence_numbers_are_echoed(dut):
    for seq in (0, 1, 31, 32, 63):
        rsp = _request(dut, seq)
        assert rsp[4] >> 2 == seq and rsp[5] == 0x01 and rsp[6] == 0x00


def test_a_duplicated_request_is_harmless(dut):
    first = _request(dut, 17)
    second = _request(dut, 17)  # a requester's retry: same sequence number
    assert first == second
    assert dut.call(0x06, 0x04) == b"\x55\x00"


def test_broadcast_get_device_id(dut, board):
    data = dut.broadcast_get_device_id()
    assert data is not None, "no answer to Broadcast Get Device ID"
    assert decode_device_id(data)["product_id"] == board.config["device"]["product_id"]
    other = 0x74 if dut.address != 0x74 else 0x76
    assert dut.broadcast_get_device_id(other) is None


def test_self_test_passes(dut):
    assert dut.call(NETFN_APP, 0x04) == b"\x55\x00"


def test_device_guid_is_stable(dut):
    guid = dut.call(NETFN_APP, 0x08)
    assert len(guid) == 16 and guid != bytes(16) and dut.call(NETFN_APP, 0x08) == guid


@pytest.mark.needs("reset")
def test_cold_reset_comes_back_within_the_stated_time(dut, rig, hil_sim):
    resets = hil_sim.resets if hil_sim else None
    assert dut.raw(NETFN_APP, 0x02) == (0, b"")
    time.sleep(0.2)  # the board takes the reset after its response has gone out
    start = time.monotonic()
    deadline = start + rig.reset_seconds
    while time.monotonic() < deadline:
        try:
            if dut.raw(NETFN_APP, 0x04)[0] == 0:
                break
        except (NoResponseError, BusError):
            time.sleep(0.05)
    else:
        pytest.fail(f"no answer within {rig.reset_seconds} s of Cold Reset")
    assert dut.call(NETFN_APP, 0x04) == b"\x55\x00"
    if hil_sim:
        assert hil_sim.resets == resets + 1, "the board did not reset"
