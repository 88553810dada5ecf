"""Board commands: bundle (build what gets flashed) and flash (deploy and verify)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..board import load_board as _load
from ..bundle import build_bundle, bundle_size, frozen_sources
from ..errors import SatmcError
from ..resources import build_root
from .complete import board_names
from .main import _address
from .progress import Progress


def register(sub) -> None:
    p = sub.add_parser("bundle", help="build the firmware bundle of a board (build/BOARD/bundle)")
    p.add_argument(
        "--board", default="sim", help="board name (boards/NAME.yaml) or file"
    ).completer = board_names
    p.add_argument("--out", type=Path, help="bundle directory (build/BOARD/bundle)")
    p.add_argument(
        "--frozen",
        type=Path,
        metavar="DIR",
        help="instead: write the sources `make frozen` freezes to DIR, print the port's make "
        "arguments",
    )
    p.add_argument(
        "--hpm",
        type=Path,
        metavar="FILE",
        help="also write the bundle as a PICMG HPM.1 upgrade image to FILE (ipmitool hpm "
        "upgrade FILE activate, or satmc flash --via)",
    )
    p.add_argument(
        "--slot",
        action="store_true",
        help="the bundle a simulated chassis slot runs (unix port, address from the slot's "
        "pins; build/BOARD/slot/bundle), e.g. for an --hpm image to upgrade a slot with",
    )
    p.set_defaults(func=bundle, needs_target=False)
    p = sub.add_parser("flash", help="deploy the bundle to a MicroPython board, reset, verify")
    p.add_argument(
        "--board", required=True, help="board name (boards/NAME.yaml) or file"
    ).completer = board_names
    p.add_argument(
        "--port",
        help="serial port of the board's REPL, or auto (the default: the first Raspberry Pi "
        "or pyboard USB serial port)",
    )
    p.add_argument(
        "--via",
        metavar="URL",
        help="without --port: upgrade over IPMB with PICMG HPM.1 through this URL (sim://, "
        "ftdi://ftdi:232h/1, serial://, socket://, lan://, lanplus://); with --port: deploy "
        "over the USB serial and verify over IPMB through it",
    )
    p.add_argument(
        "--ipmb-address",
        type=_address,
        help="8-bit address to upgrade or verify at with --via (default: -a when given, else "
        "the board file's; give it for boards that read geographic address pins)",
    )
    p.add_argument(
        "--verify-timeout",
        type=float,
        default=20.0,
        help="seconds to wait for the firmware after the reset (20)",
    )
    p.add_argument(
        "--slot",
        action="store_true",
        help="with --via: upgrade a simulated chassis slot (its bundle: see bundle --slot; "
        "name the slot with -a)",
    )
    p.set_defaults(func=flash, needs_target=False)


def load_board(name):
    """The board, its warnings (values rounded to a sensor's resolution) on stderr."""
    board = _load(name)
    for line in board.warnings:
        print(f"satmc: warning: {line}", file=sys.stderr)
    return board


def _slot(board):
    """(the board as a chassis slot runs it, its bundle directory)."""
    return board.for_slot(), build_root() / board.name / "slot" / "bundle"


def bundle(args) -> int:
    if args.frozen:
        print(frozen_sources(load_board(args.board), args.frozen))
        return 0
    board, out = load_board(args.board), args.out
    if args.slot:
        board, slot_dir = _slot(board)
        out = out or slot_dir
    b = build_bundle(board, out)
    print(
        f"{b.root}: {len(b.manifest['files'])} files, {bundle_size(b)} bytes, "
        f"firmware {b.manifest['firmware_version']} for {b.manifest['mcu']}"
    )
    if args.hpm:
        from ..hpm import write_image

        n = write_image(board, b, args.hpm)
        print(f"{args.hpm}: HPM.1 upgrade image, {n} bytes, component 0 (the bundle)")
    return 0


def satellite_address(args) -> int | None:
    """The satellite flash upgrades or verifies: --ipmb-address, else -a when typed (not
    $SATMC_ADDRESS, set for everyday queries), else None (the board file's address).
    The two naming different satellites is refused: a bundle must never go to a board
    nobody meant."""
    given = args.address if getattr(args, "address_given", False) else None
    if None not in (given, args.ipmb_address) and given != args.ipmb_address:
        raise SatmcError(
            f"-a 0x{given:02x} and --ipmb-address 0x{args.ipmb_address:02x} name different "
            "satellites; give one of them"
        )
    return args.ipmb_address if args.ipmb_address is not None else given


def flash(args) -> int:
    from ..flash import flash as do_flash
    from ..flash import upgrade_via

    board = load_board(args.board)
    address = satellite_address(args)
    bundle_dir = None
    if args.slot:
        if not args.via or args.port is not None:
            raise SatmcError("--slot upgrades a simulated chassis slot: give --via, not --port")
        if address is None:
            raise SatmcError("--slot: name the slot with -a (its address comes from its pins)")
        board, bundle_dir = _slot(board)
    if args.via and args.port is None:
        with Progress(f"upgrading {board.name} over IPMB", unit="B") as bar:
            upgrade_via(
                board,
                args.via,
                address=address,
                bundle_dir=bundle_dir,
                progress=bar.update,
                timeout=args.verify_timeout,
                twin=args.twin,
            )
        return 0
    with Progress(f"copying {board.name}'s bundle", unit="B") as bar:
        do_flash(
            board,
            port=args.port or "auto",
            via=args.via,
            timeout=args.verify_timeout,
            address=address,
            progress=bar.update,
            log=bar.print,
        )
    return 0
