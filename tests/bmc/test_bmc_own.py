"""The BMC's own commands: identity, self test, GUIDs, channels, probes it refuses, SOL."""

from __future__ import annotations

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
