"""The request path of the controller: App commands, drops, broadcast, and no allocation."""

import micropython
from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, frame

from ipmc import app  # noqa: F401
from ipmc.ipmb import Request
from ipmc.link import IPMBLink
from ipmc.mc import MC


def _mc():
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    return mc


def _send(mc, raw):
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    mc.handle_frame(rq)


def _responses(mc):
    ob = mc.link.outbox
    out = []
    while True:
        i = ob.oldest()
        if i < 0:
            return out
        out.append(bytes(ob.bufs[i][: ob.lens[i]]))
        ob.state[i] = 0


def test_get_device_id_fields_come_from_the_board_config():
    mc = _mc()
    _send(mc, frame(0x72, 0x06, 0x01))
    (rsp,) = _responses(mc)
    d = rsp[7:-1]
    assert rsp[6] == 0x00
    assert d[0] == 0x42 and d[1] & 0x0F == 3
    assert d[2] == 1 and d[3] == 0x23  # firmware 1.23, minor in BCD
    assert d[4] == 0x02
    assert d[6:9] == bytes((0x5A, 0x31, 0x00)) and d[9:11] == bytes((0x01, 0x53))
    assert d[11:15] == bytes((1, 2, 3, 4))


def test_self_test_reports_ok_then_the_failure_bits():
    mc = _mc()
    _send(mc, frame(0x72, 0x06, 0x04))
    mc.self_test_bits = 0x04
    _send(mc, frame(0x72, 0x06, 0x04))
    a, b = _responses(mc)
    assert a[7:9] == b"\x55\x00" and b[7:9] == b"\x57\x04"


def test_malformed_frames_are_dropped_and_counted():
    mc = _mc()
    _send(mc, b"\x72\x18")
    _send(mc, frame(0x72, 0x06, 0x01)[:-1] + b"\x00")
    assert _responses(mc) == []
    assert mc.stats["malformed"] == 2 and mc.stats["requests"] == 0


def test_broadcast_get_device_id_answers_only_for_our_address():
    mc = _mc()
    # What the target receives after a general call: rsSA, netFn, cs1, ... (own SA in front)
    _send(mc, b"\x72" + frame(0x72, 0x06, 0x01))
    _send(mc, b"\x72" + frame(0x74, 0x06, 0x01))
    (rsp,) = _responses(mc)
    assert rsp[0] == 0x20 and rsp[3] == 0x72 and rsp[6] == 0
    assert mc.stats["not_for_us"] == 1


def test_cold_reset_answers_first_then_asks_for_the_reset():
    mc = _mc()
    _send(mc, frame(0x72, 0x06, 0x02))
    (rsp,) = _responses(mc)
    assert rsp[6] == 0 and mc.reset_requested is not None


def test_get_device_id_allocates_nothing():
    mc = _mc()
    raw = frame(0x72, 0x06, 0x01)
    _send(mc, raw)  # first use (asyncio objects, caches) outside the lock
    _responses(mc)
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    micropython.heap_lock()
    try:
        for _ in range(5):
            mc.handle_frame(rq)
            mc.link.outbox.state[mc.link.outbox.oldest()] = 0
    finally:
        micropython.heap_unlock()
    assert mc.stats["requests"] == 6


def _send_message(mc, inner):
    _send(mc, frame(0x20, 0x06, 0x34, b"\x40" + inner, rq_sa=0x81))
    (rsp,) = _responses(mc)
    return rsp[6], rsp[7:-1]


def test_send_message_allocates_nothing_from_its_first_use_and_counts_once():
    # ipmitool over serial-basic wraps sensor requests in Send Message: its inner
    # buffers were made at the first one, and the inner request was counted twice
    mc = _mc()
    mc.heap_armed = True  # as Get Heap Info arms it
    raw = frame(0x20, 0x06, 0x34, b"\x40" + frame(0x72, 0x04, 0x2D, b"\x01"), rq_sa=0x81)
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    micropython.heap_lock()
    try:
        for _ in range(3):
            mc.handle_frame(rq)
            mc.link.outbox.state[mc.link.outbox.oldest()] = 0
    finally:
        micropython.heap_unlock()
    assert mc.hot_frames == 3 and mc.hot_alloc == 0


def test_counters_stop_below_the_small_int_limit_of_32_bit_ports():
    # past 2**30 - 1 an int is a heap object on 32-bit ports: every increment allocates
    mc = _mc()
    mc.stats["requests"] = 0x3FFFFFFF
    _send(mc, frame(0x72, 0x06, 0x01))
    _responses(mc)
    assert mc.stats["requests"] < 0x3FFFFFFF
    micropython.heap_lock()
    try:
        for _ in range(3):
            mc.stats["requests"] += 1
    finally:
        micropython.heap_unlock()
    assert mc.stats["requests"] < 0x3FFFFFFF


def test_send_message_to_ourselves_answers_encapsulated():
    mc = _mc()
    cc, data = _send_message(mc, frame(0x72, 0x06, 0x04, rq_sa=0x20, seq=9))
    assert cc == 0
    assert data[0] == 0x20 and data[3] == 0x72 and data[4] >> 2 == 9 and data[5] == 0x04
    assert data[6:9] == b"\x00\x55\x00" and sum(data[3:]) & 0xFF == 0


def test_send_message_elsewhere_or_nested_or_broken_is_refused():
    mc = _mc()
    assert _send_message(mc, frame(0x74, 0x06, 0x04))[0] == 0xD3  # no bridging onto IPMB
    nested = frame(0x72, 0x06, 0x34, b"\x40" + frame(0x72, 0x06, 0x01))
    assert _send_message(mc, nested)[0] == 0xCC
    assert _send_message(mc, frame(0x72, 0x06, 0x04)[:-1] + b"\x00")[0] == 0xCC


def test_heap_measured_only_once_get_heap_info_arms_it():
    # gc.mem_alloc() walks the heap (rp2 and unix port): the request path measures only
    # when armed
    mc = _mc()
    assert not mc.heap_armed
    waste = []

    def allocating(mc, rq, rs):
        waste.append(bytearray(64))
        return rs.ok(0)

    from ipmc import dispatch

    entry = dispatch._table[0x06 << 8 | 0x01]
    saved = entry[0]
    entry[0] = allocating
    try:
        _send(mc, frame(0x72, 0x06, 0x01, b""))
        assert mc.hot_frames == 1 and mc.hot_alloc == 0  # counted, not measured
        _send(mc, frame(0x72, 0x30, 0x02, b""))  # satmc OEM Get Heap Info arms it
        assert mc.heap_armed
        _send(mc, frame(0x72, 0x06, 0x01, b""))
        assert mc.hot_frames == 3 and mc.hot_alloc >= 64
    finally:
        entry[0] = saved


def test_get_heap_info_collects_first_when_asked_and_refuses_other_options():
    import gc

    mc = _mc()
    gc.collect()
    garbage = [bytearray(256) for _ in range(8)]  # 2 KiB the collection must free
    del garbage
    _send(mc, frame(0x72, 0x30, 0x02, b""))
    (plain,) = _responses(mc)
    _send(mc, frame(0x72, 0x30, 0x02, b"\x01"))
    (collected,) = _responses(mc)
    assert plain[6] == collected[6] == 0

    def used(rsp):
        return int.from_bytes(rsp[11:15], "little")

    assert used(collected) <= used(plain) - 2048
    # a reserved option bit: refused, and nothing armed
    mc = _mc()
    _send(mc, frame(0x72, 0x30, 0x02, b"\x02"))
    (refused,) = _responses(mc)
    assert refused[6] == 0xCC and len(refused) == 8 and not mc.heap_armed
    _send(mc, frame(0x72, 0x30, 0x02, b"\x01\x00"))
    assert _responses(mc)[0][6] == 0xC7  # a byte too many


def test_statistics_carry_counters_past_16_bits_whole():
    # a 16-bit field saturated after ~9 minutes of the soak (65535 requests): counters
    # preset past it, and at the cap, read back exactly as u32 LE, 5 a page
    from fakes import ask

    from ipmc import counters

    mc = _mc()
    names = counters.NAMES
    for i, name in enumerate(names):
        mc.stats[name] = 0x10000 + 0x01020304 * i if i < 13 else 0xFFFF + i
    mc.stats["withdrawn"] = counters.CAP
    got = {}
    page = 0
    while True:
        cc, d = ask(mc, 0x30, 0x01, bytes((page,)))
        assert cc == 0 and d[0] == len(names) and d[1] == 5 * page and len(d) <= 22
        for i in range((len(d) - 2) // 4):
            got[names[d[1] + i]] = int.from_bytes(d[2 + 4 * i : 6 + 4 * i], "little")
        if d[1] + (len(d) - 2) // 4 >= d[0]:
            break
        page += 1
    want = {n: mc.stats[n] for n in names}
    assert 0x10000 + 0x01020304 * 5 <= got.pop("requests") <= want.pop("requests")
    assert got == want and got["withdrawn"] == counters.CAP
    assert ask(mc, 0x30, 0x01, bytes((page + 1,)))[0] == 0xC9  # past the last page
