"""Sensors of a satellite, decoded on the host with python-ipmi's SDR classes.

    client = SensorClient(sat)
    for r in client.read_all():          # SDRs from the cache when the satellite's
        print(r.name, r.text, r.status)  # change indicator still matches
    client.set_thresholds("Board Temp", unc=65, uc=80)

The device SDRs are cached per satellite address and SDR change indicator (the
sensor population change indicator of Get Device SDR Info, which the firmware derives
from the records' contents), in memory and under $XDG_CACHE_HOME/satmc, so a warm
listing costs one Get Device SDR Info plus one Get Sensor Reading per sensor.
Decoding uses python-ipmi (an implementation independent of the firmware's encoder).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pyipmi.errors import CompletionCodeError as PyipmiCCError
from pyipmi.sdr import SdrCommon, SdrFullSensorRecord

from .errors import CompletionCodeError, SatmcError
from .ipmi import client
from .ipmi.codes import CC_RESERVATION, EVENT_TYPE_THRESHOLD, PRESENCE_STATES, UNITS

THRESHOLDS = ("lnc", "lcr", "lnr", "unc", "ucr", "unr")  # python-ipmi's names, status bit order
SHORT = {"lnc": "lnc", "lc": "lcr", "lnr": "lnr", "unc": "unc", "uc": "ucr", "unr": "unr"}


class SensorError(SatmcError):
    """A sensor name is unknown or a sensor rejected the request."""


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
    def text(self) -> str:
        if self.raw is None:
            return "no reading"
        if not self.is_threshold:
            s = (self.states or 0) & 0x7FFF
            return PRESENCE_STATES.get(s, f"state 0x{s:04x}")
        decimals = max(0, -self.record.k2)  # as fine as one raw count
        return f"{self.value:.{decimals}f} {self.unit}".rstrip()


def default_cache_dir() -> Path:
    """Where satmc keeps caches: $XDG_CACHE_HOME/satmc (~/.cache/satmc)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "satmc"


class SensorClient:
    """Sensor listing and threshold setting for one satellite (a transports.Satellite)."""

    def __init__(self, sat, cache_dir: Path | None = None):
        self.sat = sat
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._records: list[SdrCommon] | None = None
        self._records_of: list[bytes] | None = None  # the raw records _records decode
        self._raw: list[bytes] | None = None
        self._indicator: int | None = None

    # --- SDRs ------------------------------------------------------------------------------

    def sdr_indicator(self) -> int:
        """The satellite's sensor population change indicator (Get Device SDR Info)."""
        info = client.get_device_sdr_info(self.sat)
        if info.sensor_population_change is None or not info.flags.dynamic_population:
            return -1  # static population: no indicator to key a cache on
        return info.sensor_population_change

    def _cache_file(self, indicator: int) -> Path:
        return self.cache_dir / f"sdr-{self.sat.address:02x}-{indicator:08x}.json"

    def records(self) -> list[SdrCommon]:
        """Every device SDR, decoded; read from the satellite only when they changed."""
        raw = self.raw_records()
        if self._records is None or self._records_of is not raw:
            self._records = [SdrCommon.from_data(r) for r in raw]
            self._records_of = raw
        return self._records

    def raw_records(self) -> list[bytes]:
        """Every device SDR as the satellite serves it (header included); read from the
        satellite only when its change indicator moved (or it has none)."""
        indicator = self.sdr_indicator()
        if self._raw is not None and indicator == self._indicator and indicator >= 0:
            return self._raw
        raw = None
        path = self._cache_file(indicator)
        if indicator >= 0 and path.exists():
            try:
                raw = [bytes.fromhex(h) for h in json.loads(path.read_text())]
            except (ValueError, OSError):
                raw = None
        if raw is None:
            raw = self.read_raw_records()
            if indicator >= 0:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(json.dumps([r.hex() for r in raw]))
                except OSError:
                    pass  # a read-only home only costs the next listing its SDR reads
        self._raw = raw
        self._indicator = indicator
        return raw

    def read_raw_records(self) -> list[bytes]:
        """All records, read in 22-byte chunks under one reservation (restarted if cancelled)."""
        for _ in range(3):
            try:
                return self._read_all()
            except CompletionCodeError as e:
                if e.cc != CC_RESERVATION:
                    raise
        raise SensorError("the SDRs kept changing while being read")

    def _read_all(self) -> list[bytes]:
        reservation = client.reserve_device_sdr_repository(self.sat)
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
        """Set thresholds (lnc lc lnr unc uc unr, in the sensor's unit); returns all of them."""
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
                raise SensorError(f"{k}={v} is outside the range of {name!r}") from None
        try:
            self.sat.ipmi.set_sensor_thresholds(rec.number, rec.owner_lun, **raw)
        except PyipmiCCError as e:
            raise CompletionCodeError(e.cc, f"Set Sensor Thresholds of {name!r}") from None
        return thresholds_of(self.find(name))


def thresholds_of(record: SdrFullSensorRecord) -> dict[str, float]:
    """The readable thresholds of a record in its unit, keyed lnc lc lnr unc uc unr."""
    mask = record.data[18]  # readable threshold mask (spec byte 19)
    out = {}
    for i, key in enumerate(THRESHOLDS):
        if mask >> i & 1:
            short = next(k for k, v in SHORT.items() if v == key)
            out[short] = record.convert_sensor_raw_to_value(record.threshold[key])
    return out


# the threshold columns of a sensor table, lowest to highest
COLUMNS = ("lnr", "lc", "lnc", "unc", "uc", "unr")


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
