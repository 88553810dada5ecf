"""Encoding device SDRs from the board config (boot only: unloaded once they are built).

m, k2, b, k1 = factors(lo_milli=-40000, res_milli=500)   # y = (M*x + B*10^K1) * 10^K2
rec = full_sensor_record(owner=0x72, number=1, ...)       # bytearray, record id 0
repo.add(rec)                                             # an sdr.Repository
"""

from .sdr import (
    ASSERT_MASK,
    CAPS,
    DEASSERT_MASK,
    EVENT_TYPE,
    FULL_HEADER,
    HYST_NEG,
    HYST_POS,
    ID_TYPE_LEN,
    INIT,
    M_LS,
    MAX_ID,
    NOMINAL,
    NUMBER,
    OWNER,
    READABLE,
    SDR_VERSION,
    SENSOR_MAX,
    SENSOR_MIN,
    SENSOR_TYPE,
    SETTABLE,
    THRESHOLDS,
    TYPE_FRU_LOCATOR,
    TYPE_FULL_SENSOR,
    TYPE_MC_LOCATOR,
    UNIT,
    UNITS1,
)


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
