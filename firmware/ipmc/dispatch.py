"""The command table: handlers declare their netFn/cmd and request length next to them.

    from ipmc.dispatch import command, NETFN_APP

    @command(NETFN_APP, 0x01, 0)                 # no request data
    def get_device_id(mc, rq, rs):
        rs.data[0] = mc.device_id
        ...
        return rs.ok(15)

    @command(NETFN_STORAGE, 0x11, 4)             # exactly 4 bytes
    @command(NETFN_SENSOR, 0x27, 1, 2)           # 1..2 bytes

The dispatcher checks LUN and length before a handler runs (C2, C7), answers C1 for
commands it does not know or that are disabled, and pre-sets the completion code to
FF so a handler that forgets to finish answers "unspecified". Registering the same
netFn/cmd twice fails at import time. Lookups and calls allocate nothing.

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
CC_NOT_IN_STATE = const(0xD5)
CC_DISABLED = const(0xD6)
CC_UNSPECIFIED = const(0xFF)

# key (netfn << 8 | cmd) -> entry [handler, min_len, max_len, enabled, luns]
_table = {}
_HANDLER = const(0)
_MIN = const(1)
_MAX = const(2)
_ENABLED = const(3)
_LUNS = const(4)


def command(netfn, cmd, min_len=0, max_len=None, luns=0b0001):
    """Register the decorated handler for netfn/cmd; request data min_len..max_len bytes."""

    def register(handler):
        key = netfn << 8 | cmd
        if key in _table:
            raise ValueError("netFn 0x%02x cmd 0x%02x registered twice" % (netfn, cmd))
        _table[key] = [handler, min_len, min_len if max_len is None else max_len, True, luns]
        return handler

    return register


def commands(netfn=None):
    """(netfn, cmd, enabled) of every registered command, sorted."""
    return sorted(
        (k >> 8, k & 0xFF, e[_ENABLED])
        for k, e in _table.items()
        if netfn is None or k >> 8 == netfn
    )


def is_registered(netfn, cmd):
    return (netfn << 8 | cmd) in _table


def set_enabled(netfn, cmd, enabled):
    """Enable or disable one command (the base of the firmware firewall)."""
    entry = _table.get(netfn << 8 | cmd)
    if entry is None:
        return False
    entry[_ENABLED] = bool(enabled)
    return True


def is_enabled(netfn, cmd):
    entry = _table.get(netfn << 8 | cmd)
    return entry is not None and entry[_ENABLED]


def dispatch(mc, rq, rs):
    """Run the handler of rq; returns the response data length (rs.cc is set)."""
    rs.cc = CC_UNSPECIFIED
    entry = _table.get(rq.netfn << 8 | rq.cmd)
    if entry is None or not entry[_ENABLED]:
        return rs.fail(CC_INVALID_COMMAND)
    if not (entry[_LUNS] >> rq.rs_lun) & 1:
        return rs.fail(CC_INVALID_FOR_LUN)
    n = rq.data_len
    if n < entry[_MIN] or n > entry[_MAX]:
        return rs.fail(CC_LENGTH)
    return entry[_HANDLER](mc, rq, rs)
