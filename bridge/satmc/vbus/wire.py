"""Wire format of the virtual I2C bus socket, for every speaker of it (CPython, MicroPython).

    from satmc.vbus import wire              # CPython: the bus server and its clients
    import vbus_wire as wire                 # MicroPython: staged next to the unix port's machine
    wire.send_msg(sock, wire.HELLO, bytes((wire.ROLE_CONTROLLER,)) + b"ipmb")
    kind, payload = wire.recv_msg(sock)

This module is the protocol's one definition: the constants below, the framing functions
after them, and this text, from which a new speaker can be written.

Transport
    A stream socket (AF_UNIX, SOCK_STREAM) at the bus server's path; one server carries
    several named buses ("ipmb", "board", ...). Every connection plays one role.

Message
    kind (u8) | length (u16, little-endian) | payload (length bytes)
    The header is HEADER_LEN = 3 bytes; a payload is at most MAX_PAYLOAD bytes. Every
    multi-byte number in a payload is little-endian too. Booleans are one byte, 0 or 1.
    Addresses are 7-bit (addr7, 0x00..0x7F). A peer that breaks the format is dropped.

Opening (every role)
    HELLO  role name...        -> STATUS st
        role: ROLE_CONTROLLER, ROLE_TARGET or ROLE_CONTROL; name: the bus name (ASCII, empty
        for ROLE_CONTROL). st: ST_ACK, or ST_NO_BUS when no bus has that name (the server
        then closes the connection).

Controller (ROLE_CONTROLLER): each message is answered before the next is sent
    HELLO  role name...        (no answer)  names this controller in traces
    START  addr7 rw            -> STATUS st        START or repeated START, address byte
    WRITE  bytes...            -> WROTE st n_acked (byte n_acked was NACKed when short)
    READ   n last_nack         -> DATA st bytes... (n bytes; the last one NACKed if last_nack)
    READ   n last_nack 1       -> DATA st held_us (u32) bytes...  (the microseconds the
                                  target held SCL low before its bytes: clock stretching)
    STOP                       -> STATUS st
    XFER_W addr7 stop bytes... -> WROTE st n_acked (START, address, bytes, [STOP])
    XFER_R addr7 n stop        -> DATA st bytes... (START, address, n bytes, [STOP])
    SEQ    rq_sa               -> DATA st seq      (the bus's next IPMB rqSeq for rq_sa, 0..63,
                                  one counter shared by every host requesting as rq_sa)
    SEQ    rq_sa n             -> DATA st seq      (n numbers at once, 1..63: seq and the n - 1
                                  after it, modulo 64, are this host's to use in order)
    CLAIM  delivery (u32)      -> STATUS st        (ST_ACK: this host answers that frame;
                                  ST_NACK: another listener took it, or it is too old)
    rw, stop, last_nack: booleans. n and n_acked are one byte: a transfer is 0..255 bytes.
    XFER_W/XFER_R also end with STOP whenever st is not ST_ACK (the address NACKed, ...);
    a data byte NACKed in XFER_W gives st ST_ACK and a short n_acked.

Target (ROLE_TARGET): after HELLO, one of
    ATTACH addr7...            -> STATUS st        (ST_ACK: these addresses are this
                                  connection's alone; ST_NACK: one is taken)
    LISTEN addr7...            -> STATUS st        (addresses shared with other listeners, as
                                  host processes at the BMC's address: each sees every frame)
    then the bus drives the connection; the target answers each message:
    T_ADDR  addr7 rw           -> T_ACK ack        (ack: 1 ACKs the address, 0 NACKs it)
    T_WRITE bytes...           -> T_WROTE n_acked  (bytes taken; the next one is NACKed)
    T_READ  n last_nack        -> T_DATA bytes...  (exactly n bytes)
    T_END                      -> T_DONE           (STOP or repeated START)
    T_END   delivery (u32)     -> T_DONE           (to listeners, after a write: the frame's
                                  number on the bus, for CLAIM)
    A target that does not answer within the bus's stretch timeout is dropped.

Whole writes (a target that says it takes them)
    Before ATTACH or LISTEN a target may send
    T_CAPS  caps               -> STATUS st        (caps: CAP_XFER)
    and the bus then hands it a write that ends in STOP (XFER_W with stop) as one message:
    T_XFER  addr7 delivery (u32) bytes...  -> T_XFERRED ack n_acked
        exactly what T_ADDR addr7 0, then (when ack) T_WRITE bytes... (when there are
        bytes) and T_END [delivery] would have been, answered as they would have been;
        delivery is 0 for no frame number (not a listener, or no bytes). At most XFER_MAX
        bytes. The bus's accounting (trace, stats, wire time, faults) is the same as
        byte by byte; with pacing on, a general call, a write without STOP or a longer
        one, the bus drives the target byte by byte as before.

Control (ROLE_CONTROL): requests and replies are UTF-8 JSON objects
    CTRL   {"op": ..., ...}    -> CTRL_OK {...}    ({"error": text} when the request failed)

Status codes (st)
    ST_ACK       0  done; the address (and every byte) was ACKed
    ST_NACK      1  the address (or a data byte) was NACKed
    ST_ARB_LOST  2  arbitration lost to another controller
    ST_TIMEOUT   3  the bus stayed busy or stuck
    ST_NO_BUS    4  no such bus, or an operation without a START (the bus was taken away)
    STATUS_NAMES[st] is each code's name in traces.

Wire time: a START (or repeated START) costs BIT_START bit times, a STOP BIT_STOP, and each
byte, the address byte included, BITS_PER_BYTE (8 data bits and the ACK).

Speakers in other languages
    A port folder bridge/satmc/ports/<port>/ with JavaScript or TypeScript sources does not
    copy numbers from this text: it holds `wire.json`, written by `python -m satmc.ports`
    (a JSON object: every constant below, name -> number, and "STATUS_NAMES", a list), and
    its sources read that file (`require("./wire.json")`). tests/test_wire.py fails when a
    port's wire.json is missing or differs from this module, or no source names it.
"""

import errno

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


HEADER_LEN = const(3)
MAX_PAYLOAD = const(0xFFFF)

HELLO = const(0x01)
ATTACH = const(0x02)
LISTEN = const(0x03)

START = const(0x10)
WRITE = const(0x11)
READ = const(0x12)
STOP = const(0x13)
XFER_W = const(0x14)
XFER_R = const(0x15)
SEQ = const(0x16)
CLAIM = const(0x17)

STATUS = const(0x80)
WROTE = const(0x81)
DATA = const(0x82)

T_ADDR = const(0x20)
T_WRITE = const(0x21)
T_READ = const(0x22)
T_END = const(0x23)

T_ACK = const(0xA0)
T_WROTE = const(0xA1)
T_DATA = const(0xA2)
T_DONE = const(0xA3)

T_CAPS = const(0x24)
T_XFER = const(0x25)
T_XFERRED = const(0xA5)
CAP_XFER = const(0x01)
XFER_MAX = const(250)  # data bytes a T_XFER carries at most (its payload: 5 + that)

CTRL = const(0x30)
CTRL_OK = const(0xB0)

ROLE_CONTROLLER = const(1)
ROLE_TARGET = const(2)
ROLE_CONTROL = const(3)

ST_ACK = const(0)
ST_NACK = const(1)
ST_ARB_LOST = const(2)
ST_TIMEOUT = const(3)
ST_NO_BUS = const(4)  # operation without a START, or the bus was taken away

STATUS_NAMES = ("ack", "nack", "arbitration lost", "timeout", "no bus")

BIT_START = const(1)  # bit times charged for START / repeated START
BIT_STOP = const(1)
BITS_PER_BYTE = const(9)  # 8 data bits + ACK


# --- framing ------------------------------------------------------------------------------
# Works on CPython sockets and MicroPython streams alike (recv/sendall). The allocation-free
# pair (put_header, recv_into) serves code that runs with the heap locked.


def put_header(buf, kind, n):
    """Write the header of a message of n payload bytes into buf[0:3]; the message length."""
    buf[0] = kind
    buf[1] = n & 0xFF
    buf[2] = n >> 8
    return HEADER_LEN + n


def send_msg(sock, kind, payload=b""):
    """Send one message (allocates: not for code running with the heap locked)."""
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise ValueError("bus message payload too long")
    sock.sendall(bytes((kind, n & 0xFF, n >> 8)) + payload)


def recv_exact(sock, n):
    """Exactly n bytes from sock; the peer closing first raises OSError(ECONNRESET) (on
    CPython a ConnectionResetError)."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise OSError(errno.ECONNRESET, "peer closed the bus connection")
        buf += chunk
    return bytes(buf)


def recv_msg(sock):
    """One message: (kind, payload bytes)."""
    header = recv_exact(sock, HEADER_LEN)
    n = header[1] | header[2] << 8
    return header[0], recv_exact(sock, n) if n else b""


def recv_into(sock, header, payload):
    """One message without allocating, on a MicroPython stream (readinto(buf, n) reads
    exactly n bytes unless the peer closes): the header into header[0:3], the payload into
    payload. Returns the payload length, or -1 when the peer closed or the payload does not
    fit (the connection cannot be read further)."""
    if sock.readinto(header, HEADER_LEN) != HEADER_LEN:
        return -1
    n = header[1] | header[2] << 8
    if n > len(payload) or (n and sock.readinto(payload, n) != n):
        return -1
    return n
