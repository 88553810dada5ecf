"""IPMB frames in preallocated buffers: checksums, request parsing, response building.

    rq = Request()
    rq.buf[0] = own_sa; rq.buf[1:n] = received   # the target never sees its address byte
    rq.length = n
    if rq.valid():
        ...  rq.netfn, rq.cmd, rq.data[0:rq.data_len]
    rs = Response()
    n = rs.build(rq, cc, data_len)                # rs.buf[:n] is the frame, rqSA first

Layout (1-based in the spec, 0-based here):
  request   0 rsSA | 1 netFn<<2|rsLUN | 2 cs1 | 3 rqSA | 4 seq<<2|rqLUN | 5 cmd | 6.. data, cs2
  response  0 rqSA | 1 netFn<<2|rqLUN | 2 cs1 | 3 rsSA | 4 seq<<2|rsLUN | 5 cmd | 6 cc | 7.., cs2
Nothing here allocates after construction.
"""

from micropython import const

MAX_FRAME = const(32)  # including the address byte
MIN_REQUEST = const(7)  # header (6) + cs2
MAX_REQUEST_DATA = const(25)  # 32 - 7
MAX_RESPONSE_DATA = const(24)  # 32 - 8 (cc)
RQ_DATA = const(6)
RS_DATA = const(7)

BROADCAST_SA = const(0x00)  # general-call address byte that prefixes Broadcast Get Device ID


def checksum(buf, start, end):
    """Two's complement checksum of buf[start:end]; the frame is valid when sum+cs == 0."""
    s = 0
    for i in range(start, end):
        s += buf[i]
    return -s & 0xFF


class Request:
    """A received frame, in place; fields are read from the buffer on access.

    A response (odd netFn) uses the same positions: rs_sa is then the requester's
    address, rq_sa the responder's, and data[0] the completion code.
    """

    def __init__(self, capacity=MAX_FRAME):
        self.capacity = capacity  # IPMB frames are at most 32 bytes; serial links carry more
        self.buf = bytearray(capacity + 1)
        self.length = 0
        self.data = memoryview(self.buf)[RQ_DATA:]
        self.channel = 0  # the channel it arrived on (dispatch.CHANNEL_*): IPMB unless set

    def valid(self):
        n = self.length
        b = self.buf
        if n < MIN_REQUEST or n > self.capacity:
            return False
        if (b[0] + b[1] + b[2]) & 0xFF:
            return False
        s = 0
        for i in range(3, n):
            s += b[i]
        return s & 0xFF == 0

    @property
    def rs_sa(self):
        return self.buf[0]

    @property
    def netfn(self):
        return self.buf[1] >> 2

    @property
    def rs_lun(self):
        return self.buf[1] & 3

    @property
    def rq_sa(self):
        return self.buf[3]

    @property
    def seq(self):
        return self.buf[4] >> 2

    @property
    def rq_lun(self):
        return self.buf[4] & 3

    @property
    def cmd(self):
        return self.buf[5]

    @property
    def is_response(self):
        return self.buf[1] & 4

    @property
    def data_len(self):
        return self.length - MIN_REQUEST


class Response:
    """A response (or any outgoing frame) built in a preallocated buffer.

    Handlers write their data at `data` and finish with `ok(n)` or `fail(cc)`. The
    channel the request came on sets the capacity: `max_data` response data bytes
    (after cc) fit; 24 on IPMB, more on a serial link. Handlers that can answer in
    pieces (Get Device SDR, Read FRU Data) give as much as the channel carries.
    """

    def __init__(self, capacity=MAX_FRAME):
        self.buf = bytearray(capacity)
        self.data = memoryview(self.buf)[RS_DATA : capacity - 1]
        self.max_data = capacity - RS_DATA - 1
        self.cc = 0xFF

    def ok(self, n=0):
        self.cc = 0
        return n

    def fail(self, cc):
        self.cc = cc
        return 0

    def build(self, rq, data_len):
        """Frame the answer to rq with self.cc and data_len data bytes; returns its length."""
        b = self.buf
        q = rq.buf
        if self.cc:
            data_len = 0
        b[0] = q[3]
        b[1] = ((q[1] >> 2) | 1) << 2 | (q[4] & 3)  # netFn + 1 | rqLUN
        b[2] = -(b[0] + b[1]) & 0xFF
        b[3] = q[0]
        b[4] = (q[4] & 0xFC) | (q[1] & 3)
        b[5] = q[5]
        b[6] = self.cc
        n = RS_DATA + data_len
        b[n] = checksum(b, 3, n)
        return n + 1


def frame_request(buf, rs_sa, netfn, rs_lun, rq_sa, seq, rq_lun, cmd, data_len):
    """Header and checksums for a request whose data is already at buf[6:]; its length."""
    buf[0] = rs_sa
    buf[1] = netfn << 2 | rs_lun
    buf[2] = -(buf[0] + buf[1]) & 0xFF
    buf[3] = rq_sa
    buf[4] = (seq & 0x3F) << 2 | rq_lun
    buf[5] = cmd
    n = RQ_DATA + data_len
    buf[n] = checksum(buf, 3, n)
    return n + 1
