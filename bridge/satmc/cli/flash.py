"""Board commands: bundle (build what gets flashed) and flash (deploy and verify)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..board import load_board
from ..bundle import build_bundle, bundle_size, frozen_sources
from .main import _address


def register(sub) -> None:
    p = sub.add_parser("bundle", help="build the firmware bundle of a board (build/BOARD/bundle)")
    p.add_argument("--board", default="sim", help="board name (boards/NAME.yaml) or file")
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
    p.set_defaults(func=bundle, needs_target=False)
    p = sub.add_parser("flash", help="deploy the bundle to a MicroPython board, reset, verify")
    p.add_argument("--board", required=True, help="board name (boards/NAME.yaml) or file")
    p.add_argument(
        "--port",
        help="serial port of the board's REPL, or auto (the default: the first Raspberry Pi "
        "or pyboard USB serial port)",
    )
    p.add_argument(
        "--via",
        metavar="URL",
        help="without --port: upgrade over IPMB with PICMG HPM.1 through this URL (sim://, "
        "ftdi://ftdi:232h/1, serial://, socket://); with --port: deploy over the USB serial "
        "and verify over IPMB through it",
    )
    p.add_argument(
        "--ipmb-address",
        type=_address,
        help="8-bit address to verify at with --via (default: the board file's; give it for "
        "boards that read geographic address pins)",
    )
    p.add_argument(
        "--verify-timeout",
        type=float,
        default=20.0,
        help="seconds to wait for the firmware after the reset (20)",
    )
    p.set_defaults(func=flash, needs_target=False)


def bundle(args) -> int:
    if args.frozen:
        print(frozen_sources(load_board(args.board), args.frozen))
        return 0
    board = load_board(args.board)
    b = build_bundle(board, args.out)
    print(
        f"{b.root}: {len(b.manifest['files'])} files, {bundle_size(b)} bytes, "
        f"firmware {b.manifest['firmware_version']} for {b.manifest['mcu']}"
    )
    if args.hpm:
        from ..hpm import write_image

        n = write_image(board, b, args.hpm)
        print(f"{args.hpm}: HPM.1 upgrade image, {n} bytes, component 0 (the bundle)")
    return 0


def _progress():
    """A progress bar on stderr when it is a terminal; None (no output) otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        width = 40
        k = done * width // max(total, 1)
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r  [{'#' * k}{'.' * (width - k)}] {done}/{total} bytes{end}")
        sys.stderr.flush()

    return show


def flash(args) -> int:
    from ..flash import flash as do_flash
    from ..flash import upgrade_via

    if args.via and args.port is None:
        upgrade_via(
            load_board(args.board),
            args.via,
            address=args.ipmb_address,
            progress=_progress(),
            timeout=args.verify_timeout,
            twin=args.twin,
        )
        return 0
    do_flash(
        load_board(args.board),
        port=args.port or "auto",
        via=args.via,
        timeout=args.verify_timeout,
        address=args.ipmb_address,
    )
    return 0
