"""Device SDRs: records encoded from the board config, and the commands that serve them.

    m, k2, b, k1 = factors(lo_milli=-40000, res_milli=500)   # y = (M*x + B*10^K1) * 10^K2
    rec = full_sensor_record(owner=0x72, number=1, ...)       # bytearray, record id 0
    repo = Repository()
    repo.add(rec)                                             # ids are given in order (1..)
    repo.changed()                                            # after editing a record in place

Records are built once at boot; the repository keeps them as bytearrays so threshold
and hysteresis changes edit them in place (then `changed()` cancels the reservation
and moves the sensor population change indicator, which the host keys its cache on).

Get Device SDR returns at most 22 record bytes per response; 0xFF asks for the whole
record and is answered CA when it does not fit, as are requests for more than 22 bytes.
"""

from micropython import const

from .dispatch import (
    CC_CANNOT_RETURN,
    CC_NOT_PRESENT,
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
_CHUNK = const(22)  # record bytes per Get Device SDR response (24 - next record id)
_LAST = const(0xFFFF)


def factors(lo_milli, res_milli):
    """(M, K2, B, K1) so that raw x reads as (M*x + B*10^K1) * 10^K2 = lo + x*res.

    lo and res are in thousandths of the unit; M is res without its trailing zeros,
    B is lo with as many trailing zeros removed as the exponents allow. ValueError
    when M or B does not fit 10 bits or an exponent 4 bits.
    """
    if res_milli <= 0:
        raise ValueError("resolution must be positive")
    m, e = res_milli, 0
    while m % 10 == 0:
        m //= 10
        e += 1
    k2 = e - 3
    b, f = lo_milli, 0
    while b and b % 10 == 0 and f - k2 - 3 < 7:
        b //= 10
        f += 1
    k1 = f - k2 - 3  # lo = B * 10^(K1 + K2 + 3) milli
    if b == 0:
        k1 = 0
    if m > 511 or not -512 <= b <= 511 or not -8 <= k1 <= 7 or not -8 <= k2 <= 7:
        raise ValueError("range/resolution do not fit the SDR conversion factors")
    return m, k2, b, k1


def _header(rec, rtype):
    rec[2] = SDR_VERSION
    rec[3] = rtype
    rec[4] = len(rec) - 5


def _id_string(rec, at, name):
    s = name.encode()[:MAX_ID]
    rec[at] = 0xC0 | len(s)  # 8-bit ASCII + Latin 1
    rec[at + 1 : at + 1 + len(s)] = s


def full_sensor_record(
    owner,
    number,
    entity,
    sensor_type,
    event_type,
    name,
    *,
    threshold=True,
    lo_milli=0,
    res_milli=1,
    unit=0,
    thresholds=None,
    readable=0,
    settable=0,
    hysteresis=(0, 0),
    assert_mask=0,
    deassert_mask=0,
    nominal=None,
):
    """A Full Sensor Record (type 01); thresholds: 6 raw bytes LNC LC LNR UNC UC UNR."""
    rec = bytearray(FULL_HEADER + len(name.encode()[:MAX_ID]))
    _header(rec, TYPE_FULL_SENSOR)
    rec[OWNER] = owner
    rec[OWNER + 1] = 0  # channel 0, LUN 0
    rec[NUMBER] = number
    rec[8], rec[9] = entity
    rec[SENSOR_TYPE] = sensor_type
    rec[EVENT_TYPE] = event_type
    rec[ASSERT_MASK] = assert_mask & 0xFF
    rec[ASSERT_MASK + 1] = assert_mask >> 8
    rec[DEASSERT_MASK] = deassert_mask & 0xFF
    rec[DEASSERT_MASK + 1] = deassert_mask >> 8
    if threshold:
        # init scanning|events|thresholds|hysteresis|type, events + scanning on
        rec[INIT] = 0x7F
        # auto re-arm | hysteresis readable+settable | thresholds per masks | per-offset enables
        rec[CAPS] = 0x40 | 0x20 | 0x08
        rec[ASSERT_MASK + 1] |= (readable & 0x07) << 4  # LNR LC LNC comparisons returned
        rec[DEASSERT_MASK + 1] |= (readable >> 3) << 4  # UNR UC UNC comparisons returned
        rec[READABLE] = readable
        rec[SETTABLE] = settable
        rec[UNITS1] = 0x00  # unsigned, no rate, no modifier
        rec[UNIT] = unit
        m, k2, b, k1 = factors(lo_milli, res_milli)
        rec[M_LS] = m & 0xFF
        rec[M_LS + 1] = (m >> 2) & 0xC0  # M[9:8] | tolerance 0
        rec[M_LS + 2] = b & 0xFF
        rec[M_LS + 3] = (b >> 2) & 0xC0  # B[9:8] | accuracy 0
        rec[M_LS + 5] = (k2 & 0x0F) << 4 | (k1 & 0x0F)
        if nominal is not None:
            rec[NOMINAL - 1] = 0x01  # nominal reading specified
            rec[NOMINAL] = nominal
        rec[SENSOR_MAX] = 0xFF
        rec[SENSOR_MIN] = 0x00
        t = thresholds or bytes(6)
        for i in range(6):  # record order UNR UC UNC LNR LC LNC
            rec[THRESHOLDS + i] = t[5 - i]
        rec[HYST_POS], rec[HYST_NEG] = hysteresis
    else:
        rec[INIT] = 0x67  # init scanning|events|type, events + scanning on
        rec[CAPS] = 0x40  # auto re-arm, no thresholds or hysteresis
        rec[UNITS1] = 0xC0  # no analog reading
    _id_string(rec, ID_TYPE_LEN, name)
    return rec


def mc_locator_record(address, capabilities, entity, name):
    """Management Controller Device Locator (type 12)."""
    rec = bytearray(16 + len(name.encode()[:MAX_ID]))
    _header(rec, TYPE_MC_LOCATOR)
    rec[5] = address
    rec[6] = 0  # channel 0
    rec[7] = 0  # event messages generated, no logging initialisation
    rec[8] = capabilities
    rec[12], rec[13] = entity
    _id_string(rec, 15, name)
    return rec


def fru_locator_record(address, fru_id, entity, name):
    """FRU Device Locator (type 11) of a logical FRU device behind this controller."""
    rec = bytearray(16 + len(name.encode()[:MAX_ID]))
    _header(rec, TYPE_FRU_LOCATOR)
    rec[5] = address
    rec[6] = fru_id
    rec[7] = 0x80  # logical FRU device, LUN 0, private bus 0
    rec[8] = 0  # channel 0
    rec[10] = 0x10  # FRU inventory device behind a management controller
    rec[11] = 0
    rec[12], rec[13] = entity
    _id_string(rec, 15, name)
    return rec


def _fnv(h, data):
    for x in data:
        h = ((h ^ x) * 0x01000193) & 0xFFFFFFFF
    return h


class Repository:
    """The device SDRs of this controller, record ids 1..n."""

    def __init__(self):
        self.records = []
        self.sensor_count = 0
        self.reservation = 0  # 0: none valid
        self._serial = 0
        self.indicator = 0  # sensor population change indicator: hash of the records

    def add(self, rec):
        n = len(self.records) + 1
        rec[0] = n & 0xFF
        rec[1] = n >> 8
        self.records.append(rec)
        if rec[3] == TYPE_FULL_SENSOR:
            self.sensor_count += 1
        self.changed()

    def changed(self):
        """Records changed: cancel the reservation, move the change indicator."""
        h = 0x811C9DC5
        for rec in self.records:
            h = _fnv(h, rec)
        self.indicator = h
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
        d[2 + i] = (v >> (8 * i)) & 0xFF
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
    if (offset or reservation) and reservation != repo.reservation:
        return rs.fail(CC_RESERVATION)
    records = repo.records
    if rid == 0:
        rid = 1
    if not 1 <= rid <= len(records):
        return rs.fail(CC_NOT_PRESENT)
    rec = records[rid - 1]
    if offset >= len(rec):
        return rs.fail(CC_NOT_PRESENT)
    if count == 0xFF:
        count = len(rec) - offset
    if count > _CHUNK:
        return rs.fail(CC_CANNOT_RETURN)
    if count > len(rec) - offset:
        count = len(rec) - offset
    d = rs.data
    _u16(d, 0, rid + 1 if rid < len(records) else _LAST)
    for i in range(count):
        d[2 + i] = rec[offset + i]
    return rs.ok(2 + count)
