"""Sensors of a satellite, decoded on the host with python-ipmi's SDR classes.

    client = SensorClient(sat)
    for r in client.read_all():          # SDRs from the cache when the satellite's
        print(r.name, r.text, r.status)  # change indicator still matches
    client.set_thresholds("Board Temp", unc=65, uc=80)

The device SDRs are cached per satellite address with the SDR change indicator they
were read at (the sensor population change indicator of Get Device SDR Info, which the
firmware derives from the records' contents), in memory and under
$XDG_CACHE_HOME/satmc as one file per satellite (`sdr-72.json`), replaced when the
indicator moves, so the cache never grows beyond one entry per satellite and a warm
listing costs one Get Device SDR Info plus one Get Sensor Reading per sensor.
Decoding uses python-ipmi (an implementation independent of the firmware's encoder).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pyipmi.errors import CompletionCodeError as PyipmiCCError
from pyipmi.sdr import SdrCommon, SdrFullSensorRecord

from .board.order import ORDER, describe, misordered
from .errors import CompletionCodeError, SatmcError
from .ipmi import client
from .ipmi.codes import (
    CC_INVALID_COMMAND,
    CC_RESERVATION,
    EVENT_TYPE_THRESHOLD,
    PRESENCE_OFFSETS,
    PRESENCE_STATES,
    SENSOR_TYPES,
    UNITS,
)

THRESHOLDS = ("lnc", "lcr", "lnr", "unc", "ucr", "unr")  # python-ipmi's names, status bit order
SHORT = {"lnc": "lnc", "lc": "lcr", "lnr": "lnr", "unc": "unc", "uc": "ucr", "unr": "unr"}


class SensorError(SatmcError):
    """A sensor name is unknown or a sensor rejected the request."""


class NoSensorsError(SensorError):
    """The satellite serves no device SDRs (Get Device SDR Info answers C1)."""


@dataclass
class Reading:
    """One sensor's reading, converted with its SDR."""

    record: SdrFullSensorRecord
    raw: int | None
    states: int | None
    value: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)  # lnc lc lnr unc uc unr

    @property
    def name(self) -> str:
        return self.record.device_id_string

    @property
    def number(self) -> int:
        return self.record.number

    @property
    def is_threshold(self) -> bool:
        return self.record.event_reading_type_code == EVENT_TYPE_THRESHOLD

    @property
    def unit(self) -> str:
        return UNITS.get(self.record.units_2, "") if self.is_threshold else ""

    @property
    def status(self) -> str:
        """ok, nc, cr, nr (threshold states), na when the reading is unavailable."""
        if self.raw is None:
            return "na"
        if not self.is_threshold:
            return "ok"
        s = self.states or 0
        if s & 0x24:
            return "nr"
        if s & 0x12:
            return "cr"
        if s & 0x09:
            return "nc"
        return "ok"

    @property
    def type(self) -> str:
        code = self.record.sensor_type_code
        return SENSOR_TYPES.get(code, f"type 0x{code:02x}")

    @property
    def decimals(self) -> int:
        return max(0, -self.record.k2)  # as fine as one raw count

    @property
    def text(self) -> str:
        if self.raw is None:
            return "no reading"
        if not self.is_threshold:
            s = (self.states or 0) & 0x7FFF
            return PRESENCE_STATES.get(s, f"state 0x{s:04x}")
        return f"{self.value:.{self.decimals}f} {self.unit}".rstrip()

    def as_record(self) -> dict:
        """The reading with READING_FIELDS (README "Scripting"); value None for discrete
        sensors and unavailable readings, thresholds None where the sensor has none."""
        value = None if self.value is None else round(self.value, self.decimals)
        rec = {
            "name": self.name,
            "number": self.number,
            "type": self.type,
            "value": value,
            "unit": self.unit,
            "status": self.status,
            "text": self.text,
        }
        rec.update({k: self.thresholds.get(k) for k in COLUMNS})
        return rec


def default_cache_dir() -> Path:
    """Where satmc keeps caches: $XDG_CACHE_HOME/satmc (~/.cache/satmc)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "satmc"


def cache_file(cache_dir: Path, address: int) -> Path:
    """The SDR cache entry of the satellite at an 8-bit address."""
    return Path(cache_dir) / f"sdr-{address:02x}.json"


def cached_sensor_names(address: int, cache_dir: Path | None = None) -> list[str]:
    """The sensor names in the SDR cache of the satellite at `address`, without asking
    it (shell completion); [] when nothing is cached."""
    try:
        entry = json.loads(cache_file(cache_dir or default_cache_dir(), address).read_text())
        records = [SdrCommon.from_data(bytes.fromhex(h)) for h in entry["records"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [r.device_id_string for r in records if isinstance(r, SdrFullSensorRecord)]


class SensorClient:
    """Sensor listing and threshold setting for one satellite (a transports.Satellite).

    sdr_progress: when set (the CLI sets its progress bar), a reading of the SDRs from
    the satellite that was given no progress callback runs under `sdr_progress()`, a
    context manager whose update(done, total) follows it."""

    sdr_progress = None

    def __init__(self, sat, cache_dir: Path | None = None):
        self.sat = sat
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._records: list[SdrCommon] | None = None
        self._raw: list[bytes] | None = None
        self._decoded: list[bytes] | None = None  # the raw records _records decode
        self._indicator: int | None = None

    # --- SDRs ------------------------------------------------------------------------------

    def sdr_indicator(self) -> int:
        """The satellite's sensor population change indicator (Get Device SDR Info)."""
        try:
            info = client.get_device_sdr_info(self.sat)
        except CompletionCodeError as e:
            if e.cc != CC_INVALID_COMMAND:
                raise
            raise NoSensorsError(
                "this satellite declares no sensors (Get Device SDR Info: completion code "
                "0xc1); its board file has no sensors: list"
            ) from None
        if info.sensor_population_change is None or not info.flags.dynamic_population:
            return -1  # static population: no indicator to key a cache on
        return info.sensor_population_change

    def cache_file(self) -> Path:
        """This satellite's one cache entry: its SDRs and the indicator they were read at."""
        return cache_file(self.cache_dir, self.sat.address)

    def cached(self, indicator: int) -> list[bytes] | None:
        """The cached SDRs when they were read at this indicator, else None."""
        try:
            entry = json.loads(self.cache_file().read_text())
            if entry["indicator"] != indicator:
                return None
            return [bytes.fromhex(h) for h in entry["records"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent, unreadable or of another format: read the satellite

    def _store(self, indicator: int, raw: list[bytes]) -> None:
        """Replace this satellite's entry (written aside, then renamed over the old one)."""
        path = self.cache_file()
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"indicator": indicator, "records": [r.hex() for r in raw]}))
            os.replace(tmp, path)
            for old in path.parent.glob(f"sdr-{self.sat.address:02x}-*.json"):
                old.unlink(missing_ok=True)  # an entry per indicator, as satmc once kept them
        except OSError:
            tmp.unlink(missing_ok=True)  # a read-only home only costs the next listing its reads

    def flush_cache(self) -> bool:
        """Forget this satellite's cached SDRs (on disk and here); True when there were any."""
        self._records = self._raw = self._indicator = None
        try:
            self.cache_file().unlink()
            return True
        except FileNotFoundError:
            return False

    def records(self, progress=None) -> list[SdrCommon]:
        """Every device SDR, decoded; read from the satellite only when they changed.
        progress(records read, records in all) is called while they are read."""
        raw = self.raw_records(progress)
        if self._records is None or self._decoded is not raw:
            self._records, self._decoded = [SdrCommon.from_data(r) for r in raw], raw
        return self._records

    def raw_records(self, progress=None) -> list[bytes]:
        """Every device SDR as its bytes (header and body), from the cache while current."""
        indicator = self.sdr_indicator()
        if self._raw is not None and indicator == self._indicator and indicator >= 0:
            return self._raw
        raw = self.cached(indicator) if indicator >= 0 else None
        if raw is None:
            if progress is None and self.sdr_progress is not None:
                with self.sdr_progress() as bar:
                    raw = self.read_raw_records(bar.update)
            else:
                raw = self.read_raw_records(progress)
            if indicator >= 0:
                self._store(indicator, raw)
        self._raw, self._indicator = raw, indicator
        return raw

    def read_raw_records(self, progress=None) -> list[bytes]:
        """All records, read in 22-byte chunks under one reservation (restarted if cancelled)."""
        for _ in range(3):
            try:
                return self._read_all(progress)
            except CompletionCodeError as e:
                if e.cc != CC_RESERVATION:
                    raise
        raise SensorError("the SDRs kept changing while being read")

    def _read_all(self, progress) -> list[bytes]:
        reservation = client.reserve_device_sdr_repository(self.sat)
        total = client.get_device_sdr_count(self.sat) if progress is not None else 0
        out = []
        rid = 0
        while rid != 0xFFFF:
            nxt, rec = client.get_device_sdr(self.sat, reservation, rid, 0)
            length = 5 + rec[4]
            while len(rec) < length:
                n = min(client.SDR_CHUNK, length - len(rec))
                rec += client.get_device_sdr(self.sat, reservation, rid, len(rec), n)[1]
            out.append(rec[:length])
            rid = nxt
            if progress is not None:
                progress(len(out), max(total, len(out)))
        return out

    def sensor_records(self) -> list[SdrFullSensorRecord]:
        return [r for r in self.records() if isinstance(r, SdrFullSensorRecord)]

    def find(self, name: str) -> SdrFullSensorRecord:
        for r in self.sensor_records():
            if r.device_id_string == name or str(r.number) == name:
                return r
        names = ", ".join(repr(r.device_id_string) for r in self.sensor_records())
        raise SensorError(f"no sensor {name!r}; sensors: {names}")

    # --- readings --------------------------------------------------------------------------

    def read(self, record: SdrFullSensorRecord) -> Reading:
        try:
            raw, states = self.sat.ipmi.get_sensor_reading(record.number, record.owner_lun)
        except PyipmiCCError as e:
            raise CompletionCodeError(e.cc, f"Get Sensor Reading {record.number}") from None
        r = Reading(record, raw, states)
        if record.event_reading_type_code == EVENT_TYPE_THRESHOLD:
            if raw is not None:
                r.value = record.convert_sensor_raw_to_value(raw)
            r.thresholds = thresholds_of(record)
        return r

    def read_all(self) -> list[Reading]:
        return [self.read(rec) for rec in self.sensor_records()]

    def set_thresholds(self, name: str, **values: float) -> dict[str, float]:
        """Set thresholds (lnc lc lnr unc uc unr, in the sensor's unit); returns all of them.
        Refused before anything is sent when the thresholds, with the new values rounded
        to the sensor's resolution, would be out of order (board.order)."""
        rec = self.find(name)
        settable = [k for i, k in enumerate(SHORT) if rec.data[19] >> i & 1]  # spec byte 20
        raw = {}
        for k, v in values.items():
            if k not in SHORT:
                raise SensorError(f"unknown threshold {k!r}; use {', '.join(SHORT)}")
            if k not in settable:
                raise SensorError(
                    f"{k} of {name!r} is not settable; settable: {' '.join(settable) or 'none'}"
                )
            try:
                raw[SHORT[k]] = rec.convert_sensor_value_to_raw(v)
            except ValueError:
                raise SensorError(
                    f"{k}={v:g} is outside the range of {name!r}: {sensor_range(rec)}"
                ) from None
        held = thresholds_of(rec)
        held.update({k: _value(rec, raw[SHORT[k]]) for k in values})
        bad = misordered(held)
        if bad:
            a, b = bad[0], bad[1]
            raise SensorError(
                f"{name!r}: {describe(*bad)} ({a}={held[a]:g}, {b}={held[b]:g}); thresholds "
                "keep lnr <= lc <= lnc < unc <= uc <= unr; nothing was sent"
            )
        try:
            self.sat.ipmi.set_sensor_thresholds(rec.number, rec.owner_lun, **raw)
        except PyipmiCCError as e:
            raise CompletionCodeError(e.cc, f"Set Sensor Thresholds of {name!r}") from None
        return thresholds_of(self.find(name))

    # --- one sensor in full (satmc sensor get), hysteresis -------------------------------

    def details(self, name: str) -> dict:
        """What `ipmitool sensor get` shows, as one record (DETAIL_FIELDS): the reading,
        the thresholds and hysteresis the sensor reports now, event enables, the SDR's
        conversion factors (value = (M * raw + B * 10^K1) * 10^K2)."""
        rec = self.find(name)
        reading = self.read(rec)
        out = reading.as_record()
        out["entity"] = f"{rec.entity_id}.{rec.entity_instance}"
        out["reading_type"] = "threshold" if reading.is_threshold else "discrete"
        out["raw"] = reading.raw
        enables = client.get_sensor_event_enable(self.sat, rec.number)
        names = THRESHOLD_EVENTS if reading.is_threshold else PRESENCE_OFFSETS
        out["events_enabled"] = enables["events"]
        out["scanning_enabled"] = enables["scanning"]
        for key in ("assertions", "deassertions"):
            out[f"{key}_enabled"] = [n for i, n in enumerate(names) if enables[key] >> i & 1]
        if reading.is_threshold:
            raw = client.get_sensor_thresholds(self.sat, rec.number)
            for short, key in SHORT.items():
                out[short] = _value(rec, raw[key]) if key in raw else None
            pos, neg = client.get_sensor_hysteresis(self.sat, rec.number)
            out["hysteresis_positive"] = self._delta(rec, pos)
            out["hysteresis_negative"] = self._delta(rec, neg)
            out.update(m=rec.m, b=rec.b, k1=rec.k1, k2=rec.k2, tolerance=rec.tolerance)
            out["resolution"] = self._delta(rec, 1)
        return {k: out.get(k) for k in DETAIL_FIELDS}

    @staticmethod
    def _delta(rec: SdrFullSensorRecord, counts: int) -> float:
        """A difference of raw counts (hysteresis) in the sensor's unit."""
        return round(rec.m * counts * 10**rec.k2, max(0, -rec.k2))

    def hysteresis(self, name: str) -> tuple[float, float]:
        """(positive-going, negative-going) hysteresis of a threshold sensor, in its unit."""
        rec = self._threshold_record(name)
        pos, neg = client.get_sensor_hysteresis(self.sat, rec.number)
        return self._delta(rec, pos), self._delta(rec, neg)

    def set_hysteresis(
        self, name: str, positive: float | None = None, negative: float | None = None
    ) -> tuple[tuple[float, float], list[str]]:
        """Set either or both hysteresis values (in the sensor's unit; the other keeps its
        value). Returns the values now set and notes on rounding to the resolution."""
        rec = self._threshold_record(name)
        now = client.get_sensor_hysteresis(self.sat, rec.number)
        step = rec.m * 10**rec.k2
        unit = UNITS.get(rec.units_2, "")
        raw, notes = list(now), []
        for i, (what, v) in enumerate((("positive", positive), ("negative", negative))):
            if v is None:
                continue
            counts = round(v / step)
            if not 0 <= counts <= 0xFF:
                top = self._delta(rec, 0xFF)
                raise SensorError(
                    f"{what} hysteresis {v:g} of {name!r} is outside 0..{top:g} {unit}".rstrip()
                )
            if abs(counts * step - v) > step * 1e-6:
                res = f"{self._delta(rec, 1):g} {unit}".rstrip()
                notes.append(
                    f"{what} hysteresis {v:g} rounded to {self._delta(rec, counts):g} "
                    f"(resolution {res})"
                )
            raw[i] = counts
        try:
            client.set_sensor_hysteresis(self.sat, rec.number, raw[0], raw[1])
        except CompletionCodeError as e:
            raise SensorError(f"{name!r} refused the hysteresis: {e}") from None
        return self.hysteresis(name), notes

    def _threshold_record(self, name: str) -> SdrFullSensorRecord:
        rec = self.find(name)
        if rec.event_reading_type_code != EVENT_TYPE_THRESHOLD:
            raise SensorError(f"{name!r} is a discrete sensor: it has no thresholds or hysteresis")
        return rec


def thresholds_of(record: SdrFullSensorRecord) -> dict[str, float]:
    """The readable thresholds of a record in its unit, keyed lnc lc lnr unc uc unr."""
    mask = record.data[18]  # readable threshold mask (spec byte 19)
    out = {}
    for i, key in enumerate(THRESHOLDS):
        if mask >> i & 1:
            short = next(k for k, v in SHORT.items() if v == key)
            out[short] = _value(record, record.threshold[key])
    return out


def sensor_range(record: SdrFullSensorRecord) -> str:
    """What a sensor's 8-bit readings span, in its unit ("-20..107.5 C")."""
    ends = sorted(_value(record, raw) for raw in (0, 0xFF))
    unit = UNITS.get(record.units_2, "")
    return f"{ends[0]:g}..{ends[1]:g} {unit}".rstrip()


def _value(record: SdrFullSensorRecord, raw: int) -> float:
    """A raw count in the sensor's unit, rounded to its resolution's decimals."""
    return round(record.convert_sensor_raw_to_value(raw), max(0, -record.k2))


COLUMNS = ORDER  # the threshold columns of a sensor table, lowest to highest
READING_FIELDS = ("name", "number", "type", "value", "unit", "status", "text") + COLUMNS
DETAIL_FIELDS = READING_FIELDS + (
    "entity",
    "reading_type",
    "raw",
    "hysteresis_positive",
    "hysteresis_negative",
    "events_enabled",
    "scanning_enabled",
    "assertions_enabled",
    "deassertions_enabled",
    "m",
    "b",
    "k1",
    "k2",
    "tolerance",
    "resolution",
)
# threshold event offsets 00h-0Bh as ipmitool names them (lnc- is "LNC going low")
THRESHOLD_EVENTS = tuple(f"{t}{d}" for t in THRESHOLDS for d in "-+")


def check(readings) -> tuple[int, str]:
    """A Nagios-style verdict on readings: (exit status, one summary line with perfdata).

    0 every sensor ok, 1 some non-critical, 2 some critical or non-recoverable, 3 some
    unavailable (and none critical): the worst decides, critical over unknown over warning.
    """
    by = {s: [r for r in readings if r.status == s] for s in ("nr", "cr", "na", "nc", "ok")}
    if by["nr"] or by["cr"]:
        code, word = 2, "CRITICAL"
    elif by["na"]:
        code, word = 3, "UNKNOWN"
    elif by["nc"]:
        code, word = 1, "WARNING"
    else:
        code, word = 0, "OK"
    problems = [f"{r.name} {r.text} ({r.status})" for s in ("nr", "cr", "na", "nc") for r in by[s]]
    counts = f"{len(by['ok'])} of {len(readings)} sensors ok"
    perf = " ".join(_perfdata(r) for r in readings if r.is_threshold and r.value is not None)
    line = f"SENSORS {word} - " + "; ".join(problems + [counts])
    return code, line + (f" | {perf}" if perf else "")


def _perfdata(r: Reading) -> str:
    """'label'=value;warn;crit in Nagios plugin ranges (alert outside low:high)."""

    def rng(low: str, high: str) -> str:
        lo, hi = r.thresholds.get(low), r.thresholds.get(high)
        if lo is None and hi is None:
            return ""
        return ("~" if lo is None else f"{lo:g}") + ":" + ("" if hi is None else f"{hi:g}")

    value = round(r.value, r.decimals)
    return f"'{r.name}'={value:g};{rng('lnc', 'unc')};{rng('lc', 'uc')}"


def fmt(v: float | None) -> str:
    """A threshold or value as the tables print it ("-" when absent)."""
    return "-" if v is None else f"{v:g}"


def table(readings) -> list[str]:
    """Readings as aligned text rows (a header, then one row per sensor)."""
    rows = [("NAME", "VALUE", "STATUS") + tuple(c.upper() for c in COLUMNS)]
    for r in readings:
        rows.append(
            (r.name, r.text, r.status)
            + tuple(fmt(r.thresholds.get(c)) if r.is_threshold else "" for c in COLUMNS)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


LOG_FIELDS = ("time", "name", "number", "value", "unit", "status")


class ReadingsLog:
    """A CSV file that samples of every sensor are appended to: one row per sensor per
    sample (LOG_FIELDS), time in ISO 8601 with its UTC offset, the header written once
    (when the file is new or empty). pandas reads it with
    `pd.read_csv(path, parse_dates=["time"])`; `.pivot(index="time", columns="name",
    values="value")` makes a column per sensor."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise SatmcError(f"{self.path}: no directory {self.path.parent} (create it first)")
        header = ",".join(LOG_FIELDS)
        try:
            with self.path.open(newline="") as f:
                first = f.readline().rstrip("\r\n")
        except FileNotFoundError:
            first = ""
        if first and first != header:
            raise SatmcError(
                f"{self.path} is not a satmc readings log (its first line is not {header!r});"
                " name a new file"
            )
        self._header = not first

    def append(self, readings, when: dt.datetime | None = None) -> int:
        """One sample: a row per reading, stamped `when` (now); returns the rows written."""
        stamp = (when or dt.datetime.now(dt.UTC)).isoformat(timespec="milliseconds")
        with self.path.open("a", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            if self._header:
                w.writerow(LOG_FIELDS)
                self._header = False
            for r in readings:
                rec = r.as_record()
                w.writerow([stamp] + ["" if rec[k] is None else rec[k] for k in LOG_FIELDS[1:]])
        return len(readings)
