"""`satmc stats`: the satellite's counters (dropped frames, deliveries, queues)."""

from __future__ import annotations

# The firmware's ipmc/counters.py NAMES, in order; tests check the two agree.
COUNTER_NAMES = (
    "frames_in", "malformed", "oversize", "rx_overflow", "not_for_us", "requests",
    "outbox_full", "sent", "send_retries", "send_failed", "read_back", "readback_partial",
    "expired", "events_queued", "events_sent", "events_retried", "events_acked",
    "events_dropped", "sensor_errors",
)
NETFN_OEM = 0x30
CMD_GET_STATISTICS = 0x01


def read_counters(sat) -> dict[str, int]:
    """All counters, by name (unknown extra counters as counter_N)."""
    values: dict[str, int] = {}
    page = 0
    while True:
        d = sat.call(NETFN_OEM, CMD_GET_STATISTICS, bytes((page,)), what="Get Statistics")
        total, first = d[0], d[1]
        for i in range((len(d) - 2) // 2):
            idx = first + i
            name = COUNTER_NAMES[idx] if idx < len(COUNTER_NAMES) else f"counter_{idx}"
            values[name] = d[2 + 2 * i] | d[3 + 2 * i] << 8
        if first + (len(d) - 2) // 2 >= total:
            return values
        page += 1


def register(sub) -> None:
    p = sub.add_parser("stats", help="the satellite's counters")
    p.set_defaults(func=stats)


def stats(args, sat) -> int:
    for name, v in read_counters(sat).items():
        print(f"{name:<18} {v}")
    return 0
