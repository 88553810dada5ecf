"""`satmc stats`: the satellite's counters (dropped frames, deliveries, queues)."""

from __future__ import annotations

import importlib.util

from ..board import FIRMWARE_DIR


def _firmware_counter_names() -> tuple[str, ...]:
    """The firmware's own list (firmware/ipmc/counters.py): one list serves both sides."""
    spec = importlib.util.spec_from_file_location("_ipmc_counters", COUNTERS_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.NAMES)


COUNTERS_PY = FIRMWARE_DIR / "ipmc" / "counters.py"
COUNTER_NAMES = _firmware_counter_names()
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
