"""`satmc bmc`: serve IPMI over LAN (RMCP, RMCP+) at IPMB 0x20 in front of the target's
satellites, so ipmitool -I lan/lanplus, FreeIPMI, pyghmi and ipmi_exporter reach them."""

from __future__ import annotations

import logging

from ..errors import AddressError


def register(sub) -> None:
    p = sub.add_parser(
        "bmc",
        help="serve IPMI over LAN in front of the target's satellites (the bench BMC)",
        description=__doc__,
    )
    p.add_argument("--bind", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    p.add_argument("--port", type=int, default=623, help="UDP port (623; non-root: 6230)")
    p.add_argument(
        "--users",
        metavar="FILE",
        help="users file (TOML: name, password, privilege; chmod 600). Needed off loopback; "
        "without it a one-run admin login is printed",
    )
    p.add_argument(
        "--satellites",
        metavar="LIST",
        help="the satellites' 8-bit IPMB addresses behind the BMC, comma-separated "
        "(default: the -a address)",
    )
    p.add_argument(
        "--chassis",
        metavar="NAME",
        help="start a simulated chassis (a chassis file or name, e.g. bench2) and serve it",
    )
    p.add_argument(
        "--socket",
        metavar="PATH",
        help="with --chassis: the simulated chassis's bus socket (default: per user, NAME.sock), "
        "so that two can run at once",
    )
    p.add_argument(
        "--allow-auth-none",
        action="store_true",
        help="accept IPMI 1.5 logins with auth type none (no password check)",
    )
    p.add_argument("--max-sessions", type=int, default=16, help="sessions at once (16)")
    p.add_argument(
        "--cipher-suites",
        metavar="LIST",
        type=_suites,
        default=(3, 17),
        help="RMCP+ cipher suites offered, comma-separated (3,17; 3 alone makes a BMC "
        "without 17, as older ones are, to test a client's fallback)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log sessions and refusals")
    p.set_defaults(func=bmc, needs_target=False)


def _suites(text: str) -> tuple[int, ...]:
    """ "3,17" -> (3, 17): each a suite the BMC implements, none twice."""
    import argparse

    from ..bmc.lan.crypto import SUITES

    known = ", ".join(str(n) for n in sorted(SUITES))
    try:
        suites = tuple(int(n) for n in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: use suite numbers, e.g. 3,17") from None
    unknown = [n for n in suites if n not in SUITES]
    if unknown or len(set(suites)) != len(suites) or not suites:
        why = f"suite {unknown[0]} is not one this BMC has" if unknown else "a suite twice"
        raise argparse.ArgumentTypeError(f"{text!r}: {why} (it has {known})")
    return suites


def _addresses(args) -> list[int]:
    from ..transports import check_address

    if not args.satellites:
        return [args.address]
    try:
        return [check_address(int(a, 0)) for a in args.satellites.split(",")]
    except ValueError:
        raise AddressError(f"--satellites {args.satellites}: use 0x72,0x74") from None


def bmc(args) -> int:
    from ..bmc.serve import Config, load_users, run
    from ..bmc.wiring import responder_for

    if args.verbose and not args.debug:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    config = Config(
        args.users,
        args.bind,
        args.port,
        args.allow_auth_none,
        args.max_sessions,
        args.cipher_suites,
    )
    users = load_users(config)  # refused before anything starts
    with responder_for(
        args.target, _addresses(args), args.chassis, socket=args.socket
    ) as responder:
        run(config, responder, users)
    return 0
