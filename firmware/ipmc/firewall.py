"""The Firmware Firewall (IPMI 2.0 ch. 21): which commands the controller has, and which
of them each channel may use.

    from ipmc import firewall
    firewall.setup(mc, config["firewall"])   # the board file's policy, then the saved one

Every answer comes from the dispatcher's table (ipmc.dispatch): what is registered is
what is reported, and the enables live in the same entries the dispatcher checks. App
netFn, request data (byte 1 is always [3:0] the channel, 0Eh: the one asked on):
  09 Get NetFn Support                 [ch] -> LUN support, 16 bytes: a bit per LUN and
                                        netFn pair (LUN 0 first, pair 00h/01h LS bit)
  0A Get Command Support               [ch, op << 6 | netFn, LUN (, body code if 2Ch)]
                                        -> 16 bytes for commands op * 128.., 0b = supported
  0C Get Configurable Commands          as 0A -> 1b = the firewall may switch it off
  61 Get Command Enables               as 0A -> 1b = enabled on that channel
  60 Set Command Enables               [ch, op << 6 | netFn, LUN, 16 bytes (, body)]
  0B Get Command Sub-function Support  [ch, netFn, LUN, cmd (, body)] -> spec type,
                                        version, revision, 4 bytes 0b = supported
  0D Get Configurable Command Sub-functions, 63 Get Command Sub-function Enables
                                        as 0B -> 4 bytes, 1b = configurable / enabled
  62 Set Command Sub-function Enables  [ch, netFn, LUN, cmd (, body), 4 bytes]
  64 Get OEM NetFn IANA Support        [ch, netFn 2Ch or 2Eh, list index] -> [7] last,
                                        LUN support, defining body / IANA (3 bytes)
Group Extension (2Ch) requests carry the defining body code; satmc's are PICMG (00h).

A disabled command is answered D4 on its channel ("security restriction, e.g. firmware
firewall") and served on the others; a disabled sub-function D6. The firewall's own
commands are fixed (not configurable), so no policy can lock every channel out of the
firewall: a Set that would change a fixed command is refused (CC) and changes nothing.
Bits for commands that do not exist are ignored (they stay unsupported and disabled).

Policy: at boot the board file's (config["firewall"]: the disabled commands and
sub-functions per channel), then the one saved on the board's flash, if any. Every Set
that changes something saves the whole state: written to a temporary file and renamed
over POLICY_FILE, so a power cut leaves the old file or the new one. A saved file that
does not check (torn, corrupt) is not used: the board file's policy applies and the
counter firewall_fallbacks says so. A save that fails undoes the change (answered FF).
"""

import os

from micropython import const

from . import dispatch, faults
from .dispatch import (
    CC_INVALID_DATA,
    CC_LENGTH,
    CC_NOT_PRESENT,
    CC_UNSPECIFIED,
    CHANNELS,
    NETFN_APP,
    NETFN_GROUP,
    SUBFN_BYTES,
    command,
)

POLICY_FILE = "firewall.pol"  # on the board's flash (the firmware's working directory)
_files = [POLICY_FILE, POLICY_FILE + ".tmp"]  # the policy, the one being written
_MAGIC = b"SFW1"
_ENTRY = 3 + SUBFN_BYTES * CHANNELS  # netFn, cmd, enables, disabled sub-functions
_PRESENT_CHANNEL = const(0x0E)
_NETFN_OEM_GROUP = const(0x2E)
_PICMG = const(0x00)  # the Group Extension's defining body of satmc's 2Ch commands
_MASK = const(16)  # bytes in a 128-command mask
_IPMI_SPEC = const(0x00)  # sub-function support: [7:4] spec type IPMI, [3:0] errata 0
_IPMI_VERSION = const(0x02)  # 2.0, as Get Device ID reports it
_IPMI_REVISION = const(0x00)
_LUN_COMMANDS = const(0b01)  # Get NetFn Support: commands exist on the LUN, no restriction
_LUN_RESTRICTED = const(0b10)  # ... some of them disabled on this channel

_scratch = bytearray(_MASK)  # enables before a Set, to undo it if the save fails
_one = bytearray(SUBFN_BYTES)


def _channel(rq):
    """The channel a request asks about, or -1 when it is not one of ours."""
    ch = rq.data[0] & 0x0F
    if ch == _PRESENT_CHANNEL:
        return rq.channel
    return ch if ch < CHANNELS else -1


def _parse(rq, fixed_len, tails):
    """(channel, netFn, LUN, body known, where the tail starts) of a request whose first
    fixed_len bytes are followed by the Group Extension body / OEM IANA, then a tail of
    one of `tails` bytes; -2 for a bad length, -1 for bad data. Commands of an unknown
    body do not exist."""
    q = rq.data
    netfn = q[1] & 0x3F
    extra = 1 if netfn == NETFN_GROUP else 3 if netfn == _NETFN_OEM_GROUP else 0
    if rq.data_len - fixed_len - extra not in tails:
        return -2
    ch = _channel(rq)
    if ch < 0 or q[2] & 0xFC:
        return -1
    known = netfn != _NETFN_OEM_GROUP and (netfn != NETFN_GROUP or q[fixed_len] == _PICMG)
    return ch, netfn, q[2] & 3, known, fixed_len + extra


def _refuse(rs, code):
    return rs.fail(CC_LENGTH if code == -2 else CC_INVALID_DATA)


def _here(netfn, cmd, lun, known):
    return known and (dispatch.luns(netfn, cmd) >> lun) & 1


@command(NETFN_APP, 0x09, 1, fixed=True)
def get_netfn_support(mc, rq, rs):
    ch = _channel(rq)
    if ch < 0:
        return rs.fail(CC_INVALID_DATA)
    d = rs.data
    for i in range(1 + _MASK):
        d[i] = 0
    for key in dispatch.keys():
        netfn = key >> 8
        luns = dispatch.luns(netfn, key & 0xFF)
        off = not (dispatch.enables(netfn, key & 0xFF) >> ch) & 1
        for lun in range(4):
            if (luns >> lun) & 1:
                bit = lun * 32 + (netfn >> 1)
                d[1 + (bit >> 3)] |= 1 << (bit & 7)
                if off or (d[0] >> (2 * lun)) & 3 == _LUN_RESTRICTED:
                    now = _LUN_RESTRICTED
                else:
                    now = _LUN_COMMANDS
                d[0] = (d[0] & ~(3 << (2 * lun))) | now << (2 * lun)
    return rs.ok(1 + _MASK)


@command(NETFN_APP, 0x0A, 3, 6, fixed=True)  # Get Command Support: 0b = supported
@command(NETFN_APP, 0x0C, 3, 6, fixed=True)  # Get Configurable Commands
@command(NETFN_APP, 0x61, 3, 6, fixed=True)  # Get Command Enables
def get_command_mask(mc, rq, rs):
    got = _parse(rq, 3, (0,))
    if not isinstance(got, tuple):
        return _refuse(rs, got)
    ch, netfn, lun, known, _ = got
    what = rq.cmd
    first = (rq.data[1] >> 6) * 128
    if first > 128:
        return rs.fail(CC_INVALID_DATA)
    d = rs.data
    for i in range(_MASK):
        d[i] = 0
    for i in range(128):
        cmd = first + i
        here = _here(netfn, cmd, lun, known)
        if what == 0x0A:
            bit = not here
        elif what == 0x0C:
            bit = here and dispatch.configurable(netfn, cmd)
        else:
            bit = here and (dispatch.enables(netfn, cmd) >> ch) & 1
        if bit:
            d[i >> 3] |= 1 << (i & 7)
    return rs.ok(_MASK)


def _one_command(rq, tails):
    """(channel, netFn, cmd, its sub-function state or None, where its tail starts) of a
    request about one command, or a negative code as _parse."""
    got = _parse(rq, 4, tails)
    if not isinstance(got, tuple):
        return got
    ch, netfn, lun, known, at = got
    cmd = rq.data[3]
    if not _here(netfn, cmd, lun, known):
        return -1
    return ch, netfn, cmd, dispatch.subfunctions(netfn, cmd), at


@command(NETFN_APP, 0x0B, 4, 7, fixed=True)  # Get Command Sub-function Support
@command(NETFN_APP, 0x0D, 4, 7, fixed=True)  # Get Configurable Command Sub-functions
@command(NETFN_APP, 0x63, 4, 7, fixed=True)  # Get Command Sub-function Enables
def get_subfunction_mask(mc, rq, rs):
    got = _one_command(rq, (0,))
    if not isinstance(got, tuple):
        return _refuse(rs, got)
    ch, netfn, cmd, s, _ = got
    what = rq.cmd
    d = rs.data
    at = 0
    if what == 0x0B:
        d[0] = _IPMI_SPEC
        d[1] = _IPMI_VERSION
        d[2] = _IPMI_REVISION
        at = 3
    fixed = not dispatch.configurable(netfn, cmd)
    for i in range(SUBFN_BYTES):
        offered = 0 if s is None else s[i]
        if what == 0x0B:
            offered = ~offered & 0xFF  # 0b = supported
        elif what == 0x0D:
            offered = 0 if fixed else offered
        elif offered:
            offered &= ~s[SUBFN_BYTES * (1 + ch) + i]
        d[at + i] = offered
    return rs.ok(at + SUBFN_BYTES)


@command(NETFN_APP, 0x64, 3, fixed=True)
def get_oem_netfn_iana_support(mc, rq, rs):
    q = rq.data
    netfn = q[1] & 0x3F
    if _channel(rq) < 0 or netfn not in (NETFN_GROUP, _NETFN_OEM_GROUP):
        return rs.fail(CC_INVALID_DATA)
    luns = 0
    if netfn == NETFN_GROUP:
        for key in dispatch.keys():
            if key >> 8 == NETFN_GROUP:
                luns |= dispatch.luns(NETFN_GROUP, key & 0xFF)
    if not luns or q[2] & 0x3F:  # one body at most (PICMG): index 0
        return rs.fail(CC_NOT_PRESENT)
    d = rs.data
    d[0] = 0x80  # the last in the list
    d[1] = 0
    for lun in range(4):
        if (luns >> lun) & 1:
            d[1] |= _LUN_COMMANDS << (2 * lun)
    d[2] = _PICMG
    d[3] = 0
    d[4] = 0
    return rs.ok(5)


# --- configuration ------------------------------------------------------------------------


@command(NETFN_APP, 0x60, 19, 22, fixed=True)
def set_command_enables(mc, rq, rs):
    got = _parse(rq, 19, (0,))
    if not isinstance(got, tuple):
        return _refuse(rs, got)
    ch, netfn, lun, known, _ = got
    first = (rq.data[1] >> 6) * 128
    if first > 128:
        return rs.fail(CC_INVALID_DATA)
    want = rq.data
    prev = _scratch
    changed = False
    for i in range(128):  # check all first: a refused request changes nothing
        cmd = first + i
        now = (dispatch.enables(netfn, cmd) >> ch) & 1
        prev[i >> 3] = prev[i >> 3] & ~(1 << (i & 7)) | now << (i & 7)
        if _here(netfn, cmd, lun, known) and (want[3 + (i >> 3)] >> (i & 7)) & 1 != now:
            if not dispatch.configurable(netfn, cmd):
                return rs.fail(CC_INVALID_DATA)
            changed = True
    if not changed:
        return rs.ok(0)
    for undo in (False, True):
        src = prev if undo else want
        at = 0 if undo else 3
        for i in range(128):
            cmd = first + i
            if _here(netfn, cmd, lun, known) and dispatch.configurable(netfn, cmd):
                dispatch.set_enabled(netfn, cmd, (src[at + (i >> 3)] >> (i & 7)) & 1, ch)
        if undo or _save(mc):
            break
    return rs.fail(CC_UNSPECIFIED) if undo else rs.ok(0)


@command(NETFN_APP, 0x62, 8, 15, fixed=True)
def set_command_subfunction_enables(mc, rq, rs):
    got = _one_command(rq, (SUBFN_BYTES, 2 * SUBFN_BYTES))
    if not isinstance(got, tuple):
        return _refuse(rs, got)
    ch, netfn, cmd, s, at = got
    if s is None or not dispatch.configurable(netfn, cmd):
        return rs.ok(0)  # nothing to configure: every bit is ignored
    want = rq.data
    base = SUBFN_BYTES * (1 + ch)
    off = _one
    changed = False
    for i in range(SUBFN_BYTES):
        off[i] = ~want[at + i] & s[i]
        changed = changed or off[i] != s[base + i]
        _scratch[i] = s[base + i]
    if not changed:
        return rs.ok(0)
    dispatch.set_subfunction_disabled(netfn, cmd, ch, off)
    if _save(mc):
        return rs.ok(0)
    dispatch.set_subfunction_disabled(netfn, cmd, ch, _scratch)
    return rs.fail(CC_UNSPECIFIED)


# --- the policy on flash ------------------------------------------------------------------


def _fletcher16(buf, n):
    a = b = 0
    for i in range(n):
        a = (a + buf[i]) % 255
        b = (b + a) % 255
    return b << 8 | a


def encode():
    """The whole firewall state as the policy file's bytes: every configurable command
    that is not enabled everywhere with all its sub-functions."""
    rows = []
    for key in dispatch.keys():
        netfn = key >> 8
        cmd = key & 0xFF
        s = dispatch.subfunctions(netfn, cmd)
        en = dispatch.enables(netfn, cmd)
        off = bytes(SUBFN_BYTES * CHANNELS) if s is None else bytes(s[SUBFN_BYTES:])
        if dispatch.configurable(netfn, cmd) and (en != (1 << CHANNELS) - 1 or any(off)):
            rows.append(bytes((netfn, cmd, en)) + off)
    out = bytearray(_MAGIC + bytes((len(rows),)) + b"".join(rows) + b"\x00\x00")
    n = len(out) - 2
    c = _fletcher16(out, n)
    out[n] = c & 0xFF
    out[n + 1] = c >> 8
    return out


def _check(data):
    """The number of entries of a policy file's bytes, or -1 when they do not check."""
    n = len(data) - 2
    if n < 5 or data[:4] != _MAGIC or n != 5 + data[4] * _ENTRY:
        return -1
    if _fletcher16(data, n) != data[n] | data[n + 1] << 8:
        return -1
    return data[4]


def apply(data):
    """Replace the whole state with a policy file's (checked) bytes. Entries for commands
    this firmware lacks, or fixed ones, are skipped."""
    reset()
    for r in range(data[4]):
        at = 5 + r * _ENTRY
        netfn, cmd, en = data[at], data[at + 1], data[at + 2]
        if not dispatch.configurable(netfn, cmd):
            continue
        for ch in range(CHANNELS):
            dispatch.set_enabled(netfn, cmd, (en >> ch) & 1, ch)
            if dispatch.subfunctions(netfn, cmd) is not None:
                dispatch.set_subfunction_disabled(netfn, cmd, ch, data, at + 3 + SUBFN_BYTES * ch)


def reset():
    """Everything enabled on every channel."""
    for key in dispatch.keys():
        netfn = key >> 8
        cmd = key & 0xFF
        dispatch.set_enabled(netfn, cmd, True)
        if dispatch.subfunctions(netfn, cmd) is not None:
            for i in range(SUBFN_BYTES):
                _one[i] = 0
            for ch in range(CHANNELS):
                dispatch.set_subfunction_disabled(netfn, cmd, ch, _one)


def apply_board_policy(disabled):
    """The board file's policy: [{channel, netfn, cmd, subfn: int or None}] switched off."""
    reset()
    for e in disabled:
        netfn, cmd, ch, sub = e["netfn"], e["cmd"], e["channel"], e["subfn"]
        if not dispatch.configurable(netfn, cmd) or ch >= CHANNELS:
            continue  # a command this firmware lacks
        if sub is None:
            dispatch.set_enabled(netfn, cmd, False, ch)
            continue
        s = dispatch.subfunctions(netfn, cmd)
        if s is None:
            continue
        for i in range(SUBFN_BYTES):
            _one[i] = s[SUBFN_BYTES * (1 + ch) + i]
        _one[sub >> 3] |= 1 << (sub & 7)
        dispatch.set_subfunction_disabled(netfn, cmd, ch, _one)


def _save(mc):
    """Write the state to flash atomically; False (counted as a handler error) on failure."""
    try:
        data = encode()
        path, temp = _files
        with open(temp, "wb") as f:
            f.write(data)
        try:
            os.rename(temp, path)
        except OSError:  # FAT cannot rename over a file: the temporary one is read at boot
            os.remove(path)
            os.rename(temp, path)
        return True
    except Exception as e:
        faults.caught(mc.stats, "handler_errors", e)
        return False


def setup(mc, disabled, path=POLICY_FILE):
    """The board file's policy, then the saved one (at path) when it checks (else counted)."""
    _files[0] = path
    _files[1] = path + ".tmp"
    apply_board_policy(disabled)
    data = None
    for name in _files:  # the temporary one: a save cut between its remove and its rename
        try:
            with open(name, "rb") as f:
                data = f.read()
            break
        except OSError:
            pass
    if data is None:
        return
    if _check(data) < 0:
        mc.stats["firewall_fallbacks"] += 1
        print("satmc: firewall: saved policy unreadable, the board file's applies")
        return
    apply(data)
