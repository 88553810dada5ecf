"""The firewall section: the board's default Firmware Firewall policy (IPMI 2.0 ch. 21).

    firewall:
      profile: production                 # optional: a named policy (PROFILES)
      disable:                            # optional: more commands off, per channel
        - {channel: serial, netfn: app, cmd: cold_reset}
        - {channel: ipmb, netfn: storage, cmd: read_fru_data, subfn: 1}   # FRU device 1

channel: ipmb or serial (or its number); netfn: a name of satmc.ipmi.codes.NETFNS or a
number; cmd: a name of satmc.ipmi.codes.COMMANDS for that netFn, or a number; subfn
(optional): one sub-function (0..31) of a command that has them (codes.SUBFUNCTIONS),
the rest of the command stays on. The firewall's own commands cannot be disabled. The
firmware gets `firewall`: the list of {channel, netfn, cmd, subfn: int or None} that
start disabled (a command this firmware lacks is skipped there). What Set Command
Enables changes at run time is kept on the board's flash and replaces this at boot.
"""

from __future__ import annotations

from ..errors import BoardFileError
from ..ipmi import codes
from .fields import integer, need, only

# "production": in a chassis, IPMB (the shelf manager's side) cannot write FRU data,
# reset the controller, or upgrade its firmware; the serial line (the bench) still can.
_IPMB = codes.CHANNEL_IPMB
PROFILES = {
    "none": [],
    "production": [
        (_IPMB, codes.NETFN_STORAGE, codes.CMD_WRITE_FRU_DATA),
        (_IPMB, codes.NETFN_APP, codes.CMD_COLD_RESET),
        (_IPMB, codes.NETFN_APP, codes.CMD_WARM_RESET),
        (_IPMB, codes.NETFN_GROUP, codes.CMD_HPM_ABORT_FIRMWARE_UPGRADE),
        (_IPMB, codes.NETFN_GROUP, codes.CMD_HPM_INITIATE_UPGRADE_ACTION),
        (_IPMB, codes.NETFN_GROUP, codes.CMD_HPM_UPLOAD_FIRMWARE_BLOCK),
        (_IPMB, codes.NETFN_GROUP, codes.CMD_HPM_FINISH_FIRMWARE_UPLOAD),
        (_IPMB, codes.NETFN_GROUP, codes.CMD_HPM_ACTIVATE_FIRMWARE),
        (_IPMB, codes.NETFN_GROUP, codes.CMD_HPM_INITIATE_MANUAL_ROLLBACK),
    ],
}
FIELDS = ("profile", "disable")
ENTRY_FIELDS = ("channel", "netfn", "cmd", "subfn")
SUBFN_MAX = 31


def channel_number(v, where: str) -> int:
    """A channel by name (ipmb, serial) or number."""
    if isinstance(v, str) and v in codes.CHANNELS:
        return codes.CHANNELS[v]
    if isinstance(v, int) and not isinstance(v, bool) and v in codes.CHANNELS.values():
        return v
    names = ", ".join(f"{k} ({n})" for k, n in codes.CHANNELS.items())
    raise BoardFileError(f"{where}: {v!r} is not a channel (known: {names})")


def netfn_number(v, where: str) -> int:
    """A request netFn by name (codes.NETFNS) or number (even, 00h..3Eh)."""
    if isinstance(v, str) and v in codes.NETFNS:
        return codes.NETFNS[v]
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0x3E and not v & 1:
        return v
    raise BoardFileError(
        f"{where}: {v!r} is not a request netFn (an even number 0x00..0x3e, or one of "
        f"{', '.join(codes.NETFNS)})"
    )


def command_number(netfn: int, v, where: str) -> int:
    """A command of netfn by name (codes.COMMANDS) or number (00h..FFh)."""
    names = codes.COMMANDS.get(netfn, {})
    if isinstance(v, str) and v in names:
        return names[v]
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0xFF:
        return v
    known = ", ".join(names) or "none by name; use its number"
    raise BoardFileError(f"{where}: {v!r} is not a command of netFn {netfn:#04x} (known: {known})")


def entry(channel: int, netfn: int, cmd: int, subfn: int | None, where: str) -> dict:
    """One disabled command (or sub-function), checked against what may be disabled."""
    if (netfn, cmd) in codes.FIREWALL_COMMANDS:
        raise BoardFileError(
            f"{where}: netFn {netfn:#04x} cmd {cmd:#04x} is a firewall command; they cannot "
            "be disabled (no policy may lock every channel out of the firewall)"
        )
    if subfn is not None and (netfn, cmd) not in codes.SUBFUNCTIONS:
        have = ", ".join(f"{n:#04x}/{c:#04x}" for n, c in codes.SUBFUNCTIONS)
        raise BoardFileError(
            f"{where}.subfn: netFn {netfn:#04x} cmd {cmd:#04x} has no sub-functions "
            f"(commands that have: {have})"
        )
    return {"channel": channel, "netfn": netfn, "cmd": cmd, "subfn": subfn}


def config(data: dict, where: str) -> dict:
    """{"firewall": [disabled entries]} of a board file's data ([] without a section)."""
    w = f"{where}.firewall"
    section = data.get("firewall")
    if section is None:
        return {"firewall": []}
    if not isinstance(section, dict):
        raise BoardFileError(f"{w}: expected a mapping (profile, disable), got {section!r}")
    only(section, FIELDS, w)
    profile = section.get("profile", "none")
    if profile not in PROFILES:
        raise BoardFileError(f"{w}.profile: {profile!r} is not one of {', '.join(PROFILES)}")
    out = [entry(ch, n, c, None, f"{w}.profile") for ch, n, c in PROFILES[profile]]
    disable = section.get("disable", [])
    if not isinstance(disable, list):
        raise BoardFileError(f"{w}.disable: expected a list, got {disable!r}")
    for i, e in enumerate(disable):
        we = f"{w}.disable[{i}]"
        if not isinstance(e, dict):
            raise BoardFileError(f"{we}: expected a mapping (channel, netfn, cmd, subfn)")
        only(e, ENTRY_FIELDS, we)
        ch = channel_number(need(e, "channel", we), f"{we}.channel")
        netfn = netfn_number(need(e, "netfn", we), f"{we}.netfn")
        cmd = command_number(netfn, need(e, "cmd", we), f"{we}.cmd")
        sub = integer(e, "subfn", we, 0, SUBFN_MAX, default=None)
        out.append(entry(ch, netfn, cmd, sub, we))
    unique = {(e["channel"], e["netfn"], e["cmd"], e["subfn"]): e for e in out}
    return {"firewall": [unique[k] for k in sorted(unique, key=lambda k: (*k[:3], k[3] or -1))]}
