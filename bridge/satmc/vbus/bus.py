"""One I2C bus with byte-level semantics, shared by controllers and targets.

    bus = Bus("ipmb", freq_hz=100_000)
    bus.attach(0x50, eeprom_model)
    st = bus.start(owner, 0x50, read=False)      # START + address byte, ACK or NACK
    st, n = bus.write(owner, b"\\x00\\x10")        # n bytes ACKed; byte n was NACKed if short
    st, data = bus.read(owner, 4, last_nack=True)
    bus.stop(owner)

One transaction at a time: START waits while another controller owns the bus
(until STOP), a repeated START by the owner keeps it. Every byte is offered to the
addressed target, which ACKs or NACKs it; wire time is charged at the bus frequency
(START 1 bit, each byte 9 bits, STOP 1 bit) and, with pacing on, the bus holds each
operation until real time has caught up with wire time. Each START..STOP (or repeated
START) segment becomes one trace record. Faults (see faults.py) are consulted at
START, at every written byte and at reads.

Clock stretching: the bus is synchronous, so a target that takes its time simply holds
the operation, as a stretching target holds SCL low. For a controller that cares how
long (the FTDI twin: an MPSSE without adaptive clocking clocks on regardless),
read_stretched() also says how long the target held SCL before it supplied the bytes:
the answer time of a target with `stretches_scl` (one in another process, such as the
firmware's I2CTarget, whose READ_REQ handler supplies each byte while rp2 holds SCL
low) plus any `stretch` fault.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field

from ..sim.port import vbus_wire as w
from .faults import Faults


class Target(ABC):
    """What a bus target implements (device models in-process, remote proxies)."""

    # Whether SCL is held low while read() runs (clock stretching); in-process device
    # models answer within the bit, as the chips they model do.
    stretches_scl = False

    @abstractmethod
    def addressed(self, addr7: int, read: bool) -> bool:
        """START + address matched: ACK (True) or NACK."""

    @abstractmethod
    def written(self, data: bytes) -> int:
        """Bytes written by the controller: how many were ACKed (stops at a NACK)."""

    @abstractmethod
    def read(self, n: int, last_nack: bool) -> bytes:
        """Bytes read by the controller; exactly n."""

    def ended(self) -> None:  # noqa: B027 - most targets need no notice of the end
        """STOP, or a repeated START ends this target's part of the transaction."""


GENERAL_CALL = 0x00


class _GeneralCall(Target):
    """Address 0 (write): every target that ACKs it receives the bytes."""

    def __init__(self, targets: list[Target]):
        self.targets = targets
        self.acked: list[Target] = []

    def addressed(self, addr7: int, read: bool) -> bool:
        for t in self.targets:
            try:
                if t.addressed(addr7, read):
                    self.acked.append(t)
            except TargetGone:
                pass
        return bool(self.acked)

    def written(self, data: bytes) -> int:
        n = 0
        for t in self.acked:
            try:
                n = max(n, t.written(data))
            except TargetGone:
                pass
        return n

    def read(self, n: int, last_nack: bool) -> bytes:
        return b"\xff" * n

    def ended(self) -> None:
        for t in self.acked:
            try:
                t.ended()
            except TargetGone:
                pass


class TargetGone(Exception):
    """A remote target stopped answering (clock held too long or disconnected)."""


@dataclass
class Record:
    """One START..STOP/repeated-START segment, as seen on the wire."""

    bus: str
    bus_index: int
    controller: str
    addr7: int
    read: bool
    time: float  # real time, seconds since the epoch, at START
    wire_start: float  # bus wire-time clock at START, seconds
    status: int = w.ST_ACK  # of the address byte
    data: bytearray = field(default_factory=bytearray)
    acked: int = 0  # written bytes ACKed (writes)
    nacked_at: int | None = None  # index of a NACKed data byte (writes)

    def wire_bytes(self) -> bytes:
        """Address byte and data, as on the wire (LINKTYPE_I2C_LINUX message)."""
        return bytes((self.addr7 << 1 | int(self.read),)) + bytes(self.data)

    def as_dict(self) -> dict:
        return {
            "bus": self.bus,
            "controller": self.controller,
            "addr": self.addr7,
            "read": self.read,
            "time": self.time,
            "wire_start": self.wire_start,
            "status": w.STATUS_NAMES[self.status],
            "data": bytes(self.data).hex(),
            "acked": self.acked,
            "nacked_at": self.nacked_at,
        }


class Bus:
    """A virtual I2C bus: serialised transactions, per-byte ACK, wire time, trace."""

    def __init__(
        self,
        name: str,
        index: int = 0,
        freq_hz: int = 100_000,
        pacing: bool = False,
        busy_timeout: float = 1.0,
        trace_len: int = 20_000,
    ):
        self.name = name
        self.index = index
        self.freq_hz = freq_hz
        self.pacing = pacing
        self.busy_timeout = busy_timeout
        self.faults = Faults()
        self.targets: dict[int, Target] = {}
        self.trace: deque[Record] = deque(maxlen=trace_len)
        self.trace_seq = 0  # records ever made; trace[-1] is number trace_seq - 1
        self.listeners: list = []  # callables(record), e.g. a pcap writer
        self.stats = {
            "transactions": 0,
            "segments": 0,
            "bytes": 0,
            "address_nacks": 0,
            "data_nacks": 0,
            "arbitration_lost": 0,
            "timeouts": 0,
            "wire_time": 0.0,
        }
        self._cond = threading.Condition()
        self._owner: object | None = None
        self._target: Target | None = None
        self._record: Record | None = None
        self._wire_clock = 0.0  # seconds of wire time since the bus was made
        self._paced_until = 0.0  # monotonic deadline while pacing

    # --- targets --------------------------------------------------------------------------

    def attach(self, addr7: int, target: Target) -> None:
        if not 0x08 <= addr7 <= 0x77:
            raise ValueError(f"{self.name}: 7-bit address 0x{addr7:02x} is reserved")
        with self._cond:
            if addr7 in self.targets:
                raise ValueError(f"{self.name}: address 0x{addr7:02x} already has a target")
            self.targets[addr7] = target

    def detach(self, target: Target) -> None:
        with self._cond:
            for a in [a for a, t in self.targets.items() if t is target]:
                del self.targets[a]

    # --- controller operations ------------------------------------------------------------

    def start(self, owner: object, addr7: int, read: bool, name: str = "?") -> int:
        """START (or repeated START) and the address byte. Returns a wire status."""
        with self._cond:
            fresh = self._owner is not owner
            if fresh:
                deadline = time.monotonic() + self.busy_timeout
                while self._owner is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.stats["timeouts"] += 1
                        return w.ST_TIMEOUT
                    self._cond.wait(left)
                self._owner = owner
                self.stats["transactions"] += 1
            else:
                self._end_segment()
        self._charge(w.BIT_START + w.BITS_PER_BYTE, idle_before=fresh)
        rec = Record(self.name, self.index, name, addr7, read, time.time(), self._wire_clock)
        self._record = rec
        self.stats["segments"] += 1
        injected = self.faults.on_start(addr7, read)
        if injected is not None:
            rec.status = injected
            if injected == w.ST_ARB_LOST:
                self.stats["arbitration_lost"] += 1
                self._release(owner)
            elif injected == w.ST_TIMEOUT:
                self.stats["timeouts"] += 1
                self._release(owner)
            else:
                self.stats["address_nacks"] += 1
            return injected
        if addr7 == GENERAL_CALL and not read:
            target = _GeneralCall(
                [
                    t
                    for t in dict.fromkeys(self.targets.values())
                    if getattr(t, "general_call", True)
                ]
            )
        else:
            target = self.targets.get(addr7)
        delay = self.faults.target_delay(addr7)
        if delay:
            time.sleep(delay)
        try:
            ack = target is not None and target.addressed(addr7, read)
        except TargetGone:
            ack = False
        if not ack:
            rec.status = w.ST_NACK
            self.stats["address_nacks"] += 1
            self._target = None
            return w.ST_NACK
        self._target = target
        return w.ST_ACK

    def write(self, owner: object, data: bytes) -> tuple[int, int]:
        """Data bytes from the controller. Returns (status, bytes ACKed).

        The status is about the bus (ACK: the transfer happened); a data NACK shows as
        fewer bytes ACKed than written.
        """
        if self._owner is not owner or self._record is None:
            return w.ST_NO_BUS, 0
        rec = self._record
        data = self.faults.on_write(rec.addr7, len(rec.data), bytes(data))
        target = self._target
        n = 0
        if target is not None and data:
            try:
                n = max(0, min(len(data), target.written(data)))
            except TargetGone:
                n = 0
        # The controller stops at the first NACKed byte; that byte was still clocked.
        sent = data if n == len(data) else data[: n + 1]
        rec.data += sent
        rec.acked += n
        self.stats["bytes"] += len(sent)
        self._charge(w.BITS_PER_BYTE * len(sent))
        if n < len(data):
            rec.nacked_at = len(rec.data) - 1
            self.stats["data_nacks"] += 1
        return w.ST_ACK, n

    def read(self, owner: object, n: int, last_nack: bool = True) -> tuple[int, bytes]:
        """Data bytes to the controller; an unaddressed bus reads 0xFF (pulled up)."""
        st, data, _ = self.read_stretched(owner, n, last_nack)
        return st, data

    def read_stretched(
        self, owner: object, n: int, last_nack: bool = True
    ) -> tuple[int, bytes, float]:
        """read(), and the seconds the target held SCL low before it supplied the bytes."""
        if self._owner is not owner or self._record is None:
            return w.ST_NO_BUS, b"", 0.0
        target = self._target
        data = b"\xff" * n
        held = 0.0
        if target is not None and n:
            began = time.monotonic()
            try:
                got = bytes(target.read(n, last_nack))
                data = (got + data)[:n]
            except TargetGone:
                pass
            if target.stretches_scl:
                held = time.monotonic() - began
        extra = self.faults.read_stretch(self._record.addr7) if target is not None else 0.0
        if extra:
            time.sleep(extra)
            held += extra
        self._record.data += data
        self.stats["bytes"] += n
        self._charge(w.BITS_PER_BYTE * n)
        return w.ST_ACK, data, held

    def stop(self, owner: object) -> int:
        if self._owner is not owner:
            return w.ST_NO_BUS
        self._end_segment()
        self._charge(w.BIT_STOP)
        self._release(owner)
        return w.ST_ACK

    def abandon(self, owner: object) -> None:
        """A controller vanished mid-transaction: end it as a STOP would."""
        if self._owner is owner:
            self.stop(owner)

    # --- internals ------------------------------------------------------------------------

    def _release(self, owner: object) -> None:
        with self._cond:
            if self._owner is owner:
                self._owner = None
                self._record = None
                self._target = None
                self._cond.notify_all()

    def _end_segment(self) -> None:
        rec = self._record
        target = self._target
        self._target = None
        self._record = None
        if target is not None:
            try:
                target.ended()
            except TargetGone:
                pass
        if rec is not None:
            self.trace.append(rec)
            self.trace_seq += 1
            for listener in self.listeners:
                listener(rec)

    def _charge(self, bits: int, idle_before: bool = False) -> None:
        """Account wire time; with pacing, hold the caller until real time catches up.

        Deadlines chain within a transaction, so one late wake-up is absorbed by the
        next operation instead of adding up; an idle bus restarts the chain.
        """
        dt = bits / self.freq_hz
        self._wire_clock += dt
        self.stats["wire_time"] += dt
        if self.pacing:
            now = time.monotonic()
            if idle_before and self._paced_until < now:
                self._paced_until = now
            self._paced_until += dt
            wait = self._paced_until - now
            if wait > 0.0001:
                time.sleep(wait)

    def records_since(self, seq: int) -> tuple[int, list[Record]]:
        """Trace records numbered >= seq (as many as are still kept) and the next number."""
        with self._cond:
            kept = list(self.trace)
            first = self.trace_seq - len(kept)
            return self.trace_seq, kept[max(0, seq - first) :]
