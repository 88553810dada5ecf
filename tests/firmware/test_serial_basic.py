"""Serial Basic Mode framing in the firmware (ipmc.serial_basic)."""

import io

from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, frame

from ipmc import app  # noqa: F401
from ipmc.link import IPMBLink
from ipmc.mc import MC
from ipmc.serial_basic import SerialBasic, encode


def _sb():
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    out = io.BytesIO()
    return SerialBasic(mc, None, out), out, mc


def _feed(sb, data):
    asked = False
    for b in data:
        asked = sb.feed(b) or asked
    return asked


def test_encode_escapes_the_five_special_bytes():
    out = bytearray(80)
    n = encode(bytes((0x01, 0xA0, 0xA5, 0xA6, 0xAA, 0x1B, 0x02)), 7, out)
    assert bytes(out[:n]) == bytes.fromhex("a0 01 aab0 aab5 aab6 aaba aa3b 02 a5 a6")


def test_request_to_the_bmc_address_is_answered_on_the_line():
    sb, out, mc = _sb()
    raw = frame(0x20, 0x06, 0x01, rq_sa=0x81, seq=5)
    wire = bytearray(80)
    n = encode(raw, len(raw), wire)
    assert not _feed(sb, b"boot noise\r\n" + bytes(wire[:n]))
    got = out.getvalue()
    assert got[0] == 0xA0 and got[-2:] == b"\xa5\xa6"
    rsp = got[1:-2]  # nothing in Get Device ID's answer needs escaping
    assert rsp[0] == 0x81 and rsp[3] == 0x20 and rsp[4] >> 2 == 5 and rsp[6] == 0
    assert mc.stats["serial_frames"] == 1


def test_own_address_is_answered_and_others_are_not():
    sb, out, mc = _sb()
    for rs_sa in (0x72, 0x74):
        raw = frame(rs_sa, 0x06, 0x01, rq_sa=0x81)
        wire = bytearray(80)
        _feed(sb, bytes(wire[: encode(raw, len(raw), wire)]))
    assert out.getvalue().count(b"\xa0") == 1 and mc.stats["not_for_us"] == 1


def test_escaped_data_bytes_reach_the_handler():
    sb, out, mc = _sb()
    raw = frame(0x20, 0x30, 0x01, b"\x00", rq_sa=0x81, seq=0x28)  # seq 0x28 << 2 = 0xA0
    assert 0xA0 in raw
    wire = bytearray(80)
    _feed(sb, bytes(wire[: encode(raw, len(raw), wire)]))
    assert mc.stats["serial_frames"] == 1 and mc.stats["malformed"] == 0


def test_broken_frames_are_dropped_and_counted():
    sb, out, mc = _sb()
    _feed(sb, b"\xa0\x20\x18\xaa\x00\xa5")  # bad escape code
    _feed(sb, b"\xa0" + bytes(41) + b"\xa5")  # too long
    _feed(sb, b"\xa0\x20\x18")  # a half frame, then a new start restarts the parser
    raw = frame(0x20, 0x06, 0x01, rq_sa=0x81)
    wire = bytearray(80)
    _feed(sb, bytes(wire[: encode(raw, len(raw), wire)]))
    assert mc.stats["serial_dropped"] == 2 and mc.stats["serial_frames"] == 1
    assert out.getvalue().count(b"\xa5") == 1


def test_cr_ctrl_c_between_frames_asks_for_the_repl_but_not_inside_one():
    sb, out, mc = _sb()
    assert not _feed(sb, b"\xa0\x20\x03\x0d\x03")  # inside a frame: data
    assert not _feed(sb, b"\xa5\x03")  # a lone Ctrl-C: a byte of a host's frame
    assert not _feed(sb, b"\xa5\x03\x0d")
    assert _feed(sb, b"\x03")  # CR, Ctrl-C: what mpremote sends first
    assert _feed(sb, b"\r\r\x03")


def test_the_tail_of_a_frame_whose_start_was_lost_is_skipped_to_its_stop():
    # a host that went on sending through a reset: the board sees the rest of a frame
    sb, out, mc = _sb()
    dropped = mc.stats["serial_dropped"]
    assert not _feed(sb, b"\x18\x0d\x03\x22\xa5")
    assert _feed(sb, b"\x0d\x03")  # between frames again after its stop
    assert not _feed(sb, b"\x42\x0d\x03")  # no stop yet: still skipping
    sb.stale()  # quiet for STALE_MS: between frames again
    assert _feed(sb, b"\x0d\x03")
    assert mc.stats["serial_dropped"] == dropped  # no frame began: none dropped


def test_a_half_frame_gone_quiet_is_dropped_and_the_line_is_free_again():
    sb, out, mc = _sb()
    dropped = mc.stats["serial_dropped"]
    assert not _feed(sb, b"\xa0\x20\x18\x0d\x03")
    sb.stale()
    assert mc.stats["serial_dropped"] == dropped + 1
    assert _feed(sb, b"\x0d\x03")


def _sdr_board(mc):
    from ipmc import sdr

    mc.sdrs = sdr.Repository()
    for length, kind in ((64, sdr.TYPE_FULL_SENSOR), (28, sdr.TYPE_MC_LOCATOR)):
        rec = bytearray((i * 7 + length) & 0xFF for i in range(length))
        rec[2], rec[3], rec[4] = sdr.SDR_VERSION, kind, length - 5
        mc.sdrs.add(rec)
    mc.sdrs.changed()
    return mc.sdrs.records


def _serial_ask(sb, out, netfn, cmd, data):
    raw = frame(0x20, netfn, cmd, data, rq_sa=0x81)
    wire = bytearray(120)
    start = len(out.getvalue())
    _feed(sb, bytes(wire[: encode(raw, len(raw), wire)]))
    got = out.getvalue()[start:]
    assert got[0] == 0xA0 and got[-2:] == b"\xa5\xa6"
    rsp = bytearray()
    esc = False
    for b in got[1:-2]:
        if esc:
            rsp.append({0xB0: 0xA0, 0xB5: 0xA5, 0xB6: 0xA6, 0xBA: 0xAA, 0x3B: 0x1B}[b])
            esc = False
        elif b == 0xAA:
            esc = True
        else:
            rsp.append(b)
    return rsp[6], bytes(rsp[7:-1])


def test_get_device_sdr_answers_what_the_serial_channel_carries():
    # ipmitool asks 30-byte chunks here; an IPMB-sized answer made it step down one
    # byte per CA to 22. The channel carries MAX_MESSAGE bytes: 30 record bytes.
    from fakes import ask

    sb, out, mc = _sb()
    records = _sdr_board(mc)
    cc, d = _serial_ask(sb, out, 0x04, 0x22, b"")
    res = d[:2]
    cc, d = _serial_ask(sb, out, 0x04, 0x21, res + b"\x01\x00\x05\x1e")
    assert cc == 0 and d[:2] == b"\x02\x00" and d[2:] == records[0][5:35]
    assert _serial_ask(sb, out, 0x04, 0x21, res + b"\x01\x00\x05\x1f")[0] == 0xCA
    cc, d = _serial_ask(sb, out, 0x04, 0x21, res + b"\x02\x00\x00\xff")  # 28 bytes fit
    assert cc == 0 and d[:2] == b"\xff\xff" and d[2:] == records[1]
    assert _serial_ask(sb, out, 0x04, 0x21, res + b"\x01\x00\x00\xff")[0] == 0xCA  # 64 do not
    # the same requests on IPMB: 22 record bytes at most
    assert ask(mc, 0x04, 0x21, res + b"\x01\x00\x05\x1e")[0] == 0xCA
    cc, d = ask(mc, 0x04, 0x21, res + b"\x01\x00\x05\x16")
    assert cc == 0 and d[2:] == records[0][5:27]


def test_read_fru_data_answers_what_the_serial_channel_carries():
    from test_fru import _mc as fru_mc

    mc = fru_mc()[0]
    out = io.BytesIO()
    sb = SerialBasic(mc, None, out)
    cc, d = _serial_ask(sb, out, 0x0A, 0x11, b"\x00\x00\x00\x1f")  # 31 bytes
    assert cc == 0 and d[0] == 31 and len(d) == 32
    assert _serial_ask(sb, out, 0x0A, 0x11, b"\x00\x00\x00\x20")[0] == 0xCA


class _Sink:
    """An output stream that allocates nothing: keeps the last frame written."""

    def __init__(self):
        self.buf = bytearray(128)
        self.n = 0

    def write(self, buf, off=0, n=-1):
        n = len(buf) - off if n < 0 else n
        for i in range(n):
            self.buf[i] = buf[off + i]
        self.n = n
        return n


def test_send_message_over_the_serial_line_allocates_nothing():
    # ipmitool over serial-basic reads sensors owned by 0x72 through Send Message
    import micropython

    mc = MC(CONFIG)
    mc.heap_armed = True  # as Get Heap Info arms it
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    sink = _Sink()
    sb = SerialBasic(mc, None, sink)
    inner = frame(0x72, 0x06, 0x01, rq_sa=0x20, seq=3)
    raw = frame(0x20, 0x06, 0x34, b"\x40" + inner, rq_sa=0x81)
    wire = bytearray(120)
    wire = memoryview(wire)[: encode(raw, len(raw), wire)]
    micropython.heap_lock()
    try:
        for _ in range(3):
            for b in wire:
                sb.feed(b)
    finally:
        micropython.heap_unlock()
    assert mc.stats["serial_frames"] == 3 and mc.hot_frames == 3 and mc.hot_alloc == 0
    assert sink.n > 20 and sink.buf[0] == 0xA0 and sink.buf[sink.n - 1] == 0xA6


def _socket_pair(path):
    import os
    import socket
    import struct

    try:
        os.remove(path)
    except OSError:
        pass
    addr = struct.pack("H", socket.AF_UNIX) + path.encode() + b"\0"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(addr)
    srv.listen(1)
    near = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    near.connect(addr)
    far = srv.accept()[0]
    srv.close()
    os.remove(path)
    return near, far


def test_serving_the_line_allocates_nothing_per_byte_or_frame():
    # asyncio's stream reads make a coroutine per call, and its I/O queue a list per
    # wait: one of each per received byte, the bulk of this path's garbage
    import asyncio

    import micropython

    mc = MC(CONFIG)
    mc.heap_armed = True  # as Get Heap Info arms it
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    host, line = _socket_pair("/tmp/satmc-unit-serial.sock")
    sink = _Sink()
    sb = SerialBasic(mc, line, sink)
    raw = frame(0x20, 0x06, 0x34, b"\x40" + frame(0x72, 0x04, 0x2D, b"\x01"), rq_sa=0x81)
    wire = bytearray(120)
    wire = memoryview(wire)[: encode(raw, len(raw), wire)]
    alive = []

    async def main():
        task = asyncio.create_task(sb.serve())
        await asyncio.sleep_ms(5)  # its set-up, outside the lock
        micropython.heap_lock()
        try:
            for _ in range(3):
                host.write(wire)
                await asyncio.sleep_ms(30)
        finally:
            micropython.heap_unlock()
        alive.append(not task.done())
        task.cancel()

    try:
        asyncio.run(main())
    finally:
        micropython.kbd_intr(3)
        host.close()
        line.close()
    assert alive == [True], "the serving task ended (an allocation under heap_lock?)"
    assert mc.stats["serial_frames"] == 3 and mc.hot_alloc == 0
    assert sink.n > 10 and sink.buf[0] == 0xA0
