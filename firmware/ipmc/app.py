"""App netFn commands: device identity, self test, reset, GUID, and satmc's counters.

Importing this module registers the handlers.
"""

from micropython import const

from . import counters
from .dispatch import CC_CANNOT_RETURN, CC_INVALID_DATA, CC_OUT_OF_RANGE, NETFN_APP, command
from .ipmb import MIN_REQUEST, Request, Response

_NETFN_OEM = const(0x30)
_HEAP_COLLECT = const(0x01)  # Get Heap Info's option: gc.collect() before measuring
_STATS_PER_PAGE = const(5)  # 5 x u32 fit one response (22 data bytes) with the page header

_SELF_TEST_OK = const(0x55)
_SELF_TEST_ERROR = const(0x57)
_CMD_SEND_MESSAGE = const(0x34)
_CC_DESTINATION_UNAVAILABLE = const(0xD3)
_INNER_MAX = const(23)  # an encapsulated response must fit the outer one's data

# Send Message's inner request and response: made at import, so that its first use
# (one of ipmitool's first requests over serial-basic) allocates nothing either
_inner = Request()
_inner_rs = Response()


@command(NETFN_APP, 0x01)
def get_device_id(mc, rq, rs):
    d = rs.data
    d[0] = mc.device_id
    d[1] = (0x80 if mc.provides_sdrs else 0) | (mc.device_revision & 0x0F)
    d[2] = mc.firmware[0] & 0x7F  # [7] update in progress: never while serving
    d[3] = mc.firmware_bcd_minor()
    d[4] = 0x02  # IPMI 2.0
    d[5] = mc.support
    m = mc.manufacturer_id
    d[6] = m & 0xFF
    d[7] = (m >> 8) & 0xFF
    d[8] = (m >> 16) & 0x0F
    d[9] = mc.product_id & 0xFF
    d[10] = mc.product_id >> 8
    aux = mc.aux_revision
    for i in range(4):
        d[11 + i] = aux[i]
    return rs.ok(15)


@command(NETFN_APP, 0x02)
def cold_reset(mc, rq, rs):
    mc.request_reset()  # after this response has gone out
    return rs.ok(0)


@command(NETFN_APP, 0x04)
def get_self_test_results(mc, rq, rs):
    if mc.self_test_bits:
        rs.data[0] = _SELF_TEST_ERROR
        rs.data[1] = mc.self_test_bits
    else:
        rs.data[0] = _SELF_TEST_OK
        rs.data[1] = 0
    return rs.ok(2)


@command(NETFN_APP, 0x08)
def get_device_guid(mc, rq, rs):
    g = mc.guid
    for i in range(16):
        rs.data[i] = g[i]
    return rs.ok(16)


@command(_NETFN_OEM, 0x01, 1)
def get_statistics(mc, rq, rs):
    """satmc OEM: counters [page]: total, first index, then up to 5 u32 LE.

    32 bits, not 16: a board at full rate passes 65535 requests in minutes (a 16-bit
    field saturated after ~9 minutes of the soak). A counter itself stops at
    counters.CAP (2**30 - 2), which a u32 carries whole."""
    first = rq.data[0] * _STATS_PER_PAGE
    names = counters.NAMES
    if first >= len(names):
        return rs.fail(CC_OUT_OF_RANGE)
    d = rs.data
    d[0] = len(names)
    d[1] = first
    n = 0
    stats = mc.stats
    while n < _STATS_PER_PAGE and first + n < len(names):
        _u32(d, 2 + 4 * n, stats[names[first + n]])
        n += 1
    return rs.ok(2 + 4 * n)


def _u32(d, at, v):
    for i in range(4):
        d[at + i] = (v >> (8 * i)) & 0xFF


@command(_NETFN_OEM, 0x02, 0, 1)
def get_heap_info(mc, rq, rs):
    """satmc OEM: heap free, heap used, bytes allocated handling requests, requests (u32 LE).

    An optional byte, bit 0 set: collect first, so "used" is the live heap (a soak
    samples it; garbage not yet collected says nothing of a leak). Other bits: CC.
    Arms the request path's heap measurement (mc.heap_armed): hot_alloc counts from the
    first Get Heap Info on (a heap walk each side of a request costs its turnaround)."""
    import gc

    collect = rq.data_len and rq.data[0]
    if collect & ~_HEAP_COLLECT:
        return rs.fail(CC_INVALID_DATA)
    if collect:
        gc.collect()
    mc.heap_armed = True
    d = rs.data
    _u32(d, 0, gc.mem_free())
    _u32(d, 4, gc.mem_alloc())
    _u32(d, 8, mc.hot_alloc)
    _u32(d, 12, mc.hot_frames)
    return rs.ok(16)


@command(NETFN_APP, _CMD_SEND_MESSAGE, 1 + MIN_REQUEST, 25)
def send_message(mc, rq, rs):
    """Send Message (channel, IPMB request), for a request addressed to us: what ipmitool
    sends to read a sensor whose owner is not its own address. The response carries the
    inner response frame (encapsulated). Other destinations: D3 (no bridging here)."""
    inner, inner_rs = _inner, _inner_rs
    n = rq.data_len - 1
    b = inner.buf
    d = rq.data
    for i in range(n):
        b[i] = d[1 + i]
    inner.length = n
    inner.channel = rq.channel  # the firewall judges it by the line it came on
    if not inner.valid():
        return rs.fail(CC_INVALID_DATA)
    if inner.rs_sa != mc.address:
        return rs.fail(_CC_DESTINATION_UNAVAILABLE)
    if inner.netfn == NETFN_APP and inner.cmd == _CMD_SEND_MESSAGE:
        return rs.fail(CC_INVALID_DATA)  # no nesting
    m = mc.respond(inner, inner_rs)
    if m > _INNER_MAX:
        return rs.fail(CC_CANNOT_RETURN)
    src = inner_rs.buf
    for i in range(m):
        rs.data[i] = src[i]
    return rs.ok(m)
