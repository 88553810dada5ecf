"""Conformance of the Firmware Firewall (IPMI 2.0 ch. 21), black-box over IPMB and the
board's serial line: what the satellite reports is its command table, a command disabled
on one channel is refused there (D4) and served on the other, the policy outlives a Cold
Reset, and the firewall's own commands cannot be switched off.

The commands a board registers come from its firmware, run on the MicroPython unix port
(satmc.hil.commands): no list kept by hand.
"""

from __future__ import annotations

import time

import pytest

from satmc.board import FIRMWARE_DIR
from satmc.errors import CompletionCodeError, SatmcError
from satmc.hil.commands import registered_commands
from satmc.ipmi import client
from satmc.ipmi.codes import (
    CC_DISABLED,
    CC_INVALID_DATA,
    CC_OK,
    CC_PRIVILEGE,
    CHANNEL_PRESENT,
    CHANNEL_SERIAL,
    CMD_COLD_RESET,
    CMD_GET_DEVICE_GUID,
    CMD_READ_FRU_DATA,
    CMD_SET_COMMAND_ENABLES,
    FIREWALL_COMMANDS,
    NETFN_APP,
    NETFN_STORAGE,
)


@pytest.fixture
def over_ipmb(rig):
    if rig.target.startswith("serial://"):
        pytest.skip(f"not applicable on rig {rig.name!r}: its target is the serial line")


@pytest.fixture
def registered(board, hil_sim):
    firmware = (hil_sim.firmware_dir if hil_sim else None) or FIRMWARE_DIR
    return registered_commands(board, firmware)


def test_every_registered_command_is_reported_supported_and_no_other(dut, registered):
    reported = {
        (netfn, cmd)
        for netfn in range(0, 0x40, 2)
        for cmd in client.supported_commands(dut, netfn)
    }
    assert reported == registered
    support = client.netfn_support(dut)
    assert support["netfns"][0] == sorted({netfn for netfn, _ in registered})
    assert support["luns"] == ["commands", "none", "none", "none"]


def test_every_registered_command_but_the_firewalls_is_configurable(dut, registered):
    for netfn in sorted({n for n, _ in registered}):
        for cmd, state in client.commands(dut, netfn).items():
            assert state["configurable"] == ((netfn, cmd) not in FIREWALL_COMMANDS)
            assert state["enabled"], f"netFn {netfn:#04x} cmd {cmd:#04x} starts disabled"


def test_a_disabled_command_is_refused_on_its_channel_and_works_on_the_other(
    dut, dut_serial, over_ipmb
):
    client.set_command_enabled(dut, NETFN_APP, CMD_GET_DEVICE_GUID, False)  # here: IPMB
    try:
        assert dut.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_PRIVILEGE
        assert dut_serial.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_OK
        state = client.commands(dut_serial, NETFN_APP, CHANNEL_SERIAL)[CMD_GET_DEVICE_GUID]
        assert state["enabled"]
    finally:
        client.set_command_enabled(dut, NETFN_APP, CMD_GET_DEVICE_GUID, True)
    assert dut.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_OK
    client.set_command_enabled(dut, NETFN_APP, CMD_GET_DEVICE_GUID, False, CHANNEL_SERIAL)
    try:
        assert dut_serial.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_PRIVILEGE
        assert dut.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_OK
    finally:
        client.set_command_enabled(dut, NETFN_APP, CMD_GET_DEVICE_GUID, True, CHANNEL_SERIAL)


def test_a_disabled_fru_device_is_refused_d6_and_the_others_are_served(dut, board, over_ipmb):
    ids = [f["id"] for f in board.config["fru"] if f["id"] < 32]
    if not ids:
        pytest.skip("the board has no FRU device")
    off = ids[-1]
    client.set_subfunction_enabled(dut, NETFN_STORAGE, CMD_READ_FRU_DATA, off, False)
    try:
        assert dut.raw(NETFN_STORAGE, CMD_READ_FRU_DATA, bytes((off, 0, 0, 8)))[0] == CC_DISABLED
        for fru_id in ids[:-1]:
            assert dut.raw(NETFN_STORAGE, CMD_READ_FRU_DATA, bytes((fru_id, 0, 0, 8)))[0] == CC_OK
    finally:
        client.set_subfunction_enabled(dut, NETFN_STORAGE, CMD_READ_FRU_DATA, off, True)
    assert dut.raw(NETFN_STORAGE, CMD_READ_FRU_DATA, bytes((off, 0, 0, 8)))[0] == CC_OK


def test_the_firewalls_own_commands_cannot_be_disabled(dut):
    before = client.commands(dut, NETFN_APP)
    with pytest.raises(CompletionCodeError) as e:
        client.set_command_enabled(dut, NETFN_APP, CMD_SET_COMMAND_ENABLES, False)
    assert e.value.cc == CC_INVALID_DATA
    assert client.commands(dut, NETFN_APP) == before


def _cold_reset_and_wait(dut, seconds: float) -> None:
    """Cold Reset, then wait until the board answers with its counters started again
    (fewer requests than before the reset): no guess at when the reset is taken."""
    for _ in range(4):
        client.get_self_test_results(dut)
    before = client.read_counters(dut)["requests"]
    assert dut.raw(NETFN_APP, CMD_COLD_RESET) == (CC_OK, b"")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if client.read_counters(dut)["requests"] < before:
                return
        except SatmcError:  # not answering while it restarts
            pass
        time.sleep(0.05)
    pytest.fail(f"no answer from a restarted board within {seconds} s of Cold Reset")


@pytest.mark.needs("reset")
def test_the_policy_survives_a_cold_reset(dut, rig, hil_sim):
    resets = hil_sim.resets if hil_sim else None
    client.set_command_enabled(dut, NETFN_APP, CMD_GET_DEVICE_GUID, False, CHANNEL_PRESENT)
    try:
        _cold_reset_and_wait(dut, rig.reset_seconds)
        if hil_sim:
            assert hil_sim.resets == resets + 1, "the board did not reset"
        assert dut.raw(NETFN_APP, CMD_GET_DEVICE_GUID)[0] == CC_PRIVILEGE
    finally:
        client.set_command_enabled(dut, NETFN_APP, CMD_GET_DEVICE_GUID, True, CHANNEL_PRESENT)
