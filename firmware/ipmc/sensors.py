"""Sensors: scanning, the threshold state machine, and the sensor commands (netFn 04).

    sensors.setup(mc, config)       # drivers, SDRs and scan tasks from config["sensors"]

A threshold sensor converts its driver's reading (thousandths of its unit) to the raw
byte of its SDR, raw = (reading - lo) / res, and runs the threshold state machine on
raw values. A discrete sensor reports state bits (presence: [0] present, [1] absent).
Each sensor is scanned by an asyncio task at its own period. A driver that raises
(OSError: the chip did not answer; anything else: the driver's own fault) or returns
something that is not a number makes the reading unavailable until it reads again,
and counts sensor_errors.

Threshold status bits, as Get Sensor Reading and Get Sensor Thresholds order them:
[0] LNC [1] LC [2] LNR [3] UNC [4] UC [5] UNR. Hysteresis follows the spec: an upper
threshold asserts at raw >= T and deasserts when raw < T - positive hysteresis; a lower
one asserts at raw <= T and deasserts when raw > T + negative hysteresis.

Get Sensor Reading allocates nothing: readings and states are ints on the sensor.
"""

import asyncio

from micropython import const

from . import faults, sdr
from .dispatch import (
    CC_ILLEGAL_FOR_TYPE,
    CC_INVALID_DATA,
    CC_NOT_PRESENT,
    NETFN_SENSOR,
    command,
)

EVENT_TYPE_THRESHOLD = const(0x01)
EVENT_TYPE_SPECIFIC = const(0x6F)
_DEASSERT = const(0x80)
_UPPER = const(0x38)
_ALL_THRESHOLDS = const(0x3F)


def threshold_offset(i):
    """Event offset of threshold i (LNC LC LNR UNC UC UNR): going low below, going high above."""
    return 2 * i if i < 3 else 2 * i + 1


def threshold_state(raw, state, thr, active, hyst_pos, hyst_neg):
    """New threshold status bits for a raw reading, given the previous ones."""
    new = 0
    for i in range(6):
        bit = 1 << i
        if not active & bit:
            continue
        t = thr[i]
        if bit & _UPPER:
            if raw >= t or (state & bit and raw >= t - hyst_pos):
                new |= bit
        elif raw <= t or (state & bit and raw <= t + hyst_neg):
            new |= bit
    return new


def default_event_masks(active):
    """Assertion and deassertion masks of the offsets a threshold set can raise."""
    m = 0
    for i in range(6):
        if active >> i & 1:
            m |= 1 << threshold_offset(i)
    return m


class Sensor:
    """One sensor: its reading, states, thresholds and event enables (all ints)."""

    def __init__(self, number, sensor_type, event_type, read, period_ms, events=None):
        self.number = number
        self.sensor_type = sensor_type
        self.event_type = event_type
        self.read = read  # driver reading, thousandths of the unit (or discrete level)
        self.period_ms = period_ms
        self.events = events  # object with emit(...) or None
        self.threshold = event_type == EVENT_TYPE_THRESHOLD
        self.raw = 0
        self.state = 0  # threshold status bits, or discrete state bits
        self.unavailable = True  # until the first scan
        self.scanning = True
        self.events_on = True
        self.lo = 0
        self.res = 1
        self.thr = bytearray(6)  # LNC LC LNR UNC UC UNR
        self.active = 0  # thresholds that exist (readable)
        self.settable = 0
        self.hyst_pos = 0
        self.hyst_neg = 0
        self.assert_en = 0
        self.deassert_en = 0
        self.assert_mask = 0  # what the SDR says the sensor can raise
        self.deassert_mask = 0
        self.asserted_events = 0  # Get Sensor Event Status: offsets that raised assertions
        self.deasserted_events = 0
        self.record = None  # its Full Sensor Record, edited in place
        self.stats = None  # the controller's counters (sensor_errors)

    def to_raw(self, reading):
        r = (reading - self.lo + self.res // 2) // self.res
        if r < 0:
            return 0
        return 255 if r > 255 else r

    def scan(self):
        """Read the driver once; update states and raise events."""
        try:
            v = self.read()
            raw = self.to_raw(int(v)) if self.threshold else 0
        except OSError:  # the chip did not answer
            self._failed(None)
            return
        except Exception as e:  # the driver's own fault (KeyError, ValueError, MemoryError...)
            self._failed(e)
            return
        self.unavailable = False
        if self.threshold:
            self.raw = raw
            new = threshold_state(
                raw, self.state, self.thr, self.active, self.hyst_pos, self.hyst_neg
            )
        else:
            self.raw = 0
            new = 1 if v else 2  # [0] present / [1] absent (entity presence offsets)
        old = self.state
        self.state = new
        if old != new:
            self._events(old, new)

    def _failed(self, e):
        self.unavailable = True
        if self.stats is None:
            return
        if e is None:
            self.stats["sensor_errors"] += 1
        else:
            faults.caught(self.stats, "sensor_errors", e)

    def _events(self, old, new):
        rose = new & ~old
        fell = old & ~new
        for i in range(8):
            if rose >> i & 1:
                self._event(i, False)
        for i in range(7, -1, -1):
            if fell >> i & 1:
                self._event(i, True)

    def _event(self, i, deassert):
        if self.threshold:
            offset = threshold_offset(i)
            d1, d2, d3 = 0x50 | offset, self.raw, self.thr[i]
        else:
            offset = i
            d1, d2, d3 = offset, 0xFF, 0xFF
        bit = 1 << offset
        if deassert:
            self.deasserted_events |= bit
            enabled = self.deassert_en & bit
        else:
            self.asserted_events |= bit
            enabled = self.assert_en & bit
        if enabled and self.events_on and self.events is not None:
            self.events.emit(
                self.sensor_type,
                self.number,
                (_DEASSERT if deassert else 0) | self.event_type,
                d1,
                d2,
                d3,
            )

    def rearm(self):
        """Forget states, so the next scan raises events for conditions still present."""
        self.state = 0
        self.asserted_events = 0
        self.deasserted_events = 0

    def sync_record(self):
        """Copy thresholds and hysteresis into the SDR (record order UNR..LNC)."""
        rec = self.record
        if rec is None or not self.threshold:
            return
        for i in range(6):
            rec[sdr.THRESHOLDS + i] = self.thr[5 - i]
        rec[sdr.HYST_POS] = self.hyst_pos
        rec[sdr.HYST_NEG] = self.hyst_neg


class Sensors:
    """The sensors of this controller; find(number) allocates nothing."""

    def __init__(self):
        self.all = []
        self._index = bytearray(256)  # sensor number -> position in all + 1 (0: none)

    def add(self, s):
        if self._index[s.number]:
            raise ValueError("sensor number %d used twice" % s.number)
        self.all.append(s)
        self._index[s.number] = len(self.all)

    def find(self, number):
        i = self._index[number]
        return self.all[i - 1] if i else None

    def rearm_all(self):
        for s in self.all:
            s.rearm()


async def _scan_task(s):
    while True:
        await asyncio.sleep_ms(s.period_ms)  # first: a whole period (a tach needs one to count)
        if s.scanning:
            s.scan()


def start(mc):
    """The scan tasks (inside the running event loop)."""
    return [faults.task(mc.stats, _scan_task, s) for s in mc.sensors.all]


# --- commands -------------------------------------------------------------------------------


def _sensor(mc, rq):
    return mc.sensors.find(rq.data[0])


def _threshold_sensor(mc, rq, rs):
    """The threshold sensor rq names, or None with rs failed (CB absent, CD discrete)."""
    s = mc.sensors.find(rq.data[0])
    if s is None:
        rs.fail(CC_NOT_PRESENT)
    elif not s.threshold:
        rs.fail(CC_ILLEGAL_FOR_TYPE)
        s = None
    return s


@command(NETFN_SENSOR, 0x2D, 1)
def get_sensor_reading(mc, rq, rs):
    s = _sensor(mc, rq)
    if s is None:
        return rs.fail(CC_NOT_PRESENT)
    d = rs.data
    flags = (0x80 if s.events_on else 0) | (0x40 if s.scanning else 0)
    if s.unavailable or not s.scanning:
        d[0] = 0
        d[1] = flags | 0x20
        d[2] = 0xC0 if s.threshold else 0
        d[3] = 0x80
        return rs.ok(4)
    d[0] = s.raw
    d[1] = flags
    if s.threshold:
        d[2] = 0xC0 | s.state  # [7:6] reserved, returned as 1b
        d[3] = 0x80
    else:
        d[2] = s.state & 0xFF
        d[3] = 0x80 | (s.state >> 8)
    return rs.ok(4)


@command(NETFN_SENSOR, 0x27, 1)
def get_sensor_thresholds(mc, rq, rs):
    s = _threshold_sensor(mc, rq, rs)
    if s is None:
        return 0
    d = rs.data
    d[0] = s.active
    for i in range(6):
        d[1 + i] = s.thr[i] if s.active >> i & 1 else 0
    return rs.ok(7)


@command(NETFN_SENSOR, 0x26, 8)
def set_sensor_thresholds(mc, rq, rs):
    s = _threshold_sensor(mc, rq, rs)
    if s is None:
        return 0
    q = rq.data
    mask = q[1]
    if mask & ~s.settable & _ALL_THRESHOLDS or mask & 0xC0:
        return rs.fail(CC_INVALID_DATA)
    for i in range(6):
        if mask >> i & 1:
            s.thr[i] = q[2 + i]
    s.sync_record()
    mc.sdrs.changed()
    return rs.ok(0)


@command(NETFN_SENSOR, 0x25, 2)
def get_sensor_hysteresis(mc, rq, rs):
    s = _threshold_sensor(mc, rq, rs)
    if s is None:
        return 0
    rs.data[0] = s.hyst_pos
    rs.data[1] = s.hyst_neg
    return rs.ok(2)


@command(NETFN_SENSOR, 0x24, 4)
def set_sensor_hysteresis(mc, rq, rs):
    s = _threshold_sensor(mc, rq, rs)
    if s is None:
        return 0
    s.hyst_pos = rq.data[2]
    s.hyst_neg = rq.data[3]
    s.sync_record()
    mc.sdrs.changed()
    return rs.ok(0)


def _mask(q, at, n):
    """A 16-bit LS-first mask from request bytes at..at+1 (0 where the request is short)."""
    lo = q[at] if at < n else 0
    hi = q[at + 1] if at + 1 < n else 0
    return lo | hi << 8


@command(NETFN_SENSOR, 0x28, 2, 6)
def set_sensor_event_enable(mc, rq, rs):
    s = _sensor(mc, rq)
    if s is None:
        return rs.fail(CC_NOT_PRESENT)
    q = rq.data
    n = rq.data_len
    action = (q[1] >> 4) & 3
    if action == 3:  # reserved: refused before anything changes
        return rs.fail(CC_INVALID_DATA)
    s.events_on = bool(q[1] & 0x80)
    s.scanning = bool(q[1] & 0x40)
    a = _mask(q, 2, n) & s.assert_mask
    de = _mask(q, 4, n) & s.deassert_mask
    if action == 1:
        s.assert_en |= a
        s.deassert_en |= de
    elif action == 2:
        s.assert_en &= ~a
        s.deassert_en &= ~de
    return rs.ok(0)


@command(NETFN_SENSOR, 0x29, 1)
def get_sensor_event_enable(mc, rq, rs):
    s = _sensor(mc, rq)
    if s is None:
        return rs.fail(CC_NOT_PRESENT)
    d = rs.data
    d[0] = (0x80 if s.events_on else 0) | (0x40 if s.scanning else 0)
    d[1] = s.assert_en & 0xFF
    d[2] = s.assert_en >> 8
    d[3] = s.deassert_en & 0xFF
    d[4] = s.deassert_en >> 8
    return rs.ok(5)


@command(NETFN_SENSOR, 0x2A, 2, 6)
def rearm_sensor_events(mc, rq, rs):
    s = _sensor(mc, rq)
    if s is None:
        return rs.fail(CC_NOT_PRESENT)
    q = rq.data
    n = rq.data_len
    if q[1] & 0x80:  # re-arm selected events only
        a = _mask(q, 2, n)
        de = _mask(q, 4, n)
        s.asserted_events &= ~a
        s.deasserted_events &= ~de
        if s.threshold:
            for i in range(6):
                if a >> threshold_offset(i) & 1:
                    s.state &= ~(1 << i)
        else:
            s.state &= ~a
    else:
        s.rearm()
    return rs.ok(0)


@command(NETFN_SENSOR, 0x2B, 1)
def get_sensor_event_status(mc, rq, rs):
    s = _sensor(mc, rq)
    if s is None:
        return rs.fail(CC_NOT_PRESENT)
    d = rs.data
    d[0] = (0x80 if s.events_on else 0) | (0x40 if s.scanning else 0)
    if s.unavailable:
        d[0] |= 0x20
    d[1] = s.asserted_events & 0xFF
    d[2] = s.asserted_events >> 8
    d[3] = s.deasserted_events & 0xFF
    d[4] = s.deasserted_events >> 8
    return rs.ok(5)


@command(NETFN_SENSOR, 0x23, 2)
def get_sensor_reading_factors(mc, rq, rs):
    s = _threshold_sensor(mc, rq, rs)
    if s is None:
        return 0
    d = rs.data
    d[0] = 0xFF  # linear: the same factors hold for every reading
    rec = s.record
    for i in range(sdr.FACTORS_LEN):
        d[1 + i] = rec[sdr.M_LS + i]
    return rs.ok(1 + sdr.FACTORS_LEN)
