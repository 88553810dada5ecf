"""IPMI Serial Basic Mode on the board's USB serial: what `ipmitool -I serial-basic` speaks.

    sb = SerialBasic(mc, sys.stdin.buffer, sys.stdout.buffer)
    faults.task(mc.stats, sb.serve)   # (main.py does this)

A frame is A0, the escaped message, A5. Inside: an IPMB-format request (rsSA, netFn,
cs1, rqSA, seq, cmd, data, cs2). Five byte values travel escaped as AA then a code:
A0 -> AA B0 (start), A5 -> AA B5 (stop), A6 -> AA B6 (handshake), AA -> AA BA,
1B -> AA 3B. Requests to the BMC address 0x20 or to our own IPMB address go through
the same dispatcher as IPMB; the response goes back on the line, then a handshake
(A6). Messages may be longer than on IPMB, both ways: up to MAX_MESSAGE bytes (a
request with 33 data bytes, as ipmitool sends them here; a response with 32, so Get
Device SDR answers 30 record bytes at a time). Bytes between frames are ignored, so boot
messages and line noise do no harm; a frame with a bad escape or too long is
dropped and counted.

The REPL stays reachable: CR then Ctrl-C (0D 03) *between* frames ends the firmware
and leaves the line to the REPL. That is what mpremote sends before it enters the raw
REPL, so deploying works on a running board; at a terminal, press Enter, then Ctrl-C.
Inside a frame 0x03 and 0x0D are data, and so are the bytes of a frame whose start
was lost (a host that went on sending through a reset): between frames, a byte other
than a start, a stop, a CR or a Ctrl-C starts a skip up to the next stop. A half frame,
or such a tail, quiet for STALE_MS is between frames again (a half frame counted dropped).
Ctrl-C itself is off from main.py's first line (bundle.MAIN_PY): a 0x03 in the frames
of a host that goes on sending through a Cold Reset cannot stop the boot in the REPL.

While serve() runs, the line carries frames only: faults.quiet keeps tracebacks off it
(a handler's fault is answered FF; a fault in one frame is counted in task_errors and
the frame dropped). Text the firmware prints at boot comes before the first frame.
"""

import asyncio
import select
import time

import micropython
from micropython import const

from . import faults
from .dispatch import CHANNEL_SERIAL
from .ipmb import Request, Response

START = const(0xA0)
STOP = const(0xA5)
HANDSHAKE = const(0xA6)
ESCAPE = const(0xAA)
_ESC_CHAR = const(0x1B)
_CTRL_C = const(0x03)
BMC_SA = const(0x20)

MAX_MESSAGE = const(40)  # ipmitool sends up to 33 request data bytes on this link
_POLL_BUSY_MS = const(1)  # how often the line is looked at while bytes are coming in,
_POLL_IDLE_MS = const(10)  # and after _BUSY_FOR_MS without a byte
_BUSY_FOR_MS = const(200)
_CR = const(0x0D)
STALE_MS = const(1000)  # a half frame quiet this long is given up
_IDLE = const(0)  # between frames
_IN_FRAME = const(1)
_AFTER_ESCAPE = const(2)
_AFTER_CR = const(3)  # a CR between frames: a Ctrl-C next asks for the REPL
_SKIP = const(4)  # bytes of no frame we saw start: skipped up to a stop


def escape_code(b):
    """The code sent after AA for a byte that must be escaped, or -1."""
    if b == START:
        return 0xB0
    if b == STOP:
        return 0xB5
    if b == HANDSHAKE:
        return 0xB6
    if b == ESCAPE:
        return 0xBA
    if b == _ESC_CHAR:
        return 0x3B
    return -1


def unescape(code):
    """The byte an escape code stands for, or -1 for an invalid code."""
    if code == 0xB0:
        return START
    if code == 0xB5:
        return STOP
    if code == 0xB6:
        return HANDSHAKE
    if code == 0xBA:
        return ESCAPE
    if code == 0x3B:
        return _ESC_CHAR
    return -1


def encode(src, n, out):
    """Frame src[:n] into out (A0 .. A5, escaped, then a handshake); returns the length."""
    k = 0
    out[k] = START
    k += 1
    for i in range(n):
        b = src[i]
        code = escape_code(b)
        if code < 0:
            out[k] = b
            k += 1
        else:
            out[k] = ESCAPE
            out[k + 1] = code
            k += 2
    out[k] = STOP
    out[k + 1] = HANDSHAKE
    return k + 2


class SerialBasic:
    def __init__(self, mc, stream_in, stream_out):
        self.mc = mc
        self.stream_in = stream_in
        self.stream_out = stream_out
        self.rq = Request(MAX_MESSAGE)
        self.rq.channel = CHANNEL_SERIAL  # the firmware firewall's policy for this line
        self.response = Response(MAX_MESSAGE)  # this channel's limit, for every handler
        self._state = _IDLE
        self._len = 0
        self._too_long = False
        self._one = bytearray(1)
        self._out = bytearray(2 * MAX_MESSAGE + 3)
        self.stats = mc.stats

    def feed(self, b):
        """One received byte; returns True when the REPL was asked for (CR, Ctrl-C
        between frames)."""
        st = self._state
        if b == START:  # a start always begins a new frame, even inside one
            self._state = _IN_FRAME
            self._len = 0
            self._too_long = False
        elif st == _IDLE or st == _AFTER_CR:
            if b == _CTRL_C and st == _AFTER_CR:
                self._state = _IDLE
                return True
            if b == _CR:
                self._state = _AFTER_CR
            elif b == STOP or b == HANDSHAKE or b == _CTRL_C:
                self._state = _IDLE  # a lone Ctrl-C (a key, a host's byte) is ignored
            else:
                self._state = _SKIP
        elif st == _SKIP:
            if b == STOP:
                self._state = _IDLE
        elif st == _AFTER_ESCAPE:
            v = unescape(b)
            if v < 0:
                self.stats["serial_dropped"] += 1
                self._state = _IDLE
            else:
                self._put(v)
                self._state = _IN_FRAME
        elif b == ESCAPE:
            self._state = _AFTER_ESCAPE
        elif b == STOP:
            self._state = _IDLE
            self._frame_done()
        elif b != HANDSHAKE:
            self._put(b)
        return False

    def stale(self):
        """The line was quiet for STALE_MS: what came before is no frame any more."""
        if self._state == _IN_FRAME or self._state == _AFTER_ESCAPE:
            self.stats["serial_dropped"] += 1
        self._state = _IDLE

    def _put(self, b):
        if self._len < MAX_MESSAGE:
            self.rq.buf[self._len] = b
            self._len += 1
        else:
            self._too_long = True

    def _frame_done(self):
        rq = self.rq
        if self._too_long or self._len == 0:
            self.stats["serial_dropped"] += 1
            return
        self.stats["serial_frames"] += 1
        rq.length = self._len
        rs_sa = rq.buf[0]
        if rs_sa != BMC_SA and rs_sa != self.mc.address:
            self.stats["not_for_us"] += 1
            return
        n = self.mc.answer(rq, self.response)
        if n:
            k = encode(self.response.buf, n, self._out)
            self.stream_out.write(self._out, 0, k)

    async def serve(self):
        """Answer the line until Ctrl-C between frames asks for the REPL.

        The line is polled, not awaited: asyncio's stream reads make a coroutine per
        call and its I/O queue a list per wait, one of each per received byte. Polling
        allocates nothing (ipoll reuses its tuple, sleep_ms its generator): every 1 ms
        while bytes are coming in, every 10 ms once the line has been quiet for 200 ms.
        """
        micropython.kbd_intr(-1)  # 0x03 is data here; feed() decides what it means
        faults.quiet = True  # until Ctrl-C: text on the line would land among frames
        poller = select.poll()
        poller.register(self.stream_in, select.POLLIN)
        one = self._one
        last = time.ticks_ms()
        try:
            while True:
                while _readable(poller):
                    if not self.stream_in.readinto(one):
                        break  # no line (EOF): look again later
                    last = time.ticks_ms()
                    try:
                        asked = self.feed(one[0])
                    except Exception as e:  # one frame's fault: drop it, keep the line
                        faults.caught(self.stats, "task_errors", e)
                        self._state = _IDLE
                        asked = False
                    if asked:
                        faults.quiet = False  # the REPL has the line: text is welcome again
                        raise KeyboardInterrupt
                quiet = time.ticks_diff(time.ticks_ms(), last)
                if quiet >= STALE_MS and self._state != _IDLE:
                    self.stale()
                busy = quiet < _BUSY_FOR_MS
                await asyncio.sleep_ms(_POLL_BUSY_MS if busy else _POLL_IDLE_MS)
        finally:
            micropython.kbd_intr(3)


def _readable(poller):
    for _ in poller.ipoll(0):
        return True
    return False
