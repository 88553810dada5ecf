"""The SEL: a real threshold crossing on the simulated satellite becomes a SEL record with
the satellite as generator; reading, reserving, adding, clearing, time, the bound, and
privilege refusals that change nothing."""

from __future__ import annotations

import struct
import time

import pytest

from satmc.bmc.api import OPERATOR, USER
from satmc.ipmi import codes

T, S = codes.NETFN_STORAGE, codes.NETFN_SENSOR
TEMP = 1  # Board Temp: UNC 60 C, hysteresis 2 C (tests/test_sensors_e2e.py)


def sel_info(session):
    cc, d = session.call(T, codes.CMD_GET_SEL_INFO)
    assert cc == 0 and len(d) == 14 and d[0] == codes.SEL_VERSION
    count, free, added, erased = struct.unpack("<HHII", d[1:13])
    return count, free, added, erased, d[13]


def reserve(session) -> int:
    cc, d = session.call(T, codes.CMD_RESERVE_SEL)
    assert cc == 0
    return struct.unpack("<H", d)[0]


def entry(session, rid, record, offset=0, count=0xFF):
    return session.call(
        T, codes.CMD_GET_SEL_ENTRY, struct.pack("<HHBB", rid, record, offset, count)
    )


def entries(session) -> list[bytes]:
    out, record = [], 0
    if sel_info(session)[0] == 0:
        return out
    while record != 0xFFFF:
        cc, d = entry(session, 0, record)
        assert cc == 0, hex(cc)
        out.append(d[2:])
        record = struct.unpack("<H", d[:2])[0]
    return out


def clear(session) -> None:
    rid = reserve(session)
    data = struct.pack("<H", rid) + b"CLR"
    assert session.call(T, codes.CMD_CLEAR_SEL, data + b"\xaa") == (0, b"\x01")
    assert session.call(T, codes.CMD_CLEAR_SEL, data + b"\x00") == (0, b"\x01")  # status


def record(kind=0x02, sensor=0x42, data=b"\x01\xff\xff") -> bytes:
    # id, type, time, generator (software 0x41), EvMRev, type, number, dir|type, data 1..3
    return struct.pack("<HBIBBBBBB", 0, kind, 0, 0x41, 0x00, 4, 0x01, sensor, 0x01) + data


@pytest.fixture
def empty(session):
    clear(session)
    assert sel_info(session)[0] == 0
    return session


def test_a_threshold_crossing_is_a_sel_record_from_the_satellite(empty, sim, sat):
    session = empty

    def temp_records(deassert: bool) -> list[bytes]:
        return [r for r in entries(session) if r[11] == TEMP and bool(r[12] & 0x80) == deassert]

    def wait_for(deassert: bool) -> None:
        deadline = time.monotonic() + 15
        while not temp_records(deassert):
            assert time.monotonic() < deadline, f"no SEL record (deassert={deassert})"
            time.sleep(0.05)

    sim.control("device", name="temp0", set={"temperature": 65.0})
    try:
        wait_for(deassert=False)
    finally:
        sim.control("device", name="temp0", set={"temperature": 25.0})
    wait_for(deassert=True)  # back below UNC - hysteresis: the deassertion is logged too
    rec = next(r for r in entries(session) if r[11] == TEMP and not r[12] & 0x80)
    assert len(rec) == 16 and rec[2] == codes.SEL_RECORD_SYSTEM_EVENT
    assert (rec[7], rec[8], rec[9]) == (sat.address, 0x00, codes.EVM_REV)  # generator, EvMRev
    assert (rec[10], rec[12]) == (codes.SENSOR_TYPE_TEMPERATURE, codes.EVENT_TYPE_THRESHOLD)
    assert rec[13] & 0x0F == 0x07 and rec[13] & 0xF0 == 0x50  # UNC going high; reading, threshold
    stamp = struct.unpack("<I", rec[3:7])[0]
    assert abs(stamp - time.time()) < 60
    count, free, added, erased, ops = sel_info(session)
    assert count >= 1 and added >= stamp and ops & 0x02


def test_partial_reads_and_reservations(empty):
    s = empty
    for sensor in (1, 2, 3):
        assert s.call(T, codes.CMD_ADD_SEL_ENTRY, record(sensor=sensor))[0] == 0
    whole = entries(s)
    rid = reserve(s)
    parts = b""
    for off in range(0, 16, 5):
        cc, d = entry(s, rid, 0, off, min(5, 16 - off))
        assert cc == 0
        parts += d[2:]
    assert parts == whole[0]
    assert entry(s, 0, 0, 3, 2)[0] == codes.CC_RESERVATION
    reserve(s)
    assert entry(s, rid, 0, 3, 2)[0] == codes.CC_RESERVATION
    cc, d = entry(s, 0, 0xFFFF)
    assert cc == 0 and d[:2] == b"\xff\xff" and d[2:] == whole[-1]
    assert entry(s, 0, 0x1234)[0] == codes.CC_NOT_PRESENT


def test_add_sel_entry_stamps_system_and_timestamped_oem_records(empty):
    s = empty
    cc, d = s.call(T, codes.CMD_ADD_SEL_ENTRY, record())
    assert cc == 0
    rid = struct.unpack("<H", d)[0]
    cc, d = entry(s, 0, rid)
    rec = d[2:]
    assert (
        rec[:2] == struct.pack("<H", rid)
        and abs(struct.unpack("<I", rec[3:7])[0] - time.time()) < 60
    )
    assert rec[7:] == record()[7:]
    oem = bytes((0, 0, 0xE0)) + bytes(range(13))  # no timestamp in E0h-FFh records
    cc, d = s.call(T, codes.CMD_ADD_SEL_ENTRY, oem)
    assert entry(s, 0, struct.unpack("<H", d)[0])[1][4:] == oem[2:]
    assert s.call(T, codes.CMD_ADD_SEL_ENTRY, b"\x00" * 15)[0] == codes.CC_LENGTH


def test_clear_needs_the_reservation_and_clr(empty):
    s = empty
    s.call(T, codes.CMD_ADD_SEL_ENTRY, record())
    rid = reserve(s)
    assert (
        s.call(T, codes.CMD_CLEAR_SEL, struct.pack("<H", rid) + b"CLX\xaa")[0]
        == codes.CC_INVALID_DATA
    )
    assert (
        s.call(T, codes.CMD_CLEAR_SEL, struct.pack("<H", rid + 1) + b"CLR\xaa")[0]
        == codes.CC_RESERVATION
    )
    assert sel_info(s)[0] == 1
    before = time.time()
    assert s.call(T, codes.CMD_CLEAR_SEL, struct.pack("<H", rid) + b"CLR\xaa") == (0, b"\x01")
    count, _, _, erased, _ = sel_info(s)
    assert count == 0 and erased >= int(before)
    cc, d = s.call(T, codes.CMD_ADD_SEL_ENTRY, record())
    assert d == b"\x01\x00"  # ids start again at 1


def test_sel_time(session):
    cc, d = session.call(T, codes.CMD_GET_SEL_TIME)
    assert cc == 0 and abs(struct.unpack("<I", d)[0] - time.time()) < 60
    try:
        assert session.call(T, codes.CMD_SET_SEL_TIME, struct.pack("<I", 1_000_000)) == (0, b"")
        now = struct.unpack("<I", session.call(T, codes.CMD_GET_SEL_TIME)[1])[0]
        assert 1_000_000 <= now < 1_000_060
    finally:
        session.call(T, codes.CMD_SET_SEL_TIME, struct.pack("<I", int(time.time())))


def test_a_full_sel_refuses_with_out_of_space_and_says_overflow(empty, bmc):
    s = empty
    while sel_info(s)[0] < bmc.sel.capacity:  # a satellite's late event may take a place too
        assert s.call(T, codes.CMD_ADD_SEL_ENTRY, record())[0] == 0
    count, free, _, _, ops = sel_info(s)
    assert (count, free, ops & 0x80) == (bmc.sel.capacity, 0, 0)
    assert s.call(T, codes.CMD_ADD_SEL_ENTRY, record())[0] == codes.CC_OUT_OF_SPACE
    assert sel_info(s)[4] & 0x80  # the overflow flag: an event was refused
    clear(s)
    assert sel_info(s)[4] & 0x80 == 0


def test_a_satellites_event_into_a_full_sel_is_refused_counted_and_kept_until_cleared(
    empty, bmc, sim
):
    """The satellite's Platform Event meets a full SEL: the BMC answers C4h (out of
    space) and counts it, so Get SEL Info says overflow; the satellite, not acked, keeps
    the event and tries again (events.py: TRIES tries, TRY_MS apart), so once the SEL is
    cleared its next try is logged. Nothing is lost silently."""
    s = empty
    while sel_info(s)[0] < bmc.sel.capacity:
        assert s.call(T, codes.CMD_ADD_SEL_ENTRY, record())[0] == 0
    refused = bmc.log.refused
    sim.control("device", name="temp0", set={"temperature": 65.0})
    try:
        deadline = time.monotonic() + 15
        while bmc.log.refused == refused:  # its first try: refused with out of space
            assert time.monotonic() < deadline, "the satellite's event never reached the BMC"
            time.sleep(0.02)
        count, free, _, _, ops = sel_info(s)
        assert (count, free) == (bmc.sel.capacity, 0) and ops & 0x80
        clear(s)  # well within the satellite's next tries
        deadline = time.monotonic() + 15
        while not [r for r in entries(s) if r[11] == TEMP and not r[12] & 0x80]:
            assert time.monotonic() < deadline, "the refused event was not tried again"
            time.sleep(0.05)
    finally:
        sim.control("device", name="temp0", set={"temperature": 25.0})
    assert sel_info(s)[4] & 0x80 == 0  # cleared: the overflow flag with it


def test_a_platform_event_from_the_lan_is_logged_with_the_client_as_generator(empty):
    s = empty
    assert s.call(S, codes.CMD_PLATFORM_EVENT, bytes.fromhex("04 01 05 01 57 50 3c"))[0] == 0
    (rec,) = entries(s)
    assert (rec[7], rec[8], rec[10], rec[11], rec[13:]) == (0x81, 0x10, 1, 5, b"\x57\x50\x3c")


def test_below_the_needed_privilege_nothing_changes(empty, session_as):
    s = empty
    s.call(T, codes.CMD_ADD_SEL_ENTRY, record())
    before = entries(s)
    user = session_as(USER)
    rid = reserve(user)  # user may reserve and read
    assert entries(user) == before
    refused = [
        (T, codes.CMD_ADD_SEL_ENTRY, record()),
        (T, codes.CMD_CLEAR_SEL, struct.pack("<H", rid) + b"CLR\xaa"),
        (T, codes.CMD_SET_SEL_TIME, struct.pack("<I", 5)),
        (S, codes.CMD_PLATFORM_EVENT, bytes.fromhex("04 01 05 01 57 50 3c")),
    ]
    for netfn, cmd, data in refused:
        assert user.call(netfn, cmd, data) == (codes.CC_PRIVILEGE, b"")
    assert entries(s) == before
    assert abs(struct.unpack("<I", s.call(T, codes.CMD_GET_SEL_TIME)[1])[0] - time.time()) < 60
    operator = session_as(OPERATOR, 3)
    assert operator.call(T, codes.CMD_ADD_SEL_ENTRY, record())[0] == 0


def test_sel_info_says_what_is_supported_and_allocation_info_agrees(empty, bmc):
    s = empty
    assert sel_info(s)[4] == 0x0B  # delete, reserve, allocation info; no partial add
    assert s.call(T, codes.CMD_PARTIAL_ADD_SEL_ENTRY, bytes(22))[0] == codes.CC_INVALID_COMMAND
    s.call(T, codes.CMD_ADD_SEL_ENTRY, record())
    cc, d = s.call(T, codes.CMD_GET_SEL_ALLOCATION_INFO)
    units, size, free, largest, max_units = struct.unpack("<HHHHB", d)
    assert cc == 0 and (units, size, max_units) == (bmc.sel.capacity, 16, 1)
    assert free == largest == bmc.sel.capacity - sel_info(s)[0]
    assert free * 16 == sel_info(s)[1]


def delete(session, rid, record_id):
    return session.call(T, codes.CMD_DELETE_SEL_ENTRY, struct.pack("<HH", rid, record_id))


def test_delete_sel_entry_deletes_from_the_event_log(empty, bmc):
    s = empty
    ids = [struct.unpack("<H", s.call(T, codes.CMD_ADD_SEL_ENTRY, record(sensor=n))[1])[0]
           for n in (1, 2, 3, 4)]  # fmt: skip
    before = entries(s)
    rid = reserve(s)
    refused = [
        (struct.pack("<HH", 0, ids[1]), codes.CC_RESERVATION),  # no reservation
        (struct.pack("<HH", rid + 1, ids[1]), codes.CC_RESERVATION),
        (struct.pack("<HH", rid, 0x7777), codes.CC_NOT_PRESENT),
        (struct.pack("<HH", rid, ids[1])[:3], codes.CC_LENGTH),
        (struct.pack("<HH", rid, ids[1]) + b"\x00", codes.CC_LENGTH),
    ]
    for data, cc in refused:
        assert s.call(T, codes.CMD_DELETE_SEL_ENTRY, data) == (cc, b"")
    assert entries(s) == before  # refused: nothing changed
    assert delete(s, rid, ids[1]) == (0, struct.pack("<H", ids[1]))
    assert bmc.log.get(ids[1]) is None  # gone from the SQLite log itself
    assert delete(s, rid, ids[1])[0] == codes.CC_NOT_PRESENT
    assert delete(s, rid, 0) == (0, struct.pack("<H", ids[0]))  # the first, same reservation
    assert delete(s, rid, 0xFFFF) == (0, struct.pack("<H", ids[3]))  # the last
    assert entries(s) == [before[2]]
    reserve(s)
    assert delete(s, rid, ids[2])[0] == codes.CC_RESERVATION  # a newer one cancels it
    assert entries(s) == [before[2]]


def test_addition_and_erase_timestamps_follow_the_spec(empty, bmc):
    s = empty
    try:
        assert s.call(T, codes.CMD_SET_SEL_TIME, struct.pack("<I", 1_000_000))[0] == 0
        first = struct.unpack("<H", s.call(T, codes.CMD_ADD_SEL_ENTRY, record())[1])[0]
        s.call(T, codes.CMD_SET_SEL_TIME, struct.pack("<I", 2_000_000))
        last = struct.unpack("<H", s.call(T, codes.CMD_ADD_SEL_ENTRY, record())[1])[0]
        _, _, added, erased, _ = sel_info(s)
        assert 2_000_000 <= added < 2_000_060  # SEL time of the newest addition
        s.call(T, codes.CMD_SET_SEL_TIME, struct.pack("<I", 3_000_000))
        assert delete(s, reserve(s), last)[0] == 0
        _, _, added2, erased2, _ = sel_info(s)
        assert added2 == added  # deleting the newest record does not move the addition
        assert 3_000_000 <= erased2 < 3_000_060 and erased2 != erased
        s.call(T, codes.CMD_SET_SEL_TIME, struct.pack("<I", 4_000_000))
        clear(s)
        count, _, added3, erased3, _ = sel_info(s)
        assert (count, added3) == (0, added)  # kept: entries were made
        assert 4_000_000 <= erased3 < 4_000_060
        assert first
    finally:
        s.call(T, codes.CMD_SET_SEL_TIME, struct.pack("<I", int(time.time())))


def test_a_user_may_not_delete(empty, session_as):
    s = empty
    rid_id = s.call(T, codes.CMD_ADD_SEL_ENTRY, record())[1]
    before = entries(s)
    user = session_as(USER)
    rid = reserve(user)
    assert user.call(T, codes.CMD_DELETE_SEL_ENTRY, struct.pack("<H", rid) + rid_id) == (
        codes.CC_PRIVILEGE, b"",
    )  # fmt: skip
    assert entries(s) == before
    assert user.call(T, codes.CMD_GET_SEL_ALLOCATION_INFO)[0] == 0
    operator = session_as(OPERATOR, 3)
    assert operator.call(T, codes.CMD_DELETE_SEL_ENTRY, struct.pack("<H", rid) + rid_id)[0] == 0
