"""FRU commands: build, print, read, write, edit.

satmc fru build sim -o fru0.bin [--id 0]      # image from the board file (frugy)
satmc fru print [--id N] [--file IMG]         # every FRU device (or N), as ipmitool prints
satmc fru read [--id N] -o fru0.bin           # -o -: to stdout
satmc fru write fru0.bin [--id N] [--no-verify]  # header last; read back and compare
satmc fru edit BoardInfo.serial_number=SN0042 [--id N]
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import SatmcError
from ..fru import FRUError
from ..fru import image as fru_image
from ..fru.access import FRUAccess, devices
from . import output
from .complete import board_names
from .progress import Progress

PRINT_FIELDS = ("fru_id", "field", "value")


def register(sub) -> None:
    p = sub.add_parser("fru", help="FRU inventory: build, print, read, write, edit")
    fsub = p.add_subparsers(dest="fru_command", metavar="FRU_COMMAND")
    fsub.required = True

    c = fsub.add_parser("build", help="make a FRU image from a board file (frugy)")
    c.add_argument("board", help="board name (boards/NAME.yaml) or path").completer = board_names
    c.add_argument("--id", type=int, default=0, help="FRU device id (0)")
    c.add_argument("-o", "--output", required=True, help="image file to write ('-': stdout)")
    c.set_defaults(func=build, needs_target=False)

    c = fsub.add_parser("print", help="decode every FRU device (or --id's) as ipmitool prints it")
    c.add_argument(
        "--id",
        type=int,
        help="only this FRU device (default: FRU 0 and each FRU Device Locator's device)",
    )
    c.add_argument("--file", help="decode this image file instead of reading the target")
    output.add_options(c)
    c.set_defaults(func=print_fru, needs_target=False)

    c = fsub.add_parser("read", help="save a FRU device's contents")
    c.add_argument("--id", type=int, default=0, help="FRU device id (0)")
    c.add_argument("-o", "--output", required=True, help="file to write ('-': stdout)")
    c.add_argument(
        "--all",
        action="store_true",
        help="the whole device, not only the bytes the image's areas use",
    )
    c.set_defaults(func=read)

    c = fsub.add_parser("write", help="write an image to a FRU device")
    c.add_argument("file", help="image file (satmc fru build / read)")
    c.add_argument("--id", type=int, default=0, help="FRU device id (0)")
    c.add_argument(
        "--verify",
        action="store_true",
        default=True,
        help="read back and compare (the default)",
    )
    c.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip reading the image back",
    )
    c.add_argument("--force", action="store_true", help="write even a corrupt image")
    c.set_defaults(func=write)

    c = fsub.add_parser("edit", help="change fields: AREA.FIELD=VALUE (frugy's names)")
    c.add_argument(
        "assignments",
        nargs="+",
        metavar="FIELD=VALUE",
        help="e.g. BoardInfo.serial_number=SN0042 or board.part_number=X-1",
    )
    c.add_argument("--id", type=int, default=0, help="FRU device id (0)")
    c.set_defaults(func=edit)


def build(args) -> int:
    from ..board import load_board

    img = fru_image.build(load_board(args.board), args.id)
    if args.output == "-":
        sys.stdout.buffer.write(img)
    else:
        Path(args.output).write_bytes(img)
        print(f"FRU {args.id}: {len(img)} bytes -> {args.output}", file=sys.stderr)
    return 0


def _read_image(sat, fru_id: int) -> bytes:
    with Progress(f"reading FRU {fru_id}", unit="B") as bar:
        return FRUAccess(sat, fru_id).read(progress=bar.update)


def print_fru(args) -> int:
    if args.file:
        img = Path(args.file).read_bytes()
        return _emit(args, [(args.id or 0, fru_image.describe(img, args.id or 0))])
    from ..sensors import SensorClient
    from .main import open_target

    with open_target(args) as sat:
        if args.id is not None:
            return _emit(args, [(args.id, fru_image.describe(_read_image(sat, args.id), args.id))])
        status, printed = 0, []
        try:
            records = SensorClient(sat).records()
        except SatmcError:  # no SDRs (a board without sensors): its FRU 0 alone
            records = []
        for fru_id, description in devices(sat, records):
            try:
                img = _read_image(sat, fru_id)
                printed.append((fru_id, fru_image.describe(img, fru_id, description)))
            except SatmcError as e:  # one device failing does not hide the others
                print(f"satmc: error: {e}", file=sys.stderr)
                status = 1
        return _emit(args, printed) or status


def _emit(args, printed: list[tuple[int, list[str]]]) -> int:
    """Each device's `fru print` lines; as records (fru_id, field, value) with --json/--csv."""
    records = []
    for fru_id, lines in printed:
        for line in lines:  # "LABEL : VALUE" (labels hold no colon)
            label, _, value = line.partition(":")
            records.append({"fru_id": fru_id, "field": label.strip(), "value": value.strip()})
    text = []
    for n, (_, lines) in enumerate(printed):
        text += ([""] if n else []) + lines  # a blank line between devices, as ipmitool
    output.emit(args, records, PRINT_FIELDS, lambda: text)
    return 0


def read(args, sat) -> int:
    img = _read_image(sat, args.id)
    if not args.all and not fru_image.problems(img):
        img = img[: fru_image.used_length(img)]
    if args.output == "-":
        sys.stdout.buffer.write(img)
        return 0
    Path(args.output).write_bytes(img)
    print(f"FRU {args.id}: {len(img)} bytes -> {args.output}")
    return 0


def _write(sat, fru_id: int, img: bytes, verify: bool) -> None:
    done = 0

    def step(at: int, n: int) -> None:
        nonlocal done
        done += n
        bar.update(done, max(len(img), done))

    with Progress(f"writing FRU {fru_id}", unit="B", total=len(img)) as bar:
        report = FRUAccess(sat, fru_id).write_image(img, verify=verify, progress=step)
    n = sum(k for _, k in report.written)
    what = "wrote" if n else "unchanged,"
    check = ", verified" if report.verified else ""
    print(f"FRU {fru_id}: {what} {n} bytes in {report.requests} requests{check}")


def write(args, sat) -> int:
    img = Path(args.file).read_bytes()
    if not args.force:
        try:
            fru_image.check(img)
        except FRUError as e:
            raise FRUError(f"{args.file}: {e} (--force writes it anyway)") from None
    _write(sat, args.id, img, args.verify)
    return 0


def edit(args, sat) -> int:
    img = fru_image.edit(_read_image(sat, args.id), args.assignments)
    _write(sat, args.id, img, verify=True)
    return 0
