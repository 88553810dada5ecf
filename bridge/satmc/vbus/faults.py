"""Fault injection for a virtual bus: rules consulted at START and on written bytes.

    bus.faults.add({"kind": "nack", "addr": 0x10, "count": 3})
    bus.faults.add({"kind": "corrupt", "addr": 0x39, "index": 4, "xor": 0x01})
    bus.faults.add({"kind": "arb_lost", "count": 1})
    bus.faults.add({"kind": "stuck", "seconds": 0.5})   # every START times out meanwhile
    bus.faults.add({"kind": "slow", "addr": 0x39, "ms": 20})   # the address ACK comes late
    bus.faults.add({"kind": "stretch", "addr": 0x39, "us": 30, "count": -1})  # SCL held

A rule without "addr" applies to every address; "read" (true/false) limits a nack to
reads or to writes (a readback that fails while requests still go out). "count"
(default 1) is how many times it fires, -1 for ever. Fired counts are kept so a test
can check a fault really hit.
`stretch`: the target holds SCL low for "us" microseconds before it supplies the bytes
of a read (each read operation; the FTDI twin reads byte by byte).
"""

from __future__ import annotations

import threading
import time

from . import wire as w

KINDS = ("nack", "corrupt", "arb_lost", "stuck", "slow", "stretch")


class FaultError(ValueError):
    """A fault rule that cannot be applied."""


class Faults:
    def __init__(self) -> None:
        self._rules: list[dict] = []
        self._lock = threading.Lock()
        self.fired: dict[str, int] = {k: 0 for k in KINDS}

    def add(self, rule: dict) -> None:
        kind = rule.get("kind")
        if kind not in KINDS:
            raise FaultError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        rule = dict(rule)
        rule.setdefault("count", 1)
        if kind == "stuck":
            rule["until"] = time.monotonic() + float(rule.get("seconds", 1.0))
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _take(self, kind: str, addr7: int, read: bool | None = None) -> dict | None:
        with self._lock:
            for rule in self._rules:
                if rule["kind"] != kind or rule.get("addr", addr7) != addr7:
                    continue
                if read is not None and rule.get("read", read) != read:
                    continue
                if rule["count"] > 0:
                    rule["count"] -= 1
                    if rule["count"] == 0:
                        self._rules.remove(rule)
                self.fired[kind] += 1
                return rule
        return None

    def on_start(self, addr7: int, read: bool) -> int | None:
        """A status to force for this START, or None to proceed normally."""
        with self._lock:
            now = time.monotonic()
            self._rules = [r for r in self._rules if r["kind"] != "stuck" or r["until"] > now]
            stuck = any(r["kind"] == "stuck" for r in self._rules)
        if stuck:
            self.fired["stuck"] += 1
            return w.ST_TIMEOUT
        if self._take("arb_lost", addr7):
            return w.ST_ARB_LOST
        if self._take("nack", addr7, read):
            return w.ST_NACK
        return None

    def on_write(self, addr7: int, offset: int, data: bytes) -> bytes:
        """Written bytes as the target will see them (offset: bytes already written)."""
        with self._lock:
            rules = [r for r in self._rules if r["kind"] == "corrupt"]
        for rule in rules:
            if rule.get("addr", addr7) != addr7:
                continue
            i = int(rule.get("index", 0)) - offset
            if 0 <= i < len(data) and self._take_rule(rule):
                data = (
                    data[:i] + bytes((data[i] ^ (rule.get("xor", 0xFF) & 0xFF),)) + data[i + 1 :]
                )
        return data

    def _take_rule(self, rule: dict) -> bool:
        with self._lock:
            if rule not in self._rules:
                return False
            if rule["count"] > 0:
                rule["count"] -= 1
                if rule["count"] == 0:
                    self._rules.remove(rule)
            self.fired[rule["kind"]] += 1
            return True

    def target_delay(self, addr7: int) -> float:
        rule = self._take("slow", addr7)
        return float(rule.get("ms", 10)) / 1000 if rule else 0.0

    def read_stretch(self, addr7: int) -> float:
        rule = self._take("stretch", addr7)
        return float(rule.get("us", 10)) / 1e6 if rule else 0.0
