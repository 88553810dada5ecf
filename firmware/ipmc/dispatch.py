"""The command table: handlers declare their netFn/cmd and request length next to them.

    from ipmc.dispatch import command, NETFN_APP

    @command(NETFN_APP, 0x01, 0)                 # no request data
    def get_device_id(mc, rq, rs):
        rs.data[0] = mc.device_id
        ...
        return rs.ok(15)

    @command(NETFN_STORAGE, 0x11, 4)             # exactly 4 bytes
    @command(NETFN_SENSOR, 0x27, 1, 2)           # 1..2 bytes

    @command(NETFN_STORAGE, 0x12, 4, 33, subfn_at=0)   # request byte 1 picks the sub-function
    @command(NETFN_APP, 0x60, 19, fixed=True)    # the firewall cannot switch this one off

The dispatcher checks LUN and length before a handler runs (C2, C7), answers C1 for
commands it does not know, and pre-sets the completion code to FF so a handler that
forgets to finish answers "unspecified". Registering the same netFn/cmd twice fails at
import time. Lookups and calls allocate nothing.

The Firmware Firewall (IPMI 2.0 ch. 21, ipmc.firewall) lives in the same table: each
command is enabled per channel (the channel is rq.channel: CHANNEL_IPMB or
CHANNEL_SERIAL), a disabled one is answered D4 on that channel and served on the others.
A command that declares subfn_at has up to 32 sub-functions (the request data byte at
subfn_at; for FRU commands the FRU device id); the sub-functions it offers are declared
with declare_subfunctions(), and a disabled one is answered D6. `fixed` commands (the
firewall's own) are not configurable. The table is what Get Command Support reports:
what is registered is what is supported.

A handler checks its whole request before it changes anything: a request answered
with a completion code other than 00 leaves the controller as it was.
"""

from micropython import const

NETFN_CHASSIS = const(0x00)
NETFN_BRIDGE = const(0x02)
NETFN_SENSOR = const(0x04)
NETFN_APP = const(0x06)
NETFN_FIRMWARE = const(0x08)
NETFN_STORAGE = const(0x0A)
NETFN_TRANSPORT = const(0x0C)
NETFN_GROUP = const(0x2C)

CC_OK = const(0x00)
CC_BUSY = const(0xC0)
CC_INVALID_COMMAND = const(0xC1)
CC_INVALID_FOR_LUN = const(0xC2)
CC_TIMEOUT = const(0xC3)
CC_OUT_OF_SPACE = const(0xC4)
CC_RESERVATION = const(0xC5)
CC_TRUNCATED = const(0xC6)
CC_LENGTH = const(0xC7)
CC_FIELD_LENGTH = const(0xC8)
CC_OUT_OF_RANGE = const(0xC9)
CC_CANNOT_RETURN = const(0xCA)
CC_NOT_PRESENT = const(0xCB)
CC_INVALID_DATA = const(0xCC)
CC_ILLEGAL_FOR_TYPE = const(0xCD)
CC_NO_RESPONSE = const(0xCE)
CC_DUPLICATE = const(0xCF)
CC_PRIVILEGE = const(0xD4)  # "security restriction, e.g. disabled by the firmware firewall"
CC_NOT_IN_STATE = const(0xD5)
CC_DISABLED = const(0xD6)  # "sub-function disabled, e.g. by the firmware firewall"
CC_UNSPECIFIED = const(0xFF)

CHANNEL_IPMB = const(0)  # the IPMB channel (channel 0: primary IPMB)
CHANNEL_SERIAL = const(1)  # Serial Basic Mode on the board's USB serial
CHANNELS = const(2)
_ALL_CHANNELS = const(0b11)
SUBFN_BYTES = const(4)  # 32 sub-functions, a bit each

# key (netfn << 8 | cmd) -> entry [handler, min_len, max_len, enabled, luns, subfn_at,
# subfns, fixed]. enabled: a bit per channel. subfns: None, or bytearray(4 + 4 * CHANNELS):
# the offered sub-functions, then per channel the disabled ones (a bit each, LS bit first).
# Only this module changes an entry.
_table = {}
_HANDLER = const(0)
_MIN = const(1)
_MAX = const(2)
_ENABLED = const(3)
_LUNS = const(4)
_SUBFN_AT = const(5)
_SUBFNS = const(6)
_FIXED = const(7)


def command(netfn, cmd, min_len=0, max_len=None, luns=0b0001, subfn_at=-1, fixed=False):
    """Register the decorated handler for netfn/cmd; request data min_len..max_len bytes."""

    def register(handler):
        key = netfn << 8 | cmd
        if key in _table:
            raise ValueError("netFn 0x%02x cmd 0x%02x registered twice" % (netfn, cmd))
        top = min_len if max_len is None else max_len
        if subfn_at >= min_len:
            raise ValueError("netFn 0x%02x cmd 0x%02x: subfn_at past min_len" % (netfn, cmd))
        subfns = bytearray(SUBFN_BYTES * (1 + CHANNELS)) if subfn_at >= 0 else None
        _table[key] = [handler, min_len, top, _ALL_CHANNELS, luns, subfn_at, subfns, fixed]
        return handler

    return register


def keys():
    """The registered netFn << 8 | cmd keys (a view of the table: do not keep it)."""
    return _table.keys()


def luns(netfn, cmd):
    """The LUNs netfn/cmd answers on (a bit each), 0 when it is not registered."""
    entry = _table.get(netfn << 8 | cmd)
    return 0 if entry is None else entry[_LUNS]


def configurable(netfn, cmd):
    """True when the firewall may switch netfn/cmd off (registered and not fixed)."""
    entry = _table.get(netfn << 8 | cmd)
    return entry is not None and not entry[_FIXED]


def enables(netfn, cmd):
    """The channels netfn/cmd is enabled on (a bit each), 0 when it is not registered."""
    entry = _table.get(netfn << 8 | cmd)
    return 0 if entry is None else entry[_ENABLED]


def set_enabled(netfn, cmd, enabled, channel=-1):
    """Enable or disable one command on a channel (-1: on every channel). False, and
    nothing changed, when it is not registered or fixed (and would change)."""
    entry = _table.get(netfn << 8 | cmd)
    if entry is None:
        return False
    bits = _ALL_CHANNELS if channel < 0 else 1 << channel
    now = entry[_ENABLED] | bits if enabled else entry[_ENABLED] & ~bits
    if entry[_FIXED] and now != entry[_ENABLED]:
        return False
    entry[_ENABLED] = now
    return True


def subfunctions(netfn, cmd):
    """None, or the command's sub-function state: bytes 0-3 the offered sub-functions,
    then 4 bytes per channel of disabled ones (read it; change it with the setters)."""
    entry = _table.get(netfn << 8 | cmd)
    return None if entry is None else entry[_SUBFNS]


def declare_subfunctions(netfn, cmd, numbers):
    """The sub-functions (0..31) a command that declared subfn_at offers."""
    s = _table[netfn << 8 | cmd][_SUBFNS]
    for i in range(SUBFN_BYTES):
        s[i] = 0
    for n in numbers:
        s[n >> 3] |= 1 << (n & 7)


def set_subfunction_disabled(netfn, cmd, channel, disabled, at=0):
    """Disabled sub-functions of a command on a channel: disabled[at:at + 4], a bit each
    (only offered ones are kept)."""
    s = _table[netfn << 8 | cmd][_SUBFNS]
    base = SUBFN_BYTES * (1 + channel)
    for i in range(SUBFN_BYTES):
        s[base + i] = disabled[at + i] & s[i]


def dispatch(mc, rq, rs):
    """Run the handler of rq; returns the response data length (rs.cc is set)."""
    rs.cc = CC_UNSPECIFIED
    entry = _table.get(rq.netfn << 8 | rq.cmd)
    if entry is None:
        return rs.fail(CC_INVALID_COMMAND)
    if not (entry[_LUNS] >> rq.rs_lun) & 1:
        return rs.fail(CC_INVALID_FOR_LUN)
    ch = rq.channel
    if not (entry[_ENABLED] >> ch) & 1:
        return rs.fail(CC_PRIVILEGE)
    n = rq.data_len
    if n < entry[_MIN] or n > entry[_MAX]:
        return rs.fail(CC_LENGTH)
    at = entry[_SUBFN_AT]
    if at >= 0:
        sub = rq.data[at]
        if sub < 32 and (entry[_SUBFNS][SUBFN_BYTES * (1 + ch) + (sub >> 3)] >> (sub & 7)) & 1:
            return rs.fail(CC_DISABLED)
    return entry[_HANDLER](mc, rq, rs)
