"""The management controller: board identity, counters, and the path of a request.

    mc = MC(config)
    mc.link = IPMBLink(...)
    mc.handle_frame(rq)      # validate, dispatch, queue the response (no allocation)

Modules add what the controller offers: `mc.support |= SUPPORT_FRU`, self-test
results in `mc.self_test_bits`, a hook for responses to our own requests.
"""

import gc
import time

from micropython import const

from . import counters, faults
from .dispatch import CC_UNSPECIFIED, dispatch
from .ipmb import MIN_REQUEST, Response

SUPPORT_SENSOR_DEVICE = const(0x01)
SUPPORT_SDR_REPOSITORY = const(0x02)
SUPPORT_SEL = const(0x04)
SUPPORT_FRU = const(0x08)
SUPPORT_EVENT_RECEIVER = const(0x10)
SUPPORT_EVENT_GENERATOR = const(0x20)

_NETFN_APP = const(0x06)
_NOT_BROADCAST = const(0)
_BROADCAST_FOR_US = const(1)
_BROADCAST_OTHER = const(2)
_GET_DEVICE_ID = const(0x01)
# gc.mem_alloc() walks the whole heap: on rp2 two calls cost the request ~20 ms (1/4 of
# its 200 KB heap per ms at 125 MHz), on the unix port (2 MB heap) ~0.36 ms, the most of
# its turnaround; so the request path is measured only once Get Heap Info has armed it.


class MC:
    def __init__(self, config):
        self.config = config
        self.address = config["ipmb"]["address"]
        dev = config["device"]
        self.device_id = dev["device_id"]
        self.device_revision = dev["device_revision"]
        self.manufacturer_id = dev["manufacturer_id"]
        self.product_id = dev["product_id"]
        self.aux_revision = bytes(dev["aux_firmware_revision"])
        self.firmware = tuple(int(x) for x in config["firmware_version"].split("."))
        self.support = 0
        self.has_sensors = False
        self.provides_sdrs = False
        self.self_test_bits = 0  # 57h byte: [5] FRU inaccessible, [2] FRU internal use corrupt...
        self.self_test_detail = 0
        self.guid = bytes(16)
        self.stats = counters.Counters()
        self.link = None
        self.response_hook = None  # callable(rq) for responses to our own requests
        self.reset_requested = None  # ticks_ms of a Cold Reset request
        self.response = Response()
        self.hot_alloc = 0  # bytes allocated while handling requests (target: 0)
        self.hot_frames = 0  # requests handled (counted always)
        self.heap_armed = False  # hot_alloc measured (Get Heap Info arms it)

    def handle_frame(self, rq):
        """One frame received on IPMB: its response goes out through the link."""
        n = self.answer(rq)
        if n:
            self.queue_frame(self.response.buf, n)

    def answer(self, rq, rs=None):
        """Validate and dispatch rq; the length of the response in rs, or 0.

        rs is the channel's response (its capacity is the channel's limit); IPMB's,
        self.response, by default. Counts the heap the request took (hot_alloc, over
        hot_frames requests): the commands on hot paths allocate nothing. The heap is
        measured only while heap_armed (from the first Get Heap Info on: measuring costs
        the request a heap walk each side).
        """
        armed = self.heap_armed
        before = gc.mem_alloc() if armed else 0
        handled = self.stats["requests"]
        n = self.respond(rq, self.response if rs is None else rs)
        if self.stats["requests"] != handled:
            if armed:
                grew = gc.mem_alloc() - before
                if grew > 0 and self.hot_alloc < 0x3FFFFFFF - grew:
                    self.hot_alloc += grew
            if self.hot_frames < 0x3FFFFFFF:
                self.hot_frames += 1
        return n

    def respond(self, rq, rs):
        """Validate and dispatch rq into rs; the response length, or 0 for no response.

        Invalid frames and stray responses are dropped (counted); responses to our own
        requests go to response_hook. A handler that raises is answered FF and counted
        (handler_errors). Send Message answers its inner request with this.
        """
        if not rq.valid():
            kind = self._as_broadcast(rq)
            if kind != _BROADCAST_FOR_US:
                self.stats["not_for_us" if kind else "malformed"] += 1
                return 0
        if rq.is_response:
            if self.response_hook is not None:
                self.response_hook(rq)
            else:
                self.stats["not_for_us"] += 1
            return 0
        self.stats["requests"] += 1
        try:
            n = dispatch(self, rq, rs)
        except Exception as e:  # one request's fault: it gets FF, the service goes on
            faults.caught(self.stats, "handler_errors", e)
            rs.cc = CC_UNSPECIFIED
            n = 0
        return rs.build(rq, n)

    def _as_broadcast(self, rq):
        """Broadcast Get Device ID: general call, then a frame whose rsSA says who answers.

        What we received (after the address byte we put in front) is then
        [own, rsSA, netFn, cs1, ...]: shift it left by one and check again.
        """
        b = rq.buf
        n = rq.length
        if n < MIN_REQUEST + 1:
            return _NOT_BROADCAST
        for i in range(n - 1):
            b[i] = b[i + 1]
        rq.length = n - 1
        if not rq.valid() or rq.netfn != _NETFN_APP or rq.cmd != _GET_DEVICE_ID:
            return _NOT_BROADCAST
        return _BROADCAST_FOR_US if b[0] == self.address else _BROADCAST_OTHER

    def queue_frame(self, src, n):
        """Copy a frame (destination address first) into the outbox; False when full."""
        ob = self.link.outbox
        i = ob.claim()
        if i < 0:
            self.stats["outbox_full"] += 1
            return False
        dst = ob.bufs[i]
        for k in range(n):
            dst[k] = src[k]
        ob.commit(i, n)
        self.link.queued(i)
        return True

    def firmware_bcd_minor(self):
        m = self.firmware[1] % 100
        return (m // 10) << 4 | m % 10

    def request_reset(self):
        self.reset_requested = time.ticks_ms()
