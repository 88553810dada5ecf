"""The SDR repository: the satellites' device SDRs plus the BMC's locator, read in parts
under reservations, with timestamps that move only when the content does."""

from __future__ import annotations

import struct
import time

import pytest
from pyipmi.sdr import SdrCommon

from satmc.bmc.api import USER
from satmc.bmc.chassis import mc_locator, presence_record
from satmc.bmc.repository import SdrRepository
from satmc.ipmi import codes
from satmc.sensors import SensorClient

T = codes.NETFN_STORAGE


def info(session) -> tuple[int, int, int, int]:
    cc, d = session.call(T, codes.CMD_GET_SDR_REPOSITORY_INFO)
    assert cc == 0 and len(d) == 14 and d[0] == codes.SDR_VERSION
    count, free, added, erased = struct.unpack("<HHII", d[1:13])
    return count, free, added, erased


def reserve(session) -> int:
    cc, d = session.call(T, codes.CMD_RESERVE_SDR_REPOSITORY)
    assert cc == 0
    return struct.unpack("<H", d)[0]


def get(session, rid, record, offset=0, count=0xFF):
    return session.call(T, codes.CMD_GET_SDR, struct.pack("<HHBB", rid, record, offset, count))


def read_all(session, chunk=16) -> list[bytes]:
    """As ipmitool reads: the 5-byte header, then the rest in chunks."""
    rid = reserve(session)
    out, record = [], 0
    while record != 0xFFFF:
        cc, d = get(session, rid, record, 0, 5)
        assert cc == 0, hex(cc)
        nxt, rec = struct.unpack("<H", d[:2])[0], d[2:]
        while len(rec) < 5 + rec[4]:
            cc, d = get(session, rid, record, len(rec), min(chunk, 5 + rec[4] - len(rec)))
            assert cc == 0, hex(cc)
            rec += d[2:]
        out.append(rec)
        record = nxt
    return out


def test_content_is_the_locator_presence_then_the_satellites_device_sdrs(
    session, bmc, sat, tmp_path
):
    records = read_all(session)
    device = SensorClient(sat, tmp_path).read_raw_records()
    assert records[0][2:] == mc_locator(0x20, bmc.support, "Bench BMC")[2:]
    assert records[1][2:] == presence_record(1, sat.address)[2:]
    assert [r[2:] for r in records[2:]] == [r[2:] for r in device]  # unchanged
    assert [struct.unpack("<H", r[:2])[0] for r in records] == list(range(1, len(records) + 1))
    assert info(session)[0] == len(records) == len(device) + 2
    owners = {r[5] for r in records[2:] if r[3] in (codes.SDR_TYPE_FULL_SENSOR, 0x12)}
    assert owners == {sat.address}
    decoded = SdrCommon.from_data(records[1])  # python-ipmi reads the presence record
    assert (decoded.owner_id, decoded.number, decoded.device_id_string) == (
        0x20, 1, f"Sat {sat.address:02X} Presence"
    )  # fmt: skip


def test_the_presence_sensor_reads_present(session, sat):
    cc, d = session.call(codes.NETFN_SENSOR, codes.CMD_GET_SENSOR_READING, b"\x01")
    assert cc == 0 and d[2] == codes.PRESENCE_PRESENT and not d[1] & 0x20
    sensor = codes.NETFN_SENSOR
    assert session.call(sensor, codes.CMD_GET_SENSOR_READING, b"\x09")[0] == codes.CC_NOT_PRESENT
    assert session.call(sensor, codes.CMD_GET_SENSOR_THRESHOLDS, b"\x01")[0] == (
        codes.CC_ILLEGAL_FOR_TYPE
    )


def test_whole_records_with_ff_and_the_last_record(session):
    whole = read_all(session)
    rid = reserve(session)
    cc, d = get(session, rid, 0, 0, 0xFF)
    assert cc == 0 and d[2:] == whole[0]
    cc, d = get(session, 0, 0xFFFF, 0, 0xFF)  # offset 0 needs no reservation
    assert cc == 0 and d[:2] == b"\xff\xff" and d[2:] == whole[-1]


def test_reservations(session):
    rid = reserve(session)
    assert get(session, 0, 1, 5, 4)[0] == codes.CC_RESERVATION  # a partial read needs one
    assert get(session, rid, 1, 5, 4)[0] == codes.CC_OK
    newer = reserve(session)
    assert newer != rid
    assert get(session, rid, 1, 5, 4)[0] == codes.CC_RESERVATION  # cancelled by the newer
    assert get(session, newer, 1, 5, 4)[0] == codes.CC_OK


def test_records_that_are_not_there_and_bad_requests(session):
    count = info(session)[0]
    assert get(session, 0, count + 1)[0] == codes.CC_NOT_PRESENT
    assert get(session, reserve(session), 1, 200, 1)[0] == codes.CC_OUT_OF_RANGE
    stale = reserve(session)
    reserve(session)
    assert get(session, stale, 1)[0] == codes.CC_RESERVATION  # a stale id, even at offset 0
    assert session.call(T, codes.CMD_GET_SDR, b"\x00")[0] == codes.CC_LENGTH


def test_the_repository_is_read_only(session):
    before = read_all(session)
    for cmd in (codes.CMD_CLEAR_SDR_REPOSITORY, codes.CMD_ADD_SDR, codes.CMD_DELETE_SDR):
        rid = reserve(session)
        cc, _ = session.call(T, cmd, struct.pack("<H", rid) + b"CLR\xaa")
        assert cc == codes.CC_INVALID_COMMAND
    assert read_all(session) == before


def test_allocation_info(session):
    cc, d = session.call(T, codes.CMD_GET_SDR_REPOSITORY_ALLOCATION_INFO)
    units, size, free, largest, maxrec = struct.unpack("<HHHHB", d)
    assert cc == 0 and size == 16 and free == 0 and units >= info(session)[0]


def test_timestamps_stay_across_rescans_without_change(session, loop, bmc):
    before = info(session)
    assert loop.run(bmc.rescan()) is False
    assert loop.run(bmc.rescan()) is False
    assert info(session) == before
    assert before[2] not in (0, codes.TIMESTAMP_UNSPECIFIED) and before[2] == before[3]


def test_a_user_session_reads_the_repository(session_as):
    assert len(read_all(session_as(USER))) > 1


def test_timestamps_change_with_the_content_and_survive_a_restart(tmp_path):
    now = [1000.0]
    state = tmp_path / "sdr.json"
    a = SdrRepository(state, clock=lambda: now[0])
    assert a.update([b"\0\0\x51\x12\x01\x20"])
    first = (a.added, a.erased)
    now[0] = 2000.0
    assert not a.update([b"\x07\x00\x51\x12\x01\x20"])  # same records, other ids: no change
    assert (a.added, a.erased) == first == (1000, 1000)
    b = SdrRepository(state, clock=lambda: now[0])  # a restarted BMC, same content
    b.update([b"\0\0\x51\x12\x01\x20"])
    assert (b.added, b.erased) == first
    rid = b.reservations.reserve()
    assert b.update([b"\0\0\x51\x12\x01\x22"])  # new content: new stamps, reservation gone
    assert (b.added, b.erased) == (2000, 2000)
    assert not b.reservations.valid(rid, True)


@pytest.mark.parametrize("chunk", [1, 7, 22])
def test_any_chunk_size_reassembles_the_same_records(session, chunk):
    assert read_all(session, chunk) == read_all(session, 16)


def test_a_changed_satellite_sdr_is_served_after_its_indicator_moves(session, bmc, sat, tmp_path):
    """Setting a threshold changes the satellite's records and its change indicator; a
    Get SDR Repository Info past the recheck interval starts a check in the background,
    and the new records are served once it is done."""
    before, before_records = info(session), read_all(session)
    client = SensorClient(sat, tmp_path)
    old = client.find("Board Temp")
    client.set_thresholds("Board Temp", unc=58)
    try:
        interval, bmc.recheck_interval = bmc.recheck_interval, 0.0
        try:
            deadline = time.monotonic() + 20
            while (after := info(session))[2] == before[2] and time.monotonic() < deadline:
                time.sleep(0.02)  # each info() starts a check unless one is running
        finally:
            bmc.recheck_interval = interval
        records = read_all(session)
        assert records != before_records and after[0] == before[0]
        assert after[2] > before[2] and after[3] > before[3]  # FreeIPMI's cache sees it
        fresh = SensorClient(sat, tmp_path / "fresh").read_raw_records()
        assert [r[2:] for r in records[2:]] == [r[2:] for r in fresh]
    finally:
        unc = old.convert_sensor_raw_to_value(old.threshold["unc"])
        client.set_thresholds("Board Temp", unc=unc)


def test_an_absent_satellite_has_a_presence_sensor_reading_absent(sim, another_bmc):
    s = another_bmc([sim.address, 0x7C])
    sensor = codes.NETFN_SENSOR
    assert s.call(sensor, codes.CMD_GET_SENSOR_READING, b"\x01")[1][2] == 1  # present
    assert s.call(sensor, codes.CMD_GET_SENSOR_READING, b"\x02")[1][2] == 2  # absent
    records = read_all(s)
    assert records[2][2:] == presence_record(2, 0x7C)[2:]
    assert not [r for r in records[3:] if r[5] == 0x7C]  # nothing else of 0x7C's
    assert any("0x7c" in n for n in s.bmc.notes)


def test_without_presence_sensors_the_locator_alone_stands_before_the_satellites(sim, another_bmc):
    s = another_bmc([sim.address], presence=False)
    records = read_all(s)
    assert records[0][3] == codes.SDR_TYPE_MC_LOCATOR and records[1][5] == sim.address
    assert s.call(codes.NETFN_SENSOR, codes.CMD_GET_SENSOR_READING, b"\x01")[0] == (
        codes.CC_NOT_PRESENT
    )


def test_repository_info_says_read_only(session):
    cc, d = session.call(T, codes.CMD_GET_SDR_REPOSITORY_INFO)
    assert cc == 0 and struct.unpack("<H", d[3:5])[0] == 0  # no free space
    # allocation info and reserve supported; no delete, no partial add, no update mode
    assert d[13] == 0x03
    for cmd in (codes.CMD_PARTIAL_ADD_SDR, codes.CMD_DELETE_SDR):
        assert session.call(T, cmd, bytes(6))[0] == codes.CC_INVALID_COMMAND
