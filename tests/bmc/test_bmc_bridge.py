"""Send Message bridging to the simulated satellite: order, framing, absent satellites,
the BMC's own address, the nested form, privileges, and the tracking table's rules."""

from __future__ import annotations

import asyncio

import pytest
from pyipmi.interfaces.ipmb import IpmbHeaderReq, IpmbHeaderRsp, checksum, encode_ipmb_msg

from satmc.bmc.api import OPERATOR, USER
from satmc.bmc.bridging import TrackingTable
from satmc.ipmi import codes
from satmc.sensors import SensorClient

A, S = codes.NETFN_APP, codes.NETFN_SENSOR
TRACK = 0x40  # Send Message data byte 1: track request, channel 0


def inner(rs_sa, netfn, cmd, data=b"", rq_sa=0x81, seq=7, lun=0) -> bytes:
    h = IpmbHeaderReq()
    h.rs_sa, h.netfn, h.rs_lun, h.rq_sa, h.rq_seq, h.rq_lun, h.cmdid = (
        rs_sa, netfn, lun, rq_sa, seq, 0, cmd,
    )  # fmt: skip
    return encode_ipmb_msg(h, bytes(data) or None)


def send_message(session, frame: bytes, **kw):
    return session.call(A, codes.CMD_SEND_MESSAGE, bytes((TRACK,)) + frame, **kw)


def decode(msg: bytes) -> tuple[IpmbHeaderRsp, int, bytes]:
    assert checksum(msg[:2]) == msg[2] and checksum(msg[3:-1]) == msg[-1], msg.hex()
    return IpmbHeaderRsp(msg), msg[6], msg[7:-1]


def test_the_send_message_response_comes_first_then_the_satellites(session, sat):
    cc, data = send_message(session, inner(sat.address, A, codes.CMD_GET_DEVICE_ID))
    assert (cc, data) == (codes.CC_OK, b"")  # nothing embedded: the answer follows
    (msg,) = session.wait_emitted(1)
    assert [o[0] for o in session.out] == ["response", "emit"]
    h, cc, data = decode(msg)
    assert (h.rq_sa, h.netfn, h.rs_sa, h.rq_seq, h.cmdid) == (0x81, A + 1, sat.address, 7, 1)
    assert (cc, data) == sat.raw(A, codes.CMD_GET_DEVICE_ID)


def test_freeipmi_form_with_the_bmc_as_requester(session, sat):
    send_message(session, inner(sat.address, A, codes.CMD_GET_DEVICE_ID, rq_sa=0x20, seq=33))
    h, cc, _ = decode(session.wait_emitted(1)[0])
    assert (h.rq_sa, h.rq_seq, cc) == (0x20, 33, codes.CC_OK)


def test_a_satellite_command_with_data_and_its_error_code_pass_through(session, sat):
    send_message(session, inner(sat.address, S, codes.CMD_GET_SENSOR_READING, b"\x01"))
    send_message(session, inner(sat.address, S, codes.CMD_GET_SENSOR_READING, b"\xee", seq=8))
    a, b = session.wait_emitted(2)
    assert decode(a)[1:] == sat.raw(S, codes.CMD_GET_SENSOR_READING, b"\x01")
    assert decode(b)[1] == sat.raw(S, codes.CMD_GET_SENSOR_READING, b"\xee")[0] != 0


def test_an_absent_satellite_is_nak_on_write_and_nothing_follows(session, loop):
    cc, _ = send_message(session, inner(0x7C, A, codes.CMD_GET_DEVICE_ID))
    assert cc == codes.CC_SEND_NAK_ON_WRITE
    assert codes.cc_text(cc, A, codes.CMD_SEND_MESSAGE) == "NAK on write"
    loop.run(asyncio.sleep(0.05))  # any emit would be scheduled within two loop turns
    assert [o[0] for o in session.out] == ["response"]


def test_a_request_to_the_bmcs_own_address_is_answered_by_the_bmc(session, bmc):
    cc, _ = send_message(session, inner(0x20, A, codes.CMD_GET_DEVICE_GUID))
    h, cc2, data = decode(session.wait_emitted(1)[0])
    assert (cc, cc2, h.rs_sa, data) == (0, 0, 0x20, bmc.guid)


def test_the_nested_form_answers_three_times_in_order(session, sat):
    # ipmitool -T/-B: Send Message to the BMC carrying a Send Message to the satellite
    to_sat = inner(sat.address, A, codes.CMD_GET_DEVICE_ID, rq_sa=0x20, seq=9)
    nested = inner(0x20, A, codes.CMD_SEND_MESSAGE, bytes((TRACK,)) + to_sat, seq=9)
    assert send_message(session, nested) == (codes.CC_OK, b"")
    first, second = session.wait_emitted(2)
    h1, cc1, d1 = decode(first)
    h2, cc2, d2 = decode(second)
    assert (h1.cmdid, h1.rs_sa, cc1, d1) == (codes.CMD_SEND_MESSAGE, 0x20, 0, b"")
    assert (h2.cmdid, h2.rs_sa, h2.rq_sa, cc2) == (codes.CMD_GET_DEVICE_ID, sat.address, 0x20, 0)
    assert d2 == sat.raw(A, codes.CMD_GET_DEVICE_ID)[1]


@pytest.mark.parametrize(
    "data",
    [b"", b"\x41" + b"\x72\x18\x76\x81\x1c\x01\x63", b"\x00" + b"\x72\x18\x76\x81\x1c\x01\x63",
     b"\x40\x72\x18\x00\x81\x1c\x01\x63", b"\x40\x72\x18"],
)  # fmt: skip
def test_malformed_send_messages_are_refused(session, data):
    cc, _ = session.call(A, codes.CMD_SEND_MESSAGE, data)
    assert cc in (codes.CC_LENGTH, codes.CC_INVALID_DATA)


def test_a_bridged_command_needs_its_own_privilege(session_as, sat, tmp_path):
    before = SensorClient(sat, tmp_path / "a").find("Board Temp").threshold["unc"]
    user = session_as(USER)
    data = bytes((1, 0x08, 0, 0, 0, 0xFF, 0, 0))  # Set Sensor Thresholds: UNC = 255 raw
    cc, _ = send_message(user, inner(sat.address, S, codes.CMD_SET_SENSOR_THRESHOLDS, data))
    assert cc == codes.CC_PRIVILEGE
    assert [o[0] for o in user.out] == ["response"]
    assert SensorClient(sat, tmp_path / "b").find("Board Temp").threshold["unc"] == before
    # reads pass at user level
    send_message(user, inner(sat.address, S, codes.CMD_GET_SENSOR_READING, b"\x01"))
    assert decode(user.wait_emitted(1)[0])[1] == 0


def test_send_message_below_user_is_refused(session_as, sat):
    s = session_as(1)  # callback
    assert send_message(s, inner(sat.address, A, codes.CMD_GET_DEVICE_ID))[0] == codes.CC_PRIVILEGE


def test_operator_may_bridge_operator_commands(session_as, sat):
    s = session_as(OPERATOR)
    data = b"\x01\xc0\x00\x00"  # Set Sensor Event Enable: all events, scanning, no change
    send_message(s, inner(sat.address, S, codes.CMD_SET_SENSOR_EVENT_ENABLE, data))
    assert (
        decode(s.wait_emitted(1)[0])[1] == sat.raw(S, codes.CMD_SET_SENSOR_EVENT_ENABLE, data)[0]
    )


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_the_tracking_table_is_bounded_and_entries_expire():
    async def go():
        clock = Clock()
        t = TrackingTable(size=2, lifetime=5.0, clock=clock)
        a, new_a = t.open(("s", 1))
        b, new_b = t.open(("s", 2))
        full, _ = t.open(("s", 3))
        assert new_a and new_b and full is None and t.refused == 1
        again, new = t.open(("s", 1))  # a retry of a request in flight joins it
        assert again is a and not new and t.duplicates == 1
        clock.t = 4.9
        assert t.holds(a)
        clock.t = 5.0  # the sequence lifetime: gone, its waiters cancelled
        assert not t.holds(a) and a.future.cancelled() and t.expired == 2 and len(t) == 0
        c, new_c = t.open(("s", 3))
        assert new_c
        t.close(c)
        assert len(t) == 0

    asyncio.run(go())


def test_a_full_tracking_table_answers_busy_and_forwards_nothing(session, bmc, loop, sat):
    size = bmc.tracking.size
    bmc.tracking.size = 0
    try:
        cc, _ = send_message(session, inner(sat.address, A, codes.CMD_GET_DEVICE_ID))
    finally:
        bmc.tracking.size = size
    assert cc == codes.CC_BUSY and [o[0] for o in session.out] == ["response"]


def test_concurrent_requests_each_get_their_own_answer(loop, bmc, session_as, sat):
    sessions = [session_as(USER, 10 + i) for i in range(8)]

    async def all_at_once():
        reqs = [
            s.request(A, codes.CMD_SEND_MESSAGE, bytes((TRACK,)) + inner(
                sat.address, S, codes.CMD_GET_SENSOR_READING, bytes((1 + i % 3,)), seq=i))
            for i, s in enumerate(sessions)
        ]  # fmt: skip
        return await asyncio.gather(*(bmc.handle(r) for r in reqs))

    assert all(cc == 0 for cc, _ in loop.run(all_at_once()))
    for i, s in enumerate(sessions):
        h, cc, data = decode(s.wait_emitted(1)[0])
        assert (h.rq_seq, cc) == (i, 0)


def test_a_slow_satellite_stalls_nobody_else(session, session_as, sat, slow_satellite):
    """While 0x72's worker is held (a satellite taking its time), a request to another
    address and the BMC's own commands are answered; 0x72's request then completes."""
    frame = b"\x40" + inner(sat.address, A, codes.CMD_GET_DEVICE_ID)
    with slow_satellite(session, sat.address, frame) as pending:
        # the same session and rqSeq to another address: a request of its own
        assert send_message(session, inner(0x7C, A, codes.CMD_GET_DEVICE_ID))[0] == (
            codes.CC_SEND_NAK_ON_WRITE
        )
        assert session_as(USER, 20).call(A, codes.CMD_GET_DEVICE_ID)[0] == codes.CC_OK
        assert not pending.done()
    assert decode(session.wait_emitted(1)[0])[1] == codes.CC_OK
