"""Platform events from satellites: received, answered, and kept in a SQLite log.

    log = EventLog()                                  # $SATMC_EVENT_LOG or ~/.local/share/satmc
    with EventReceiver(sat, log, on_event=print):     # answers Platform Event requests
        ...                                           # events arrive on the router's thread
    for ev in log.events(limit=20):
        print(ev.describe())

The receiver registers a raw handler for netFn 04 cmd 02 on the connection's
python-ipmi MessageRouter, so each event is answered (the satellite stops retrying) and
logged once: a retry carries the same rqSeq and data and is answered but not logged
again. On a master-only connection (readback) it keeps polling the satellite.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pyipmi.errors import DecodingError
from pyipmi.msgs import decode_message
from pyipmi.msgs.sensor import PlatformEventReq

from .errors import SatmcError
from .ipmi.codes import (
    CC_LENGTH,
    CC_OK,
    CC_OUT_OF_SPACE,
    CMD_PLATFORM_EVENT,
    EVENT_TYPE_THRESHOLD,
    NETFN_SENSOR,
    PRESENCE_OFFSETS,
    SENSOR_TYPE_ENTITY_PRESENCE,
    THRESHOLD_OFFSETS,
    UNITS,
)

DUPLICATE_WINDOW = 10.0  # seconds a (generator, seq, data) is remembered

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,            -- seconds since the epoch, when received
    generator INTEGER NOT NULL,    -- IPMB address of the satellite (rqSA)
    sensor_type INTEGER NOT NULL,
    sensor INTEGER NOT NULL,       -- sensor number
    sensor_name TEXT,
    event_type INTEGER NOT NULL,   -- event/reading type (01 threshold, 6F sensor specific)
    direction TEXT NOT NULL,       -- assert | deassert
    offset INTEGER NOT NULL,
    reading INTEGER,               -- raw trigger reading (threshold events)
    threshold INTEGER,             -- raw threshold (threshold events)
    reading_value REAL,            -- converted with the sensor's SDR, when known
    threshold_value REAL,
    unit TEXT,
    data BLOB NOT NULL,            -- event data 1..3
    record BLOB                    -- a whole 16-byte SEL record, when one was given
)
"""
META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)"


@dataclass
class Event:
    time: float
    generator: int
    sensor_type: int
    sensor: int
    event_type: int
    direction: str
    offset: int
    data: bytes
    sensor_name: str | None = None
    reading: int | None = None
    threshold: int | None = None
    reading_value: float | None = None
    threshold_value: float | None = None
    unit: str | None = None
    id: int | None = None
    record: bytes | None = None  # the SEL record as given (Add SEL Entry), if any

    @property
    def what(self) -> str:
        if self.event_type == EVENT_TYPE_THRESHOLD and self.offset < len(THRESHOLD_OFFSETS):
            return THRESHOLD_OFFSETS[self.offset]
        if self.sensor_type == SENSOR_TYPE_ENTITY_PRESENCE and self.offset < len(PRESENCE_OFFSETS):
            return PRESENCE_OFFSETS[self.offset]
        return f"offset {self.offset}"

    def describe(self) -> str:
        name = self.sensor_name or f"sensor {self.sensor}"
        text = f"0x{self.generator:02x} {name}: {self.what} {self.direction}ed"
        if self.reading_value is not None:
            unit = f" {self.unit}" if self.unit else ""
            text += (
                f", reading {self.reading_value:g}{unit}"
                f" (threshold {self.threshold_value:g}{unit})"
            )
        elif self.reading is not None:
            text += f", raw reading 0x{self.reading:02x} (threshold 0x{self.threshold:02x})"
        return text


def parse_platform_event(
    generator: int, data: bytes, records: dict | None = None, now: float | None = None
) -> Event:
    """An Event from Platform Event request data (EvMRev, type, number, dir|type, data 1..3),
    decoded with python-ipmi's PlatformEventReq; ValueError when it is too short."""
    req = PlatformEventReq()
    try:
        decode_message(req, bytes(data))
    except DecodingError:
        raise ValueError("Platform Event request too short") from None
    ev_data = bytes(req.event_data[:3])
    if not ev_data:
        raise ValueError("Platform Event request without event data")
    ev = Event(
        time=time.time() if now is None else now,
        generator=generator,
        sensor_type=req.sensor_type,
        sensor=req.sensor_number,
        event_type=req.event_type.type,
        direction="deassert" if req.event_type.dir else "assert",
        offset=ev_data[0] & 0x0F,
        data=ev_data,
    )
    if ev.event_type == EVENT_TYPE_THRESHOLD and len(ev_data) == 3 and ev_data[0] & 0xF0 == 0x50:
        ev.reading, ev.threshold = ev_data[1], ev_data[2]
    rec = (records or {}).get((generator, ev.sensor))
    if rec is not None:
        ev.sensor_name = rec.device_id_string
        if ev.reading is not None:
            ev.reading_value = rec.convert_sensor_raw_to_value(ev.reading)
            ev.threshold_value = rec.convert_sensor_raw_to_value(ev.threshold)
            ev.unit = UNITS.get(rec.units_2)
    return ev


def default_path() -> Path:
    p = os.environ.get("SATMC_EVENT_LOG")
    if p:
        return Path(p)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "satmc" / "events.sqlite"


_COLUMNS = (
    "time",
    "generator",
    "sensor_type",
    "sensor",
    "sensor_name",
    "event_type",
    "direction",
    "offset",
    "reading",
    "threshold",
    "reading_value",
    "threshold_value",
    "unit",
    "data",
    "record",
)


class EventLogFull(SatmcError):
    """The event log holds its capacity of events; nothing more is logged until cleared."""


class EventLog:
    """The persistent event log (one SQLite file; safe to use from several threads).

    With a capacity, `add` raises EventLogFull once that many events are kept, and the
    refusal is counted in `refused` (nothing is dropped silently): the sender hears
    "out of space" and keeps the event. `clear` empties the log and restarts the ids."""

    @classmethod
    def existing(cls, path: str | Path | None = None) -> EventLog | None:
        """The log at path if it exists (None when no event was logged there yet), for
        readers that must not create one; a directory that does not exist is an error."""
        p = Path(path) if path is not None else default_path()
        if p.exists():
            return cls(p)
        if path is not None and not p.parent.is_dir():
            raise SatmcError(
                f"{p}: no directory {p.parent} (satmc events --follow --log FILE makes a log)"
            )
        return None

    def __init__(self, path: str | Path | None = None, capacity: int | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.capacity = capacity
        self.refused = 0
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(SCHEMA)
            self._db.execute(META)
            cols = {r[1] for r in self._db.execute("PRAGMA table_info(events)")}
            if "record" not in cols:  # a log written before SEL records were kept
                self._db.execute("ALTER TABLE events ADD COLUMN record BLOB")

    def add(self, ev: Event) -> int:
        with self._lock, self._db:
            if self.capacity is not None:
                (n,) = self._db.execute("SELECT COUNT(*) FROM events").fetchone()
                if n >= self.capacity:
                    self.refused += 1
                    raise EventLogFull(f"the event log {self.path} holds {n} events; clear it")
            cur = self._db.execute(
                f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES "
                f"({', '.join('?' for _ in _COLUMNS)})",
                tuple(getattr(ev, c) for c in _COLUMNS),
            )
            ev.id = cur.lastrowid
        return ev.id

    def _rows(self, where: str, args: tuple) -> list[Event]:
        q = f"SELECT id, {', '.join(_COLUMNS)} FROM events {where}"
        with self._lock:
            rows = self._db.execute(q, args).fetchall()
        out = []
        for row in rows:
            ev = Event(**dict(zip(("id",) + _COLUMNS, row, strict=True)))
            ev.data = bytes(ev.data)
            if ev.record is not None:
                ev.record = bytes(ev.record)
            out.append(ev)
        return out

    def events(self, limit: int | None = None, since_id: int = 0) -> list[Event]:
        if limit:
            return self._rows(
                "WHERE id IN (SELECT id FROM events WHERE id > ? ORDER BY id DESC LIMIT ?) "
                "ORDER BY id",
                (since_id, limit),
            )
        return self._rows("WHERE id > ? ORDER BY id", (since_id,))

    def get(self, event_id: int) -> Event | None:
        rows = self._rows("WHERE id = ?", (event_id,))
        return rows[0] if rows else None

    def ids(self) -> list[int]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM events ORDER BY id")]

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def last_time(self) -> float | None:
        """When the newest event was logged (None: the log is empty)."""
        with self._lock:
            return self._db.execute("SELECT MAX(time) FROM events").fetchone()[0]

    def last_added(self) -> float | None:
        """When the newest event was logged, also if it was deleted since (None: never)."""
        with self._lock:
            newest = self._newest()
        return None if newest is None else newest[1]

    def _newest(self) -> tuple[int, float] | None:
        """(id, time) of the last event added: the newest row, or the one remembered when
        rows were deleted (id 0 after a clear: any row added since is newer)."""
        row = self._db.execute("SELECT id, time FROM events ORDER BY id DESC LIMIT 1").fetchone()
        saved, saved_id = self._meta("added"), self._meta("added_id") or 0
        if row is not None and (saved is None or row[0] > saved_id):
            return row[0], row[1]
        return None if saved is None else (saved_id, saved)

    def _remember_newest(self, after_clear: bool) -> None:
        newest = self._newest()
        if newest is not None:
            self._set_meta("added", newest[1])
            self._set_meta("added_id", 0 if after_clear else newest[0])

    def _meta(self, key: str):
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def clear(self, when: float | None = None) -> int:
        """Delete every event; the next one gets id 1 again. The time (`when`, else now)
        is kept as meta "cleared" and "erased", the last addition's as "added"."""
        with self._lock, self._db:
            self._remember_newest(after_clear=True)
            n = self._db.execute("DELETE FROM events").rowcount
            try:
                self._db.execute("DELETE FROM sqlite_sequence WHERE name = 'events'")
            except sqlite3.OperationalError:
                pass  # no row inserted yet: no sequence to restart
            when = time.time() if when is None else when
            self._set_meta("cleared", when)
            self._set_meta("erased", when)
            return n

    def delete(self, event_id: int, when: float | None = None) -> bool:
        """Delete one event (its id is not given again); False when there is none. The
        time (`when`, else now) is kept as meta "erased", the last addition's as "added"."""
        with self._lock, self._db:
            self._remember_newest(after_clear=False)
            if not self._db.execute("DELETE FROM events WHERE id = ?", (event_id,)).rowcount:
                return False
            self._set_meta("erased", time.time() if when is None else when)
            return True

    def cleared(self) -> float | None:
        """When the log was last cleared (None: never)."""
        with self._lock:
            return self._meta("cleared")

    def erased(self) -> float | None:
        """When events were last removed, cleared or deleted one by one (None: never)."""
        with self._lock:
            stamp = self._meta("erased")
            return self._meta("cleared") if stamp is None else stamp

    def close(self) -> None:
        self._db.close()


class EventReceiver:
    """Answers and logs the Platform Events a satellite sends on one connection."""

    def __init__(
        self,
        sat,
        log: EventLog | None = None,
        records: dict | None = None,
        on_event=None,
        clock=time.time,
    ):
        self.sat = sat
        self.clock = clock  # the time an event is logged with (the SEL's clock)
        self.log = log
        self.records = records if records is not None else {}
        self.on_event = on_event
        self.received: list[Event] = []
        self.duplicates = 0
        self._seen: dict[tuple, float] = {}
        self._lock = threading.Lock()

    def add_records(self, records) -> None:
        """Sensor SDRs (python-ipmi records) to name events and convert their readings."""
        for r in records:
            if hasattr(r, "convert_sensor_raw_to_value"):
                self.records[(r.owner_id, r.number)] = r

    def start(self) -> EventReceiver:
        intf = self.sat.interface
        intf.router.register_raw_handler(NETFN_SENSOR, CMD_PLATFORM_EVENT, self._handle)
        poller = getattr(intf, "poller", None)
        if poller is not None:
            poller.follow(self.sat.address >> 1)
        return self

    def follow(self, address: int) -> None:
        """Also fetch the events of the satellite at `address` (8-bit) on a master-only
        connection; with a slave-capable one every satellite's events arrive anyway."""
        poller = getattr(self.sat.interface, "poller", None)
        if poller is not None:
            poller.follow(address >> 1)

    def stop(self) -> None:
        intf = self.sat.interface
        intf.router.unregister_handler(NETFN_SENSOR, CMD_PLATFORM_EVENT)
        poller = getattr(intf, "poller", None)
        if poller is not None:
            poller.unfollow(self.sat.address >> 1)

    def __enter__(self) -> EventReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _handle(self, interface, header, data: bytes) -> bytes:
        now = time.monotonic()
        key = (header.rq_sa, header.rq_seq, bytes(data))
        with self._lock:
            for k in [k for k, t in self._seen.items() if now - t > DUPLICATE_WINDOW]:
                del self._seen[k]
            if key in self._seen:
                self.duplicates += 1
                return bytes((CC_OK,))
            self._seen[key] = now
        try:
            ev = parse_platform_event(header.rq_sa, data, self.records, now=self.clock())
        except ValueError:
            return bytes((CC_LENGTH,))
        if self.log is not None:
            try:
                self.log.add(ev)
            except EventLogFull:
                with self._lock:
                    del self._seen[key]  # its retry is a new chance, not a duplicate
                return bytes((CC_OUT_OF_SPACE,))
        with self._lock:
            self.received.append(ev)
        if self.on_event is not None:
            self.on_event(ev)
        return bytes((CC_OK,))

    def wait_for(self, count: int, timeout: float) -> list[Event]:
        """Block until `count` events arrived (or timeout); the events so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    break
            time.sleep(0.02)
        with self._lock:
            return list(self.received)
