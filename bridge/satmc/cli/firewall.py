"""`satmc firewall`: the Firmware Firewall (IPMI 2.0 ch. 21) of a satellite, per channel.

    satmc firewall show                             # every command, on every channel
    satmc firewall show storage write_fru_data --json      # or -c/--csv
    satmc firewall disable --channel ipmb app cold_reset
    satmc firewall enable storage read_fru_data --subfn 1

What `show` lists is what the satellite reports (Get NetFn Support, Get Command Support):
its command table. Changes are kept on the board's flash and survive resets.
"""

from __future__ import annotations

from ..board.firewall import channel_number, command_number, netfn_number
from ..errors import BoardFileError, SatmcError
from ..ipmi import client, codes
from . import output


class FirewallArgumentError(SatmcError):
    """A channel, netFn or command on the command line is not one."""


def register(sub) -> None:
    p = sub.add_parser("firewall", help="Firmware Firewall: which commands each channel may use")
    fw = p.add_subparsers(dest="firewall_command", metavar="ACTION")
    fw.required = True
    for action, helptext in (
        ("show", "the commands the satellite has, configurable, enabled per channel"),
        ("enable", "enable a command (or one sub-function) on a channel (default: all)"),
        ("disable", "disable a command (or one sub-function) on a channel (default: all)"),
    ):
        a = fw.add_parser(action, help=helptext)
        a.add_argument(
            "--channel",
            action="append",
            help="ipmb, serial, or a channel number (repeatable; default: every channel)",
        )
        need = "?" if action == "show" else None
        a.add_argument("netfn", nargs=need, help="netFn name (app, storage, ...) or number")
        a.add_argument("cmd", nargs=need, help="command name (cold_reset, ...) or number")
        if action != "show":
            a.add_argument("--subfn", help="one sub-function (e.g. a FRU device id), 0..31")
        output.add_options(a)
        a.set_defaults(func=globals()[action])


def _number(text: str) -> int | str:
    try:
        return int(text, 0)
    except ValueError:
        return text


def _checked(fn, *args):
    try:
        return fn(*args)
    except BoardFileError as e:  # the board file's vocabulary, named on the command line
        raise FirewallArgumentError(str(e)) from None


def _channels(args) -> dict[str, int]:
    if not args.channel:
        return dict(codes.CHANNELS)
    names = {v: k for k, v in codes.CHANNELS.items()}
    out = {}
    for text in args.channel:
        n = _checked(channel_number, _number(text), "--channel")
        out[names[n]] = n
    return out


def _target(args) -> tuple[int | None, int | None]:
    netfn = cmd = None
    if args.netfn is not None:
        netfn = _checked(netfn_number, _number(args.netfn), "netfn")
    if args.cmd is not None:
        cmd = _checked(command_number, netfn, _number(args.cmd), "cmd")
    return netfn, cmd


FIELDS = ("netfn", "cmd", "name", "subfn", "configurable")  # then one per channel


def table(sat, channels: dict[str, int], netfn: int | None = None, cmd: int | None = None):
    """A record per command the satellite reports (or one netFn's, or one command) and per
    sub-function of it: FIELDS, then each channel's name: enabled there (bool)."""
    netfns = [netfn] if netfn is not None else client.netfn_support(sat)["netfns"][0]
    rows = []
    for n in netfns:
        per_channel = {name: client.commands(sat, n, ch) for name, ch in channels.items()}
        first = next(iter(per_channel.values()))
        for c in sorted(first):
            if cmd is not None and c != cmd:
                continue
            row = {"netfn": n, "cmd": c, "name": codes.command_name(n, c), "subfn": None}
            row["configurable"] = first[c]["configurable"]
            rows.append(row | {name: per_channel[name][c]["enabled"] for name in channels})
            if (n, c) in codes.SUBFUNCTIONS:
                subs = {name: client.subfunctions(sat, n, c, ch) for name, ch in channels.items()}
                for sub in sorted(next(iter(subs.values()))):
                    on = {name: subs[name][sub]["enabled"] for name in channels}
                    rows.append(row | {"subfn": sub} | on)
    if cmd is not None and not rows:
        raise FirewallArgumentError(
            f"netFn {netfn:#04x} cmd {cmd:#04x}: the satellite does not have this command"
        )
    return rows


def _lines(rows: list[dict], names: list[str]):
    yield (
        f"{'netFn':<6} {'cmd':<5} {'name':<38} {'config':<7} " + " ".join(f"{n:<6}" for n in names)
    ).rstrip()
    for r in rows:
        state = " ".join(f"{'on' if r[n] else 'off':<6}" for n in names)
        if r["subfn"] is None:
            conf = "yes" if r["configurable"] else "fixed"
            name = r["name"] or ""
            yield f"0x{r['netfn']:02x}   0x{r['cmd']:02x}  {name:<38} {conf:<7} {state}".rstrip()
        else:
            what = f"{codes.SUBFUNCTIONS[(r['netfn'], r['cmd'])]} {r['subfn']}"
            yield f"{'':<13}{what:<38} {'':<7} {state}".rstrip()


def _print(args, rows: list[dict], channels: dict[str, int]) -> None:
    names = list(channels)
    output.emit(args, rows, FIELDS + tuple(names), lambda: _lines(rows, names))


def show(args, sat) -> int:
    channels = _channels(args)
    netfn, cmd = _target(args)
    _print(args, table(sat, channels, netfn, cmd), channels)
    return 0


def _change(args, sat, enabled: bool) -> int:
    channels = _channels(args)
    netfn, cmd = _target(args)
    row = table(sat, channels, netfn, cmd)[0]  # the satellite has it: else one clear line
    if not row["configurable"]:
        raise FirewallArgumentError(
            f"netFn {netfn:#04x} cmd {cmd:#04x} is one of the firewall's own commands: "
            "fixed, so that no channel is ever locked out of the firewall"
        )
    sub = None
    if args.subfn is not None:
        sub = _number(args.subfn)
        if not isinstance(sub, int) or not 0 <= sub <= 31:
            raise FirewallArgumentError(f"--subfn {args.subfn}: not a sub-function (0..31)")
    for ch in channels.values():
        if sub is None:
            client.set_command_enabled(sat, netfn, cmd, enabled, ch)
        else:
            client.set_subfunction_enabled(sat, netfn, cmd, sub, enabled, ch)
    _print(args, table(sat, channels, netfn, cmd), channels)
    return 0


def enable(args, sat) -> int:
    return _change(args, sat, True)


def disable(args, sat) -> int:
    return _change(args, sat, False)
