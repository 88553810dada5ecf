"""`make bench`: every bench/bench_*.py module's run() prints its figures.

A figure with a target (DESIGN.md, "Numbers to hold") ends in `ok` or `MISSED`.
"""


def verdict(met: bool) -> str:
    """How a figure stands against its target: "ok" or "MISSED"."""
    return "ok" if met else "MISSED"
