"""Device SDRs: the repository and the commands that serve it (records: sdr_encode.py).

    repo = Repository()
    repo.add(rec)                                             # ids are given in order (1..)
    repo.changed()                                            # after editing a record in place

Records are built once at boot; the repository keeps them as bytearrays so threshold
and hysteresis changes edit them in place (then `changed()` cancels the reservation
and moves the sensor population change indicator, which the host keys its cache on).

Get Device SDR returns as many record bytes per response as the channel carries (22
on IPMB, 30 on Serial Basic Mode); 0xFF asks for the whole record (the rest of it from
the offset) and is answered CA when that does not fit, as are requests for more. An
offset at or past the record's end is C9. A read from offset 0 may name reservation
0000h; any other read needs the current reservation (C5 otherwise, also after a change).
"""

from micropython import const

from .dispatch import (
    CC_CANNOT_RETURN,
    CC_NOT_PRESENT,
    CC_OUT_OF_RANGE,
    CC_RESERVATION,
    NETFN_SENSOR,
    command,
)

SDR_VERSION = const(0x51)
TYPE_FULL_SENSOR = const(0x01)
TYPE_FRU_LOCATOR = const(0x11)
TYPE_MC_LOCATOR = const(0x12)

# Full Sensor Record, 0-based offsets (spec byte - 1)
OWNER = const(5)
NUMBER = const(7)
INIT = const(10)
CAPS = const(11)
SENSOR_TYPE = const(12)
EVENT_TYPE = const(13)
ASSERT_MASK = const(14)  # 2 bytes, [14:12] of the second: lower threshold reading mask
DEASSERT_MASK = const(16)  # 2 bytes, [14:12]: upper threshold reading mask
READABLE = const(18)
SETTABLE = const(19)
UNITS1 = const(20)
UNIT = const(21)
M_LS = const(24)
FACTORS_LEN = const(6)  # M, M|tol, B, B|acc, acc|exp|dir, R exp|B exp
NOMINAL = const(31)
SENSOR_MAX = const(34)
SENSOR_MIN = const(35)
THRESHOLDS = const(36)  # UNR UC UNC LNR LC LNC
HYST_POS = const(42)
HYST_NEG = const(43)
ID_TYPE_LEN = const(47)
FULL_HEADER = const(48)

MAX_ID = const(16)
_NEXT_ID = const(2)  # Get Device SDR response data: next record id, then record bytes
_LAST = const(0xFFFF)


class Repository:
    """The device SDRs of this controller, record ids 1..n."""

    def __init__(self):
        self.records = []
        self.sensor_count = 0
        self.reservation = 0  # 0: none valid
        self._serial = 0
        self.indicator = bytes(4)  # sensor population change indicator: checksum of records

    def add(self, rec):
        """Append a record (at boot; call changed() once all are in)."""
        n = len(self.records) + 1
        rec[0] = n & 0xFF
        rec[1] = n >> 8
        self.records.append(rec)
        if rec[3] == TYPE_FULL_SENSOR:
            self.sensor_count += 1

    def changed(self):
        """Records changed: cancel the reservation, move the change indicator.

        The indicator is an Adler-32 of every record: the same records give the same
        value across resets, so a host's SDR cache stays valid exactly as long as it
        should. It is kept as its 4 bytes (LS first): as one int it would exceed the
        small ints of 32-bit ports, and every Get Device SDR Info would allocate.
        """
        s1, s2 = 1, 0
        for rec in self.records:
            for x in rec:
                s1 = (s1 + x) % 65521
                s2 = (s2 + s1) % 65521
        self.indicator = bytes((s1 & 0xFF, s1 >> 8, s2 & 0xFF, s2 >> 8))
        self.reservation = 0

    def reserve(self):
        self._serial = (self._serial % 0xFFFF) + 1  # never 0, never a cancelled one again soon
        self.reservation = self._serial
        return self._serial


def _u16(d, at, v):
    d[at] = v & 0xFF
    d[at + 1] = v >> 8


@command(NETFN_SENSOR, 0x20, 0, 1)
def get_device_sdr_info(mc, rq, rs):
    repo = mc.sdrs
    d = rs.data
    whole = rq.data_len and rq.data[0] & 1
    d[0] = len(repo.records) if whole else repo.sensor_count
    d[1] = 0x81  # dynamic population (change indicator follows) | LUN 0 has sensors
    v = repo.indicator
    for i in range(4):
        d[2 + i] = v[i]
    return rs.ok(6)


@command(NETFN_SENSOR, 0x22)
def reserve_device_sdr_repository(mc, rq, rs):
    r = mc.sdrs.reserve()
    _u16(rs.data, 0, r)
    return rs.ok(2)


@command(NETFN_SENSOR, 0x21, 6)
def get_device_sdr(mc, rq, rs):
    repo = mc.sdrs
    q = rq.data
    reservation = q[0] | q[1] << 8
    rid = q[2] | q[3] << 8
    offset = q[4]
    count = q[5]
    if (offset or reservation) and (not reservation or reservation != repo.reservation):
        return rs.fail(CC_RESERVATION)  # 0000h (none) only for reads from offset 0
    records = repo.records
    if rid == 0:
        rid = 1
    if not 1 <= rid <= len(records):
        return rs.fail(CC_NOT_PRESENT)
    rec = records[rid - 1]
    if offset >= len(rec):
        return rs.fail(CC_OUT_OF_RANGE)
    if count == 0xFF:
        count = len(rec) - offset
    if count > rs.max_data - _NEXT_ID:
        return rs.fail(CC_CANNOT_RETURN)
    if count > len(rec) - offset:
        count = len(rec) - offset
    d = rs.data
    _u16(d, 0, rid + 1 if rid < len(records) else _LAST)
    for i in range(count):
        d[2 + i] = rec[offset + i]
    return rs.ok(2 + count)
