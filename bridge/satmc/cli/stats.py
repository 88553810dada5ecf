"""`satmc stats`: the satellite's counters (dropped frames, deliveries, queues)."""

from __future__ import annotations

from ..ipmi.client import read_counters
from . import output


def register(sub) -> None:
    p = sub.add_parser("stats", help="the satellite's counters")
    output.add_options(p)
    p.set_defaults(func=stats)


def stats(args, sat) -> int:
    counters = read_counters(sat)  # one record: the firmware's counter names as fields
    output.emit(args, counters, counters, lambda: (f"{k:<18} {v}" for k, v in counters.items()))
    return 0
