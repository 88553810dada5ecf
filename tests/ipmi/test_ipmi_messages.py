"""satmc's OEM messages: registered with python-ipmi, byte-exact, named by the firmware."""

from __future__ import annotations

import ast

import pytest
from pyipmi.errors import DescriptionError
from pyipmi.msgs import (
    create_message,
    create_request_by_name,
    decode_message,
    encode_message,
    register_message_class,
)

from satmc.ipmi import codes, messages


def test_oem_messages_are_registered_by_name_and_number():
    req = create_request_by_name("SatmcGetStatistics")
    assert (req.netfn, req.cmdid) == (codes.NETFN_OEM, codes.CMD_GET_STATISTICS)
    rsp = create_message(codes.NETFN_OEM | 1, codes.CMD_GET_HEAP_INFO, None)
    assert isinstance(rsp, messages.SatmcGetHeapInfoRsp)


def test_a_second_registration_is_refused():
    with pytest.raises(DescriptionError):
        register_message_class(messages.SatmcGetStatisticsReq)


def test_statistics_and_heap_bytes():
    req = messages.SatmcGetStatisticsReq()
    req.page = 2
    assert encode_message(req) == b"\x02"
    rsp = messages.SatmcGetStatisticsRsp()
    decode_message(rsp, bytes.fromhex("00 1a 19 05 00 01 00"))
    assert (rsp.total, rsp.first, bytes(rsp.values)) == (26, 25, b"\x05\x00\x01\x00")
    ask = messages.SatmcGetHeapInfoReq()
    assert encode_message(ask) == b"\x00"  # options: measure as it stands
    ask.options = 1  # collect first
    assert encode_message(ask) == b"\x01"
    heap = messages.SatmcGetHeapInfoRsp()
    decode_message(heap, b"\x00" + bytes(range(16)))
    assert heap.free == 0x03020100 and heap.hot_frames == 0x0F0E0D0C


def test_event_receiver_messages_carry_the_whole_address():
    req = messages.SetEventReceiverAddressReq()
    req.address = 0xFF  # off: python-ipmi's declaration can only send FEh
    assert encode_message(req) == b"\xff\x00"
    rsp = messages.GetEventReceiverAddressRsp()
    decode_message(rsp, b"\x00\xff\x00")
    assert (rsp.address, rsp.receiver_lun) == (0xFF, 0)


def test_counter_names_are_the_firmwares_own_list():
    tree = ast.parse(messages.COUNTERS_PY.read_text())
    (names,) = [
        n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "NAMES"
    ]
    assert messages.COUNTER_NAMES == tuple(ast.literal_eval(names))


def test_firewall_requests_are_the_bytes_ipmitool_sends():
    # ipmitool's lib/ipmi_firewall.c: [channel, op << 6 | netFn, LUN (, command)], 0Eh
    # its default channel; Set Command Enables carries the 16-byte mask after the LUN
    req = create_request_by_name("GetCommandSupport")
    req.of_netfn, req.extra = 0x40 | codes.NETFN_APP, b""
    assert encode_message(req) == bytes((0x0E, 0x46, 0x00))
    req = messages.SetCommandEnablesReq()
    req.channel, req.of_netfn, req.mask, req.extra = 0, 0x0A, bytes(range(16)), b""
    assert encode_message(req) == bytes((0x00, 0x0A, 0x00, *range(16)))
    req = messages.SetCommandSubfunctionEnablesReq()
    req.channel, req.of_netfn, req.of_command = 1, 0x0A, 0x11
    req.extra = b"\xfd\xff\xff\xff"
    assert encode_message(req) == bytes((0x01, 0x0A, 0x00, 0x11, 0xFD, 0xFF, 0xFF, 0xFF))
    rsp = create_message(codes.NETFN_APP | 1, codes.CMD_GET_NETFN_SUPPORT, None)
    decode_message(rsp, bytes((0, 0x01, 0x3A, 0, 0, 0, *bytes(12))))
    assert rsp.lun_support == 0x01 and bytes(rsp.netfns)[0] == 0x3A
