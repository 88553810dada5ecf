"""Wire format of the virtual I2C bus socket, shared by CPython and MicroPython.

Every message is ``type (u8) | length (u16 LE) | payload``. A connection first
sends HELLO (role, bus name); a target then sends ATTACH with its 7-bit addresses
(which it then owns alone), or LISTEN (addresses it shares with other listeners, as
host processes at the BMC's address do: each sees every frame written there).

Controller -> bus, each answered by the bus:
    START  addr7 rw            -> STATUS st        (st: ACK, NACK, ARB_LOST, TIMEOUT)
    WRITE  bytes...            -> WROTE st n_acked (byte n_acked was NACKed when short)
    READ   n last_nack         -> DATA st bytes...
    READ   n last_nack 1       -> DATA st held_us(u32 LE) bytes...  (SCL stretched before)
    STOP                       -> STATUS st
    XFER_W addr7 stop bytes... -> WROTE st n_acked (START, address, bytes, [STOP])
    XFER_R addr7 n stop        -> DATA st bytes... (START, address, n bytes, [STOP])
    SEQ    rq_sa               -> DATA st seq      (the bus's next IPMB rqSeq for rq_sa)
    CLAIM  delivery (u32 LE)   -> STATUS st        (ACK: answer that frame; NACK: taken)
Bus -> target, each answered by the target:
    T_ADDR addr7 rw            -> T_ACK ack
    T_WRITE bytes...           -> T_WROTE n_acked
    T_READ n last_nack         -> T_DATA bytes...
    T_END                      -> T_DONE          (STOP or repeated START)
    T_END  delivery (u32 LE)   -> T_DONE          (to listeners, after a write: its number)
Control (JSON both ways): CTRL json -> CTRL_OK json
"""

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


HEADER_LEN = const(3)

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
