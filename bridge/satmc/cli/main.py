"""satmc: talk to IPMI satellite controllers through the simulator or an FTDI adapter.

    satmc info                                  # the default target: the local simulator
    satmc -t ftdi://ftdi:232h/1 -a 0x72 info
    satmc raw 0x06 0x01
    satmc scan
    satmc --twin /run/user/1000/satmc-1000/sim.sock -t ftdi://ftdi:232h/1 info

Expected failures print one line and exit 1 (3 for `sensors --check`, Nagios' UNKNOWN;
a traceback with -d), wrong options exit 2,
Ctrl-C exits 2, output into a pipe whose reader has gone stops quietly (141).
Each command group is a module in satmc.cli with `register(subparsers)`; a command
is a function(args, sat) when it needs a connection, or function(args) when not.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import os
import sys

from .. import __version__
from ..errors import AddressError, SatmcError

COMMAND_MODULES = ["device", "mc", "stats", "fru", "flash", "sensors", "sdr", "firewall", "bmc"]


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (use 0x72 or 114)") from None


def _address(text: str) -> int:
    from ..transports import check_address

    try:
        return check_address(_int(text))
    except AddressError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _tries(text: str) -> int:
    n = _int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text}: a request is tried at least once (1 or more)")
    return n


def _seconds(text: str) -> float:
    try:
        t = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give seconds, e.g. 0.25") from None
    if not 0 < t <= 3600:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text}: a try waits more than 0 s (and at most 3600)")
    return t


class Parser(argparse.ArgumentParser):
    """argparse, with its errors in one line (as every other satmc error) naming -h."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} -h)\n")


class _AddressGiven(argparse.Action):
    """-a, remembering that it was given (address_given), for commands whose satellite has
    another default: flash's is the board file's address, not 0x72."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.address_given = True


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="satmc", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"satmc {__version__}")
    p.add_argument(
        "-t",
        "--target",
        default=os.environ.get("SATMC_TARGET"),
        help="sim://[SOCKET][?readback=1], ftdi://ftdi:232h[:SERIAL]/1[?freq=HZ&"
        "clockstretching=0|1], serial:///dev/ttyACM0[?baud=N], socket://HOST:PORT, "
        "lan://USER@BMC[:PORT][?privilege=P] (IPMI 1.5), lanplus://USER@BMC[:PORT]"
        "[?cipher=3|17][&privilege=P] (RMCP+), P: user, operator or administrator "
        "(default: $SATMC_TARGET, else the local simulator)",
    )
    p.add_argument(
        "-a",
        "--address",
        type=_address,
        action=_AddressGiven,
        default=os.environ.get("SATMC_ADDRESS", "0x72"),
        help="the satellite's 8-bit IPMB address (default 0x72)",
    )
    p.set_defaults(address_given=False)  # $SATMC_ADDRESS is not a -a given for flash
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
    p.add_argument("--timeout", type=_seconds, default=0.25, help="seconds per try (0.25)")
    p.add_argument("--retries", type=_tries, default=3, help="tries per request (3, at least 1)")
    p.add_argument(
        "-d", "--debug", action="store_true", help="tracebacks and IPMB frames, sent and received"
    )
    p.add_argument(
        "--flush-cache",
        action="store_true",
        help="forget the satellite's cached SDRs first: read them again (the cache keeps one "
        "entry per satellite, replaced when its SDRs change)",
    )
    p.epilog = "The options above may also follow the command (satmc raw app 0x01 -d)."
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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


def global_options_first(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """argv with satmc's own options moved before the command, so that they may follow it
    (`satmc raw app 0x01 -d`) as ipmitool's do. No command reuses their spellings
    (tests/test_cli_errors.py checks); -h after a command is that command's help."""
    takes_value = {
        name: action.nargs != 0
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        for name in action.option_strings
        if name not in ("-h", "--help")
    }
    front: list[str] = []
    rest: list[str] = []
    command_seen = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg[:2]
        n = 2 if takes_value.get(name) and arg == name else 1  # its value follows it
        if command_seen and name in takes_value:
            front += argv[i : i + n]
        else:
            rest += argv[i : i + n]
            command_seen = command_seen or not arg.startswith("-")
        i += n
    return front + rest


def _stdout_closed() -> bool:
    """True when the reader of stdout has gone (a pipe into head that exited)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in poller.poll(0))
    except (OSError, ValueError):
        return False


def _failure(e: Exception) -> str:
    """One line for an expected failure."""
    if isinstance(e, OSError) and e.filename is not None:
        return f"{e.filename}: {e.strerror or e}"
    return str(e)


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            status = _run(sys.argv[1:] if argv is None else argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here (help text too), not at exit
        return status
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        # as other Unix tools do when the reader of their output has gone: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13  # SIGPIPE


def _failed(args, why: str) -> int:
    """The one line on stderr, exit 1; under --check also Nagios' UNKNOWN, whose line a
    monitoring system reads from stdout, exit 3."""
    print(f"satmc: error: {why}", file=sys.stderr)
    if not getattr(args, "check", False):
        return 1
    print(f"SENSORS UNKNOWN - {why}", flush=True)
    return 3


def _run(argv: list[str]) -> int:
    parser = build_parser()
    from .complete import install

    install(parser)  # a shell asking for completions is answered here, and exits
    args = parser.parse_args(global_options_first(parser, argv))
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    try:
        if getattr(args, "needs_target", True):
            from ..sensors import SensorClient
            from .progress import Progress

            SensorClient.sdr_progress = functools.partial(Progress, "reading SDRs", unit="record")
            try:
                with open_target(args) as sat:
                    if args.flush_cache:
                        SensorClient(sat).flush_cache()
                    status = args.func(args, sat) or 0
            finally:  # this command's: main() called from a program leaves none behind
                SensorClient.sdr_progress = None
        else:
            status = args.func(args) or 0
        sys.stdout.flush()
        return status
    except (SatmcError, OSError) as e:  # OSError: a file named on the command line
        if args.debug or (isinstance(e, OSError) and e.filename is None):
            raise
        return _failed(args, _failure(e))
    except Exception as e:  # python-ipmi's, where a transport did not translate it
        if args.debug or not type(e).__module__.startswith("pyipmi."):
            raise
        return _failed(args, f"{type(e).__name__}: {e}")
    except KeyboardInterrupt:
        print("satmc: interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
