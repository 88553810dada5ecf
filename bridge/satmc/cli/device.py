"""Device commands: info, raw, scan."""

from __future__ import annotations

from ..errors import BusNackError, NoResponseError
from ..ipmi_codes import NETFNS, cc_text

SUPPORT_BITS = [
    (0x80, "chassis device"),
    (0x40, "bridge"),
    (0x20, "IPMB event generator"),
    (0x10, "IPMB event receiver"),
    (0x08, "FRU inventory device"),
    (0x04, "SEL device"),
    (0x02, "SDR repository device"),
    (0x01, "sensor device"),
]


def register(sub) -> None:
    p = sub.add_parser("info", help="device id, firmware version, capabilities")
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


def decode_device_id(d: bytes) -> dict:
    """Fields of a Get Device ID response (data after the completion code)."""
    if len(d) < 11:
        raise ValueError(f"Get Device ID answer too short ({len(d)} bytes)")
    minor = d[3]
    return {
        "device_id": d[0],
        "device_revision": d[1] & 0x0F,
        "provides_sdrs": bool(d[1] & 0x80),
        "firmware": f"{d[2] & 0x7F}.{(minor >> 4) * 10 + (minor & 0x0F):02d}",
        "update_in_progress": bool(d[2] & 0x80),
        "ipmi_version": f"{d[4] & 0x0F}.{d[4] >> 4}",
        "support": d[5],
        "capabilities": [name for bit, name in SUPPORT_BITS if d[5] & bit],
        "manufacturer_id": d[6] | d[7] << 8 | (d[8] & 0x0F) << 16,
        "product_id": d[9] | d[10] << 8,
        "aux": bytes(d[11:15]) if len(d) >= 15 else None,
    }


def info(args, sat) -> int:
    dev = decode_device_id(sat.call(0x06, 0x01, what="Get Device ID"))
    ident = sat.ipmi.get_device_id()  # python-ipmi's decoding, as a cross-check
    if ident.device_id != dev["device_id"] or ident.product_id != dev["product_id"]:
        print("warning: python-ipmi decodes the device id differently")
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
    for k, v in rows:
        print(f"{k:<{width}} : {v}")
    return 0


def raw(args, sat) -> int:
    netfn = NETFNS.get(args.netfn.lower())
    if netfn is None:
        netfn = _byte(args.netfn, "netFn")
    cmd = _byte(args.cmd, "command")
    data = bytes(_byte(x, "data byte") for x in args.data)
    cc, rsp = sat.raw(netfn, cmd, data)
    if cc:
        print(f"completion code 0x{cc:02x} ({cc_text(cc)})" + (f": {rsp.hex(' ')}" if rsp else ""))
        return 1
    print(rsp.hex(" ") if rsp else "(no data)")
    return 0


def scan(args, sat) -> int:
    first, last = _byte(args.first, "address"), _byte(args.last, "address")
    found = 0
    intf = sat.interface
    retries = intf.max_retries
    intf.max_retries = 1
    try:
        for addr in range(first & 0xFE, last + 1, 2):
            if args.broadcast:
                d = sat.broadcast_get_device_id(addr)
            else:
                sat.ipmi.target.ipmb_address = addr
                sat.address = addr
                try:
                    cc, d = sat.raw(0x06, 0x01)
                    d = d if cc == 0 else None
                except (NoResponseError, BusNackError):
                    d = None
            if d:
                dev = decode_device_id(d)
                found += 1
                print(
                    f"0x{addr:02x}: device 0x{dev['device_id']:02x} firmware {dev['firmware']}"
                    f" manufacturer {dev['manufacturer_id']} product 0x{dev['product_id']:04x}"
                )
    finally:
        intf.max_retries = retries
    print(f"{found} controller{'s' if found != 1 else ''} answered")
    return 0 if found else 1
