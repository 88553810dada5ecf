"""SDR commands: sdr dump (the raw records, as `ipmitool sdr dump` writes them), sdr info."""

from __future__ import annotations

import sys

from ..ipmi.client import get_device_sdr_info
from ..ipmi.codes import SDR_TYPES
from ..sensors import SensorClient
from .progress import Progress


def register(sub) -> None:
    p = sub.add_parser("sdr", help="the satellite's device SDRs: dump them, or their summary")
    ssub = p.add_subparsers(dest="action", metavar="ACTION")
    ssub.required = True
    q = ssub.add_parser(
        "dump",
        help="write the raw SDRs to FILE (- for stdout) as ipmitool sdr dump does; "
        "ipmitool -S FILE reads it",
    )
    q.add_argument("file", metavar="FILE")
    q.set_defaults(func=dump)
    q = ssub.add_parser("info", help="how many sensors and SDRs, the change indicator, the cache")
    q.set_defaults(func=info)


def _records(client: SensorClient) -> list[bytes]:
    with Progress("reading SDRs", unit="record") as bar:
        return client.raw_records(progress=bar.update)


def dump(args, sat) -> int:
    raw = b"".join(_records(SensorClient(sat)))  # each record: its 5-byte header, its body
    if args.file == "-":
        sys.stdout.buffer.write(raw)
        return 0
    with open(args.file, "wb") as f:
        f.write(raw)
    print(f"{args.file}: {len(raw)} bytes of SDRs from 0x{sat.address:02x}", file=sys.stderr)
    return 0


def info(args, sat) -> int:
    client = SensorClient(sat)
    sdr_info = get_device_sdr_info(sat)
    indicator = client.sdr_indicator()
    cached = indicator >= 0 and client.cached(indicator) is not None
    raw = _records(client)
    flags = sdr_info.flags
    luns = [str(n) for n in range(4) if getattr(flags, f"lun{n}_has_sensors")]
    rows = [
        ("satellite", f"0x{sat.address:02x}"),
        ("sensors", f"{sdr_info.number_of_sensors} (LUN {', '.join(luns) or 'none'})"),
        ("records", f"{len(raw)} ({sum(len(r) for r in raw)} bytes)"),
        ("by type", "  ".join(f"{t}: {n}" for t, n in _types(raw))),
        (
            "population",
            f"dynamic, change indicator 0x{indicator:08x}" if indicator >= 0 else "static",
        ),
        ("cache", f"{client.cache_file()} ({'was current' if cached else 'read now'})"),
    ]
    for k, v in rows:
        print(f"{k:<11}: {v}")
    return 0


def _types(raw: list[bytes]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for r in raw:
        name = SDR_TYPES.get(r[3], f"type 0x{r[3]:02x}")
        counts[name] = counts.get(name, 0) + 1
    return list(counts.items())
