"""`satmc stats`: the satellite's counters (dropped frames, deliveries, queues)."""

from __future__ import annotations

from ..ipmi.client import read_counters


def register(sub) -> None:
    p = sub.add_parser("stats", help="the satellite's counters")
    p.set_defaults(func=stats)


def stats(args, sat) -> int:
    for name, v in read_counters(sat).items():
        print(f"{name:<18} {v}")
    return 0
