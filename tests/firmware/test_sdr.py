"""The SDR encoder and the device SDR commands, on MicroPython."""

import micropython
from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, ask, frame

from ipmc import sdr, sdr_encode
from ipmc.ipmb import Request
from ipmc.link import IPMBLink
from ipmc.mc import MC


def _value(m, k2, b, k1, x):
    return (m * x + b * 10**k1) * 10**k2


def test_factors_reproduce_range_and_resolution():
    for lo, res in ((-20000, 500), (0, 60), (0, 20), (0, 50000), (-40000, 1000), (2500, 10)):
        m, k2, b, k1 = sdr_encode.factors(lo, res)
        for x in (0, 1, 100, 255):
            want = (lo + x * res) / 1000
            assert abs(_value(m, k2, b, k1, x) - want) < 1e-6, (lo, res, x)


def test_factors_keep_m_and_b_within_10_bits():
    m, k2, b, k1 = sdr_encode.factors(-20000, 500)
    assert (m, k2, b, k1) == (5, -1, -2, 2)
    try:
        sdr_encode.factors(0, 513)
    except ValueError:
        pass
    else:
        raise AssertionError("M = 513 does not fit 10 bits signed")


def _record():
    return sdr_encode.full_sensor_record(
        0x72,
        5,
        (0x07, 1),
        0x01,
        0x01,
        "Board Temp",
        lo_milli=-20000,
        res_milli=500,
        unit=1,
        thresholds=bytes((50, 40, 0, 160, 190, 220)),
        readable=0x3B,
        settable=0x1B,
        hysteresis=(4, 3),
        assert_mask=0x0A85,
        deassert_mask=0x0A85,
        nominal=90,
    )


def test_full_sensor_record_layout():
    r = _record()
    assert r[2] == 0x51 and r[3] == 0x01 and r[4] == len(r) - 5
    assert r[5] == 0x72 and r[7] == 5 and r[8] == 0x07 and r[12] == 0x01 and r[13] == 0x01
    assert r[18] == 0x3B and r[19] == 0x1B  # readable (byte 19), then settable (byte 20)
    assert r[15] >> 4 == 0x3B & 7 and r[17] >> 4 == 0x3B >> 3  # threshold reading masks
    assert r[21] == 1  # degrees C
    m = r[24] | (r[25] & 0xC0) << 2
    b = r[26] | (r[27] & 0xC0) << 2
    if b & 0x200:
        b -= 0x400
    assert m == 5 and b == -2 and r[29] == (0xF << 4 | 2)  # K2 = -1, K1 = 2
    assert bytes(r[36:42]) == bytes((220, 190, 160, 0, 40, 50))  # UNR UC UNC LNR LC LNC
    assert r[42] == 4 and r[43] == 3 and r[31] == 90 and r[30] & 1
    assert r[47] == 0xC0 | 10 and bytes(r[48:]) == b"Board Temp"


def _mc():
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    mc.sdrs = sdr.Repository()
    mc.sdrs.add(_record())
    mc.sdrs.add(sdr_encode.mc_locator_record(0x72, 0x29, (0x07, 1), "unit"))
    mc.sdrs.changed()
    return mc


def _ask(mc, cmd, data=b""):
    return ask(mc, 0x04, cmd, data)


def test_get_device_sdr_partial_reads_and_limits():
    mc = _mc()
    cc, d = _ask(mc, 0x20)
    assert cc == 0 and d[0] == 1 and d[1] == 0x81
    cc, d = _ask(mc, 0x20, b"\x01")
    assert d[0] == 2
    cc, d = _ask(mc, 0x22)
    res = d[:2]
    rec = bytearray()
    while len(rec) < 58:
        cc, d = _ask(mc, 0x21, res + b"\x00\x00" + bytes((len(rec), 22)))
        assert cc == 0 and d[:2] == b"\x02\x00"
        rec += d[2:]
    assert rec == mc.sdrs.records[0]
    assert _ask(mc, 0x21, res + b"\x00\x00\x00\x17")[0] == 0xCA  # 23 bytes do not fit
    assert _ask(mc, 0x21, res + b"\x00\x00\x00\xff")[0] == 0xCA  # nor does the whole record
    cc, d = _ask(mc, 0x21, res + b"\x02\x00\x00\xff")  # the MC locator does
    assert cc == 0 and d[:2] == b"\xff\xff" and bytes(d[2:]) == mc.sdrs.records[1]
    assert _ask(mc, 0x21, res + b"\x03\x00\x00\x05")[0] == 0xCB


def test_changes_cancel_the_reservation_and_move_the_indicator():
    mc = _mc()
    before = _ask(mc, 0x20)[1][2:6]
    res = _ask(mc, 0x22)[1][:2]
    assert _ask(mc, 0x21, res + b"\x01\x00\x05\x05")[0] == 0
    mc.sdrs.records[0][38] = 150
    mc.sdrs.changed()
    assert _ask(mc, 0x21, res + b"\x01\x00\x05\x05")[0] == 0xC5
    assert _ask(mc, 0x20)[1][2:6] != before
    res2 = _ask(mc, 0x22)[1][:2]
    assert res2 != res and _ask(mc, 0x21, res2 + b"\x01\x00\x05\x05")[0] == 0


def test_an_offset_at_or_past_the_end_of_a_record_is_out_of_range():
    mc = _mc()
    res = _ask(mc, 0x22)[1][:2]
    n = len(mc.sdrs.records[1])  # the MC locator, record 2
    assert _ask(mc, 0x21, res + bytes((2, 0, n - 1, 1)))[0] == 0  # its last byte
    for offset in (n, n + 1, 0xFF):
        assert _ask(mc, 0x21, res + bytes((2, 0, offset, 1)))[0] == 0xC9
    assert _ask(mc, 0x21, res + b"\x09\x00\x00\x05")[0] == 0xCB  # no record 9


def test_reservation_0000h_reads_only_from_offset_0():
    mc = _mc()
    assert _ask(mc, 0x21, b"\x00\x00\x01\x00\x00\x05")[0] == 0  # from offset 0: no reservation
    assert _ask(mc, 0x21, b"\x00\x00\x01\x00\x05\x05")[0] == 0xC5  # partial: needs one
    res = _ask(mc, 0x22)[1][:2]
    assert _ask(mc, 0x21, res + b"\x01\x00\x05\x05")[0] == 0
    assert _ask(mc, 0x21, b"\x00\x00\x01\x00\x05\x05")[0] == 0xC5
    mc.sdrs.changed()  # cancels the reservation: 0000h must not become valid with it
    assert _ask(mc, 0x21, b"\x00\x00\x01\x00\x05\x05")[0] == 0xC5
    assert _ask(mc, 0x21, b"\x00\x00\x01\x00\x00\x05")[0] == 0


def _small(v):
    return not isinstance(v, int) or -0x40000000 <= v <= 0x3FFFFFFF


def test_sdr_info_serves_the_indicator_without_big_ints():
    # On 32-bit ports ints beyond 2**30 - 1 are heap objects: an Adler-32 kept as one
    # int made every Get Device SDR Info allocate there (shifting it makes new ones)
    mc = _mc()
    mc.heap_armed = True  # as Get Heap Info arms it
    repo = mc.sdrs
    assert all(_small(v) for v in repo.__dict__.values())
    s1, s2 = 1, 0
    for rec in repo.records:
        for x in rec:
            s1 = (s1 + x) % 65521
            s2 = (s2 + s1) % 65521
    cc, d = _ask(mc, 0x20)
    assert cc == 0 and d[2:6] == bytes((s1 & 0xFF, s1 >> 8, s2 & 0xFF, s2 >> 8))
    raw = frame(0x72, 0x04, 0x20)
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    micropython.heap_lock()
    try:
        mc.handle_frame(rq)
    finally:
        micropython.heap_unlock()
    assert mc.hot_alloc == 0
