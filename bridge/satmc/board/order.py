"""The order a sensor's thresholds must keep: lnr <= lc <= lnc < unc <= uc <= unr.

    misordered({"lnc": 5, "unc": 4})      # ("lnc", "unc", True): unc must be above lnc
    misordered({"lc": 0, "unc": 60})      # None: in order

IPMI 2.0 section 36.3 orders the thresholds so that a reading crosses them one after
the other; a board file (satmc.board.sensors) and `satmc thresholds set`
(satmc.sensors) are both held to it here. Only the thresholds present count; the
highest lower one must be strictly below the lowest upper one. Plain data and one
function on a floor of its own, so the sensors client below the board model uses it.
"""

ORDER = ("lnr", "lc", "lnc", "unc", "uc", "unr")  # lowest to highest
LOWER = ("lnr", "lc", "lnc")


def misordered(values: dict):
    """(lower, higher, strict) of the first pair of present thresholds out of order, or
    None; strict when the higher must be above the lower, not only at or above it."""
    present = [k for k in ORDER if values.get(k) is not None]
    for a, b in zip(present, present[1:], strict=False):
        strict = a in LOWER and b not in LOWER
        if values[a] > values[b] or (strict and values[a] == values[b]):
            return a, b, strict
    return None


def describe(a: str, b: str, strict: bool) -> str:
    """ "unc must be above lnc" (or "at or above")."""
    return f"{b} must be {'above' if strict else 'at or above'} {a}"
