"""The BMC's own commands: identity, self test, GUIDs, channels, probes it refuses, SOL."""

from __future__ import annotations

import time

import pytest

from satmc.bmc.api import OPERATOR, USER
from satmc.ipmi import client, codes

A, T = codes.NETFN_APP, codes.NETFN_TRANSPORT


def test_get_device_id_is_11_bytes_and_decodes(session, bmc):
    cc, data = session.call(A, codes.CMD_GET_DEVICE_ID)
    assert cc == codes.CC_OK and len(data) == 11
    dev = client.decode_device_id(data)
    assert not dev["provides_sdrs"]  # the repository has the SDRs, not the device
    assert dev["ipmi_version"] == "2.0"
    assert set(dev["capabilities"]) == {
        "SDR repository device", "SEL device", "FRU inventory device",
        "IPMB event receiver", "bridge", "sensor device",
    }  # fmt: skip


def test_self_test_passes(session):
    assert session.call(A, codes.CMD_GET_SELF_TEST_RESULTS) == (codes.CC_OK, b"\x55\x00")


def test_device_and_system_guid_are_one_stable_16_byte_guid(session, bmc):
    cc, dev = session.call(A, codes.CMD_GET_DEVICE_GUID)
    cc2, sys_guid = session.call(A, codes.CMD_GET_SYSTEM_GUID)
    assert (cc, cc2) == (0, 0) and len(dev) == 16 and dev == sys_guid == bmc.guid


@pytest.mark.parametrize(
    "asked, channel, medium, sessions",
    [(0x00, 0x00, codes.CHANNEL_MEDIUM_IPMB, 0x00), (0x01, 0x01, codes.CHANNEL_MEDIUM_LAN, 0x80),
     (0x0E, 0x01, codes.CHANNEL_MEDIUM_LAN, 0x80)],
)  # fmt: skip
def test_channel_info(session, asked, channel, medium, sessions):
    cc, data = session.call(A, codes.CMD_GET_CHANNEL_INFO, bytes((asked,)))
    assert cc == codes.CC_OK
    assert data == bytes((channel, medium, codes.CHANNEL_PROTOCOL_IPMB, sessions)) + bytes.fromhex(
        "f21b000000"
    )


def test_channel_info_of_a_channel_that_is_not_there(session):
    assert session.call(A, codes.CMD_GET_CHANNEL_INFO, b"\x05")[0] == codes.CC_INVALID_DATA
    assert session.call(A, codes.CMD_GET_CHANNEL_INFO, b"")[0] == codes.CC_LENGTH


@pytest.mark.parametrize("channel", [0x00, 0x01])
@pytest.mark.parametrize("which", [0x40, 0x80])  # non-volatile, volatile
def test_channel_access(session, channel, which):
    cc, data = session.call(A, codes.CMD_GET_CHANNEL_ACCESS, bytes((channel, which)))
    assert (cc, data) == (codes.CC_OK, bytes((0x22, 0x04)))  # always available; admin limit


@pytest.mark.parametrize(
    "cmd, data", [(0x3E, b""), (0x00, b"\x00"), (0x00, b"\x03")]
)  # HPM.2 LAN attach capabilities, PICMG and VITA Get Properties (ipmitool's probes)
def test_picmg_vita_hpm2_probes_get_c1(session_as, cmd, data):
    for s in (session_as(USER), session_as(OPERATOR, 3)):
        assert s.call(codes.NETFN_GROUP, cmd, data) == (codes.CC_INVALID_COMMAND, b"")


@pytest.mark.parametrize("param", range(9))
def test_sol_parameters_are_not_supported(session, param):
    # what `ipmitool sol info` sends: channel, parameter, set, block
    cc, data = session.call(T, codes.CMD_GET_SOL_CONFIGURATION, bytes((0x0E, param, 0, 0)))
    assert (cc, data) == (codes.CC_SOL_PARAMETER_NOT_SUPPORTED, b"")
    assert codes.cc_text(cc, T, codes.CMD_GET_SOL_CONFIGURATION) == "parameter not supported"


def test_an_unknown_command_and_a_lun_other_than_0(session):
    assert session.call(A, 0x7F)[0] == codes.CC_INVALID_COMMAND
    assert session.call(A, codes.CMD_GET_DEVICE_ID, lun=1)[0] == codes.CC_INVALID_FOR_LUN


def test_a_bmc_without_satellites_is_refused_in_one_line():
    from satmc.bmc.chassis import BenchBmc, BmcError

    with pytest.raises(BmcError, match="at least one satellite"):
        BenchBmc("sim:///nowhere.sock", [])


C = codes.NETFN_CHASSIS


def test_chassis_status_power_is_on_while_the_chassis_answers(session, bmc):
    cc, d = session.call(C, codes.CMD_GET_CHASSIS_STATUS)
    assert cc == 0 and len(d) == 3
    assert d[0] == 0x61  # power on (the satellite answers), restore policy unknown, no faults
    assert d[1] == 0 and d[2] & 0x40  # no last power event; identify state is reported
    cc, d = session.call(C, codes.CMD_GET_CHASSIS_CAPABILITIES)
    assert (cc, d) == (0, bytes((0, 0x20, 0x20, 0x20, 0x20, 0x20)))


def test_chassis_status_of_a_chassis_that_does_not_answer(another_bmc):
    s = another_bmc([0x7A])  # nothing at 0x7a
    cc, d = s.call(C, codes.CMD_GET_CHASSIS_STATUS)
    assert cc == 0 and d[0] & 0x01 == 0


def test_chassis_identify_is_a_state_chassis_status_shows(session_as):
    op, user = session_as(OPERATOR, 3), session_as(USER)
    identify = lambda: user.call(C, codes.CMD_GET_CHASSIS_STATUS)[1][2] >> 4 & 0x03  # noqa: E731
    try:
        assert op.call(C, codes.CMD_CHASSIS_IDENTIFY, b"\x0a") == (0, b"")
        assert identify() == codes.IDENTIFY_TIMED
        assert op.call(C, codes.CMD_CHASSIS_IDENTIFY, b"\x00\x01") == (0, b"")
        assert identify() == codes.IDENTIFY_ON
        assert user.call(C, codes.CMD_CHASSIS_IDENTIFY, b"\x00") == (codes.CC_PRIVILEGE, b"")
        for bad, cc in ((b"\x00\x02", codes.CC_INVALID_DATA), (b"\x00\x01\x00", codes.CC_LENGTH)):
            assert op.call(C, codes.CMD_CHASSIS_IDENTIFY, bad) == (cc, b"")
        assert identify() == codes.IDENTIFY_ON  # refused: nothing changed
    finally:
        assert op.call(C, codes.CMD_CHASSIS_IDENTIFY, b"\x00") == (0, b"")
    assert identify() == codes.IDENTIFY_OFF


def test_chassis_control_is_refused_there_is_no_power_to_switch(session_as, session):
    op = session_as(OPERATOR, 3)
    before = session.call(C, codes.CMD_GET_CHASSIS_STATUS)
    for control in range(6):  # down, up, cycle, hard reset, diagnostic pulse, soft off
        assert op.call(C, codes.CMD_CHASSIS_CONTROL, bytes((control,))) == (
            codes.CC_NOT_IN_STATE, b"",
        )  # fmt: skip
    assert op.call(C, codes.CMD_CHASSIS_CONTROL, b"\x06")[0] == codes.CC_INVALID_DATA
    assert op.call(C, codes.CMD_CHASSIS_CONTROL, b"")[0] == codes.CC_LENGTH
    assert session_as(USER).call(C, codes.CMD_CHASSIS_CONTROL, b"\x01")[0] == codes.CC_PRIVILEGE
    assert session.call(C, codes.CMD_GET_CHASSIS_STATUS) == before


@pytest.mark.parametrize("cmd", [codes.CMD_COLD_RESET, codes.CMD_WARM_RESET])
def test_a_reset_answers_first_then_resets(session, session_as, bmc, cmd):
    dropped = []
    s = codes.NETFN_STORAGE
    sel_rid = session.call(s, codes.CMD_RESERVE_SEL)[1]
    sdr_rid = session.call(s, codes.CMD_RESERVE_SDR_REPOSITORY)[1]
    # a record of our own, to find again after the reset (events may come in meanwhile)
    rec = bytes((0, 0, 0x02, 0, 0, 0, 0, 0x41, 0x04, 0x04, 0x01, 0x42, 0x01, 0x01, 0xFF, 0xFF))
    cc, rid = session.call(s, codes.CMD_ADD_SEL_ENTRY, rec)
    assert cc == 0
    entry = rid + b"\x00\xff"  # Get SEL Entry of that id, whole (no reservation needed)
    kept = session.call(s, codes.CMD_GET_SEL_ENTRY, b"\x00\x00" + entry)
    assert kept[0] == 0
    kept = kept[1][2:]  # the record (the next record id before it moves as events come)
    sel_rid = session.call(s, codes.CMD_RESERVE_SEL)[1]
    sdr_before = session.call(s, codes.CMD_GET_SDR_REPOSITORY_INFO)[1]
    resets = dict(bmc.resets)
    for low in (session_as(USER), session_as(OPERATOR, 3)):
        assert low.call(A, cmd) == (codes.CC_PRIVILEGE, b"")
    assert session.call(A, cmd, b"\x00") == (codes.CC_LENGTH, b"")
    assert bmc.resets == resets  # refused: no reset
    assert session.call(A, cmd, drop_sessions=lambda: dropped.append(1)) == (0, b"")
    kind = "cold" if cmd == codes.CMD_COLD_RESET else "warm"
    deadline = time.monotonic() + 20
    while bmc.resets[kind] == resets[kind]:
        assert time.monotonic() < deadline, "the reset was not taken"
        time.sleep(0.02)
    assert session.out[-1][0] == "response"
    assert dropped == ([1] if kind == "cold" else [])  # a cold reset closes the sessions
    rsv = b"\x00\x00\x01\x04"  # a partial read under the old reservation id
    assert session.call(s, codes.CMD_GET_SEL_ENTRY, sel_rid + rsv)[0] == codes.CC_RESERVATION
    assert session.call(s, codes.CMD_GET_SDR, sdr_rid + rsv)[0] == codes.CC_RESERVATION
    assert session.call(s, codes.CMD_GET_SEL_ENTRY, b"\x00\x00" + entry)[1][2:] == kept  # kept
    assert session.call(s, codes.CMD_GET_SDR_REPOSITORY_INFO)[1] == sdr_before  # same content
