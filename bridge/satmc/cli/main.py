"""satmc: talk to IPMI satellite controllers through the simulator or an FTDI adapter.

    satmc info                                  # the default target: the local simulator
    satmc -t ftdi://ftdi:232h/1 -a 0x72 info
    satmc raw 0x06 0x01
    satmc scan
    satmc --twin /run/user/1000/satmc-1000/sim.sock -t ftdi://ftdi:232h/1 info

Expected failures print one line and exit 1 (a traceback with -d); Ctrl-C exits 2.
Each command group is a module in satmc.cli with `register(subparsers)`; a command
is a function(args, sat) when it needs a connection, or function(args) when not.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from .. import __version__
from ..errors import SatmcError

COMMAND_MODULES = ["device", "stats", "fru", "flash", "sensors"]


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (use 0x72 or 114)") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="satmc", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"satmc {__version__}")
    p.add_argument(
        "-t",
        "--target",
        default=os.environ.get("SATMC_TARGET"),
        help="sim://[SOCKET], ftdi://ftdi:232h[:SERIAL]/1[?freq=HZ&clockstretching=0|1], "
        "serial:///dev/ttyACM0 (default: $SATMC_TARGET, else the local simulator)",
    )
    p.add_argument(
        "-a",
        "--address",
        type=_int,
        default=_int(os.environ.get("SATMC_ADDRESS", "0x72")),
        help="the satellite's 8-bit IPMB address (default 0x72)",
    )
    p.add_argument(
        "--twin",
        metavar="SOCKET",
        default=os.environ.get("SATMC_FTDI_TWIN"),
        help="ftdi:// targets are FT232H twins on this simulator's bus "
        "(default: $SATMC_FTDI_TWIN)",
    )
    p.add_argument(
        "--readback",
        action="store_true",
        help="on sim://, act as a master-only host (fetch answers by reading)",
    )
    p.add_argument("--timeout", type=float, default=0.25, help="seconds per try (0.25)")
    p.add_argument("--retries", type=int, default=3, help="tries per request (3)")
    p.add_argument("-d", "--debug", action="store_true", help="tracebacks and IPMB frames")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return p


def open_target(args):
    from ..transports import connect, default_sim_url

    url = args.target or default_sim_url()
    return connect(
        url,
        address=args.address,
        readback=args.readback or None,
        timeout=args.timeout,
        retries=args.retries,
        twin=args.twin,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    try:
        if getattr(args, "needs_target", True):
            with open_target(args) as sat:
                return args.func(args, sat) or 0
        return args.func(args) or 0
    except SatmcError as e:
        if args.debug:
            raise
        print(f"satmc: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("satmc: interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
