"""What every IPMB frame must get from the firmware, checked independently of its code.

    verdict = check(fw, frame)     # None, or a sentence saying which property failed

A frame is either dropped and counted (malformed, not for us) or answered with one
well-formed response: checksums right, addresses and LUNs swapped, netFn + 1, the
sequence number and command echoed, at most 32 bytes, and a completion code allowed
for that command (the generic codes of IPMI 2.0 table 5-2, plus the command-specific
ones the spec gives it). A request answered with a non-zero completion code leaves the
controller's state as it was; no handler raises (handler_errors stays 0); no request
takes longer than TIME_LIMIT_S.
"""

from __future__ import annotations

import time

TIME_LIMIT_S = 0.25  # per request under CPython (coverage instrumentation included)
GENERIC = frozenset([0x00, *range(0xC0, 0xD7), 0xFF])
# command-specific completion codes (IPMI 2.0): (netFn, cmd) -> codes
SPECIFIC = {
    (0x04, 0x21): {0x80},  # Get Device SDR: record changed
    (0x0A, 0x11): {0x81},  # Read FRU Data: FRU device busy
    (0x0A, 0x12): {0x80, 0x81},  # Write FRU Data: write-protected offset, busy
    (0x06, 0x34): {0x80, 0x81, 0x82, 0x83},  # Send Message: session, arbitration, bus, NAK
    (0x06, 0x52): {0x81, 0x82, 0x83, 0x84},  # Master Write-Read
    # the bench BMC's session commands (IPMI 2.0 ch. 22)
    (0x06, 0x39): {0x81, 0x82},  # Get Session Challenge: invalid user name, null user
    (0x06, 0x3A): {0x81, 0x82, 0x83, 0x84, 0x85, 0x86},  # Activate Session
    (0x06, 0x3B): {0x80, 0x81, 0x82, 0x83},  # Set Session Privilege Level
    (0x06, 0x3C): {0x87, 0x88},  # Close Session: invalid session ID, invalid handle
}
DROP_COUNTERS = ("malformed", "not_for_us", "oversize")


def _cs(b: bytes) -> int:
    return -sum(b) & 0xFF


def is_valid_request(frame: bytes, capacity: int = 32) -> bool:
    return (
        7 <= len(frame) <= capacity and sum(frame[0:3]) & 0xFF == 0 and sum(frame[3:]) & 0xFF == 0
    )


def allowed(netfn: int, cmd: int, cc: int) -> bool:
    if netfn >= 0x2C:  # group extensions and OEM netFns define their own codes
        return True
    return cc in GENERIC or cc in SPECIFIC.get((netfn, cmd), ())


def response_problem(frame: bytes, rsp: bytes, capacity: int = 32) -> str | None:
    """What is wrong with rsp as the answer to request frame (a channel carrying up to
    capacity bytes: 32 on IPMB, 40 on the serial line), or None."""
    if len(frame) < 7:
        return "no request to answer"
    if len(rsp) < 8 or len(rsp) > capacity:
        return f"response length {len(rsp)}"
    if _cs(rsp[0:2]) != rsp[2] or _cs(rsp[3:-1]) != rsp[-1]:
        return "response checksum"
    if rsp[0] != frame[3] or rsp[3] != frame[0]:
        return "addresses not swapped"
    if rsp[1] >> 2 != (frame[1] >> 2) | 1:
        return "netFn not the request's + 1"
    if rsp[1] & 3 != frame[4] & 3 or rsp[4] & 3 != frame[1] & 3:
        return "LUNs not swapped"
    if rsp[4] >> 2 != frame[4] >> 2 or rsp[5] != frame[5]:
        return "sequence number or command not echoed"
    if rsp[6] and len(rsp) != 8:
        return f"completion code {rsp[6]:#04x} with data"
    if not allowed(frame[1] >> 2, frame[5], rsp[6]):
        nf, cmd = frame[1] >> 2, frame[5]
        return f"completion code {rsp[6]:#04x} not allowed for netFn {nf:#04x} cmd {cmd:#04x}"
    return None


def check(fw, frame: bytes) -> str | None:
    """Send frame through fw (fuzz.firmware.Firmware); which property failed, or None."""
    mc = fw.mc
    before = fw.state()
    counts = {k: mc.stats[k] for k in (*DROP_COUNTERS, "requests", "handler_errors")}
    t0 = time.perf_counter()
    rsp = fw.request(frame)
    took = time.perf_counter() - t0
    if took > TIME_LIMIT_S:
        return f"took {took:.3f} s"
    if mc.stats["handler_errors"] != counts["handler_errors"]:
        return "a handler raised (answered FF, counted handler_errors)"
    if rsp is None:
        dropped = sum(mc.stats[k] - counts[k] for k in DROP_COUNTERS)
        if mc.stats["requests"] != counts["requests"]:
            return "a request was dispatched but not answered"
        if dropped != 1 and not _matched_response(mc, frame):
            return f"dropped without exactly one counter ({dropped})"
        return None
    if mc.stats["requests"] != counts["requests"] + 1:
        return "answered without being counted as a request"
    if frame[0] == 0 and len(frame) > 1:  # broadcast Get Device ID: the frame after 00
        frame = frame[1:]
    problem = response_problem(frame, rsp)
    if problem:
        return problem
    if rsp[6] != 0 and fw.state() != before:
        return f"completion code {rsp[6]:#04x} but the state changed"
    return None


def _matched_response(mc, frame: bytes) -> bool:
    """A response frame the event sender was waiting for (not counted as a drop)."""
    ev = getattr(mc, "events", None)
    return bool(ev and ev.in_flight and len(frame) > 1 and frame[1] & 4)
