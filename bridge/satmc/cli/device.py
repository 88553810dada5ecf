"""Device commands: info, raw, scan."""

from __future__ import annotations

from ..errors import (
    BusNackError,
    CompletionCodeError,
    MalformedResponseError,
    NoResponseError,
    SendMessageError,
)
from ..ipmi.client import decode_device_id, get_device_id
from ..ipmi.codes import CMD_GET_DEVICE_ID, NETFN_APP, NETFNS, cc_text
from . import output
from .progress import Progress

INFO_FIELDS = (
    "address",
    "device_id",
    "device_revision",
    "firmware",
    "update_in_progress",
    "ipmi_version",
    "manufacturer_id",
    "product_id",
    "provides_sdrs",
    "capabilities",
    "aux",
)
SCAN_FIELDS = ("address", "device_id", "firmware", "manufacturer_id", "product_id")


def register(sub) -> None:
    p = sub.add_parser("info", help="device id, firmware version, capabilities")
    output.add_options(p)
    p.set_defaults(func=info)
    p = sub.add_parser(
        "raw",
        help="send a raw request: NETFN CMD [DATA...]",
        description="Numbers as ipmitool reads them: 0x.. hexadecimal, 0.. octal, other "
        "numbers decimal (10 is 0x0a); `ipmitool raw 0x06 0x01` is `satmc raw 0x06 0x01`.",
    )
    p.add_argument("netfn", help="number or name (app, sensor, storage, ...)")
    p.add_argument("cmd", help="command number (0x01, 1)")
    p.add_argument("data", nargs="*", help="data bytes (0x.. hex, 0.. octal, else decimal)")
    p.set_defaults(func=raw)
    p = sub.add_parser("scan", help="Get Device ID over a range of IPMB addresses")
    p.add_argument("--first", default="0x10", help="first 8-bit address (0x10)")
    p.add_argument("--last", default="0xEE", help="last 8-bit address (0xEE)")
    p.add_argument(
        "--broadcast",
        action="store_true",
        help="use Broadcast Get Device ID (general call) instead",
    )
    output.add_options(p)
    p.set_defaults(func=scan)


def _byte(text: str, what: str) -> int:
    """A number as ipmitool reads one (C strtoul, base 0): 0x1f hexadecimal, 017 octal,
    other numbers decimal; so a line from an ipmitool script sends the same bytes."""
    t = text.lower()
    try:
        if t.startswith("0x"):
            v = int(t[2:], 16)
        elif t.startswith("0") and len(t) > 1:
            v = int(t[1:], 8)
        else:
            v = int(t, 10)
    except ValueError:
        raise SystemExit(
            f"satmc: error: {what} {text!r} is not a number (0x1f hexadecimal, 017 octal, "
            "31 decimal, as ipmitool reads them)"
        ) from None
    if not 0 <= v <= 0xFF:
        raise SystemExit(f"satmc: error: {what} {text!r} is out of range 0..255 (0x00..0xff)")
    return v


def info(args, sat) -> int:
    dev = get_device_id(sat)
    rows = [
        ("IPMB address", f"0x{sat.address:02x}"),
        ("Device ID", f"0x{dev['device_id']:02x}"),
        ("Device revision", str(dev["device_revision"])),
        (
            "Firmware",
            dev["firmware"] + (" (update in progress)" if dev["update_in_progress"] else ""),
        ),
        ("IPMI version", dev["ipmi_version"]),
        ("Manufacturer ID", f"{dev['manufacturer_id']} (0x{dev['manufacturer_id']:05x})"),
        ("Product ID", f"{dev['product_id']} (0x{dev['product_id']:04x})"),
        ("Provides device SDRs", "yes" if dev["provides_sdrs"] else "no"),
        ("Capabilities", ", ".join(dev["capabilities"]) or "none"),
    ]
    if dev["aux"] is not None:
        rows.append(("Aux firmware rev", dev["aux"].hex(" ")))
    width = max(len(k) for k, _ in rows)
    record = dict(dev, address=sat.address, aux=dev["aux"].hex() if dev["aux"] else None)
    output.emit(args, record, INFO_FIELDS, lambda: (f"{k:<{width}} : {v}" for k, v in rows))
    return 0


def raw(args, sat) -> int:
    netfn = NETFNS.get(args.netfn.lower())
    if netfn is None:
        netfn = _byte(args.netfn, "netFn")
    cmd = _byte(args.cmd, "command")
    data = bytes(_byte(x, "data byte") for x in args.data)
    cc, rsp = sat.raw(netfn, cmd, data)
    if cc:
        print(
            f"completion code 0x{cc:02x} ({cc_text(cc, netfn, cmd)})"
            + (f": {rsp.hex(' ')}" if rsp else "")
        )
        return 1
    print(rsp.hex(" ") if rsp else "(no data)")
    return 0


def scan(args, sat) -> int:
    first, last = _byte(args.first, "address"), _byte(args.last, "address")
    addresses = range(first & 0xFE, last + 1, 2)
    how = "Broadcast Get Device ID" if args.broadcast else "Get Device ID"
    found = []
    # Each address gets the connection's tries (--retries), as a BMC's scan retries: a
    # busy controller may miss one timeout. An empty address NACKs the first write and
    # costs no retry; only a controller that takes the request and stays silent does.
    # Through a BMC (lan://, lanplus://) each address is a Send Message to it on IPMB
    # channel 0, and 0x20 is the BMC itself; the BMC's 83h (nothing took it) costs none.
    with Progress(how, unit="addr", total=len(addresses)) as bar:
        for i, addr in enumerate(addresses):
            dev = _device_at(sat, addr, args.broadcast)
            bar.update(i + 1)
            if dev:
                found.append(dict(dev, address=addr))
                if not output.machine(args):
                    bar.print(_scan_line(found[-1]))
    n = len(found)
    output.emit(
        args, found, SCAN_FIELDS, lambda: [f"{n} controller{'s' if n != 1 else ''} answered"]
    )
    return 0 if found else 1


def _device_at(sat, addr: int, broadcast: bool) -> dict | None:
    """Get Device ID of the controller at addr (decoded), or None when none answers."""
    if broadcast:
        d = sat.broadcast_get_device_id(addr)
        return decode_device_id(d) if d else None
    sat.retarget(addr)
    try:
        if not sat.via:
            return get_device_id(sat)
        # through a BMC an empty address is its Send Message's 83h: not sent again
        cc, data = sat.raw(NETFN_APP, CMD_GET_DEVICE_ID, nak_tries=1)
        return decode_device_id(data) if cc == 0 else None
    except (
        NoResponseError,
        BusNackError,
        SendMessageError,
        CompletionCodeError,
        MalformedResponseError,
    ):
        return None


def _scan_line(dev: dict) -> str:
    return (
        f"0x{dev['address']:02x}: device 0x{dev['device_id']:02x} firmware {dev['firmware']}"
        f" manufacturer {dev['manufacturer_id']} product 0x{dev['product_id']:04x}"
    )
