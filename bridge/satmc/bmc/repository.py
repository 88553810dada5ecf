"""The bench BMC's SDR repository and SEL: what they hold and the rules of reading them.

    sdr = SdrRepository(state_file)
    sdr.update([locator] + satellite_records)    # True when the content changed
    cc, data = sdr.get_sdr(request_data)         # Get SDR, partial reads, reservations
    sel = Sel(EventLog(path, capacity=1024))
    cc, data = sel.get_entry(request_data)

The SDR repository is read-only: its content is the BMC's own MC Device Locator and the
satellites' device SDRs, each record unchanged but for its record id (renumbered so ids
are unique in the repository). Its addition and erase timestamps change only when the
content does, and are kept per content in a state file, so a restarted BMC serving the
same records keeps them too (FreeIPMI's SDR cache stays valid while they match).

The SEL is satmc's SQLite event log: each event is a 16-byte system event record (type
02h) with the satellite as generator; records added by clients are kept as given. Delete
SEL Entry deletes the event from that log; the addition and erase timestamps are the
log's own (kept across deletes and clears), in SEL time.

Hand-written: no Python library keeps an SDR repository or a SEL for a BMC to serve.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from pathlib import Path

from ..eventlog import Event, EventLog, EventLogFull
from ..ipmi import codes

MAX_READ = 64  # bytes one Get SDR / Get SEL Entry answers at most (a full SDR is <= 64)
LAST = 0xFFFF  # record id: the last record (request); no next record (response)


# Get SEL Info operation support: delete, reserve, allocation info (no partial add)
SEL_SUPPORTS = 0x08 | 0x02 | 0x01


def _stamp(t: float | None) -> int:
    return codes.TIMESTAMP_UNSPECIFIED if t is None else int(t) & 0xFFFFFFFF


def _u16(b: bytes, i: int) -> int:
    return b[i] | b[i + 1] << 8


def _partial(rec: bytes, offset: int, count: int) -> tuple[int, bytes]:
    if offset > len(rec):
        return codes.CC_OUT_OF_RANGE, b""
    if count == 0xFF:
        count = len(rec) - offset
    if count > MAX_READ and len(rec) - offset > MAX_READ:
        return codes.CC_CANNOT_RETURN, b""
    return codes.CC_OK, rec[offset : offset + count]


def _get_record(reservations, data: bytes, ids: list[int], fetch) -> tuple[int, bytes]:
    """Get SDR / Get SEL Entry: reservation (2), record id (2; 0 first, FFFFh last),
    offset, count (FFh: to the end) -> next record id (2) and the part asked for."""
    if len(data) != 6:
        return codes.CC_LENGTH, b""
    rid, record_id, offset, count = _u16(data, 0), _u16(data, 2), data[4], data[5]
    if not reservations.valid(rid, offset > 0):
        return codes.CC_RESERVATION, b""
    if not ids:
        return codes.CC_NOT_PRESENT, b""
    if record_id == 0:
        index = 0
    elif record_id == LAST:
        index = len(ids) - 1
    else:
        try:
            index = ids.index(record_id)
        except ValueError:
            return codes.CC_NOT_PRESENT, b""
    rec = fetch(ids[index])
    if rec is None:  # gone meanwhile (a SEL cleared by another session)
        return codes.CC_NOT_PRESENT, b""
    nxt = ids[index + 1] if index + 1 < len(ids) else LAST
    cc, part = _partial(rec, offset, count)
    return (cc, struct.pack("<H", nxt) + part) if cc == codes.CC_OK else (cc, b"")


class Reservations:
    """One reservation at a time (as the spec has it): a new one cancels the old."""

    def __init__(self):
        self.current = 0

    def reserve(self) -> int:
        self.current = self.current % 0xFFFF + 1  # 1..FFFFh, never 0
        return self.current

    def cancel(self) -> None:
        self.current = 0

    def valid(self, rid: int, needed: bool) -> bool:
        """A read from offset 0 may go without a reservation (id 0); all else needs it."""
        if rid == 0 and not needed:
            return True
        return rid != 0 and rid == self.current


class SdrRepository:
    def __init__(self, state_file: Path | None = None, clock=time.time):
        self.state_file = state_file
        self.clock = clock
        self.records: list[bytes] = []
        self.added = self.erased = codes.TIMESTAMP_UNSPECIFIED
        self.reservations = Reservations()
        self._digest = ""

    def update(self, records: list[bytes]) -> bool:
        """Serve these records (ids renumbered from 1); True when the content changed."""
        renumbered = [struct.pack("<H", i) + bytes(r[2:]) for i, r in enumerate(records, 1)]
        digest = hashlib.sha256(b"".join(bytes((len(r),)) + r for r in renumbered)).hexdigest()
        if digest == self._digest:
            return False
        self.records, self._digest = renumbered, digest
        self.reservations.cancel()  # a partial read under the old content must restart
        stamp = self._remembered(digest)
        if stamp is None:  # later than the content before, even within its second
            stamp = int(self.clock()) & 0xFFFFFFFF
            if self.added != codes.TIMESTAMP_UNSPECIFIED and stamp <= self.added:
                stamp = self.added + 1
            self._remember(digest, stamp)
        self.added = self.erased = stamp  # new content: the old erased, the new added
        return True

    def _remembered(self, digest: str) -> int | None:
        if self.state_file is None:
            return None
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        return state.get("added") if state.get("digest") == digest else None

    def _remember(self, digest: str, stamp: int) -> None:
        if self.state_file is None:
            return
        try:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps({"digest": digest, "added": stamp}))
        except OSError:
            pass  # only a restarted BMC's timestamps are at stake

    # --- commands (request data -> cc, response data) --------------------------------------

    def info(self) -> bytes:
        return struct.pack(
            "<BHHIIB",
            codes.SDR_VERSION,
            len(self.records),
            0,  # no free space: the repository is read-only
            self.added,
            self.erased,
            0x01 | 0x02,  # Get SDR Repository Allocation Info, Reserve supported
        )

    def allocation_info(self) -> bytes:
        """Units of 16 bytes: as many as the records take, none free."""
        units = sum((len(r) + 15) // 16 for r in self.records)
        return struct.pack("<HHHHB", units, 16, 0, 0, 4)

    def reserve(self) -> bytes:
        return struct.pack("<H", self.reservations.reserve())

    def get_sdr(self, data: bytes) -> tuple[int, bytes]:
        ids = list(range(1, len(self.records) + 1))
        return _get_record(self.reservations, data, ids, lambda i: self.records[i - 1])


class Sel:
    """The SEL over an EventLog (whose capacity bounds it)."""

    def __init__(self, log: EventLog, clock=time.time):
        self.log = log
        self.clock = clock
        self.offset = 0.0  # Set SEL Time: SEL time minus the host clock
        self.reservations = Reservations()
        self._refused_at_clear = log.refused

    def now(self) -> float:
        return self.clock() + self.offset

    @property
    def capacity(self) -> int:
        return min(self.log.capacity or 0xFFFE, 0xFFFE)

    def record(self, ev: Event) -> bytes:
        """The 16-byte SEL record of a logged event."""
        rid = struct.pack("<H", ev.id)
        if ev.record is not None:
            return rid + ev.record[2:]
        data = (bytes(ev.data) + b"\xff\xff\xff")[:3]
        direction = 0x80 if ev.direction == "deassert" else 0
        return rid + struct.pack(
            "<BIBBBBBB3s",
            codes.SEL_RECORD_SYSTEM_EVENT,
            int(ev.time) & 0xFFFFFFFF,
            ev.generator,
            0x00,  # IPMB channel 0, LUN 0
            codes.EVM_REV,
            ev.sensor_type,
            ev.sensor,
            direction | ev.event_type,
            data,
        )

    def info(self) -> bytes:
        """Get SEL Info. The addition timestamp is the last event's, kept when it is
        deleted or the SEL cleared; the erase timestamp the last delete or clear (SEL time)."""
        n = self.log.count()
        overflow = 0x80 if self.log.refused > self._refused_at_clear else 0
        return struct.pack(
            "<BHHIIB",
            codes.SEL_VERSION,
            n,
            min(0xFFFF, max(0, self.capacity - n) * codes.SEL_RECORD_SIZE),
            _stamp(self.log.last_added()),
            _stamp(self.log.erased()),
            overflow | SEL_SUPPORTS,
        )

    def allocation_info(self) -> bytes:
        """Get SEL Allocation Info: one 16-byte unit per record, the free ones in one block."""
        free = max(0, self.capacity - self.log.count())
        return struct.pack("<HHHHB", self.capacity, codes.SEL_RECORD_SIZE, free, free, 1)

    def reserve(self) -> bytes:
        return struct.pack("<H", self.reservations.reserve())

    def get_entry(self, data: bytes) -> tuple[int, bytes]:
        def fetch(event_id: int) -> bytes | None:
            ev = self.log.get(event_id)
            return None if ev is None else self.record(ev)

        return _get_record(self.reservations, data, self.log.ids(), fetch)

    def add_entry(self, data: bytes) -> tuple[int, bytes]:
        """Add SEL Entry: the record as given; the BMC stamps the time of system event
        and timestamped OEM records (types 02h, C0h-DFh)."""
        if len(data) != codes.SEL_RECORD_SIZE:
            return codes.CC_LENGTH, b""
        rec = bytearray(data)
        kind = rec[2]
        now = self.now()
        if kind == codes.SEL_RECORD_SYSTEM_EVENT or 0xC0 <= kind <= 0xDF:
            rec[3:7] = struct.pack("<I", int(now) & 0xFFFFFFFF)
        if kind == codes.SEL_RECORD_SYSTEM_EVENT:
            ev = Event(
                time=now,
                generator=rec[7],
                sensor_type=rec[10],
                sensor=rec[11],
                event_type=rec[12] & 0x7F,
                direction="deassert" if rec[12] & 0x80 else "assert",
                offset=rec[13] & 0x0F,
                data=bytes(rec[13:16]),
            )
        else:
            ev = Event(now, 0, 0, 0, 0, "assert", 0, b"")
        ev.record = bytes(rec)
        return self.add(ev)

    def add(self, ev: Event) -> tuple[int, bytes]:
        if self._full():
            self.log.refused += 1
            return codes.CC_OUT_OF_SPACE, b""
        try:
            rid = self.log.add(ev)
        except EventLogFull:
            return codes.CC_OUT_OF_SPACE, b""
        return codes.CC_OK, struct.pack("<H", rid)

    def _full(self) -> bool:
        ids = self.log.ids()
        return len(ids) >= self.capacity or (ids and ids[-1] >= 0xFFFE)

    def clear(self, data: bytes) -> tuple[int, bytes]:
        if len(data) != 6:
            return codes.CC_LENGTH, b""
        if data[2:5] != b"CLR":
            return codes.CC_INVALID_DATA, b""
        if not self.reservations.valid(_u16(data, 0), True):
            return codes.CC_RESERVATION, b""
        if data[5] == codes.CLEAR_SEL_INITIATE:
            self.log.clear(when=self.now())
            self._refused_at_clear = self.log.refused
        elif data[5] != codes.CLEAR_SEL_STATUS:
            return codes.CC_INVALID_DATA, b""
        return codes.CC_OK, bytes((codes.CLEAR_SEL_COMPLETED,))  # SQLite erases at once

    def delete_entry(self, data: bytes) -> tuple[int, bytes]:
        """Delete SEL Entry: reservation (2, required), record id (2; 0 first, FFFFh last)
        -> the id deleted. The reservation stays (ipmitool deletes several under one)."""
        if len(data) != 4:
            return codes.CC_LENGTH, b""
        if not self.reservations.valid(_u16(data, 0), True):
            return codes.CC_RESERVATION, b""
        record_id, ids = _u16(data, 2), self.log.ids()
        if record_id == 0 and ids:
            record_id = ids[0]
        elif record_id == LAST and ids:
            record_id = ids[-1]
        if not self.log.delete(record_id, when=self.now()):
            return codes.CC_NOT_PRESENT, b""
        return codes.CC_OK, struct.pack("<H", record_id)

    def get_time(self) -> bytes:
        return struct.pack("<I", int(self.now()) & 0xFFFFFFFF)

    def set_time(self, data: bytes) -> tuple[int, bytes]:
        if len(data) != 4:
            return codes.CC_LENGTH, b""
        self.offset = struct.unpack("<I", data)[0] - self.clock()
        return codes.CC_OK, b""
