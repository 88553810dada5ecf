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
START, at every written byte and at reads. A target that raises (a device model's bug)
is counted in stats["target_errors"] and answers as an absent chip (NACK, 0xFF); the
bus serves on.

Clock stretching: the bus is synchronous, so a target that takes its time simply holds
the operation, as a stretching target holds SCL low. For a controller that cares how
long (the FTDI twin: an MPSSE without adaptive clocking clocks on regardless),
read_stretched() also says how long the target held SCL before it supplied the bytes:
the answer time of a target with `stretches_scl` (one in another process, such as the
firmware's I2CTarget, whose READ_REQ handler supplies each byte while rp2 holds SCL
low) plus any `stretch` fault.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field

from . import wire as w
from .faults import Faults

log = logging.getLogger(__name__)


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

    def listened(self, delivery: int) -> None:
        """The end of a write to an address this target shares with other listeners.

        `delivery` numbers the frame on its bus, so that exactly one listener can claim
        the right to answer it (Bus.claim); targets that do not answer just end.
        """
        self.ended()

    # Whether transfer() may stand for addressed(), written() and ended() of a whole write.
    takes_transfers = False

    def transfer(self, addr7: int, data: bytes, delivery: int | None) -> tuple[bool, int]:
        """A whole write ending in STOP, told at once: (address ACKed, bytes ACKed).

        What addressed(addr7, False), then (when ACKed) written(data) (when there is data)
        and ended() (listened(delivery) when a delivery is given) would answer."""
        if not self.addressed(addr7, False):
            return False, 0
        n = self.written(data) if data else 0
        if delivery is None:
            self.ended()
        else:
            self.listened(delivery)
        return True, n


GENERAL_CALL = 0x00
CLAIM_WINDOW = 256  # deliveries kept claimable


class _Fanout(Target):
    """Several targets answering one address, as chips on one real bus do.

    The address is ACKed when any of them ACKs it (the lines are wired-AND); written
    bytes go to every target that ACKed, and a byte counts as ACKed when one of them
    ACKed it; read bytes are the AND of what they drive. Used for the general call
    (address 0, built at each START) and for an address that listeners share (every
    host process at the BMC's address sees every frame written to it).
    """

    general_call = True

    def __init__(self, targets: list[Target], number=None):
        self.targets = targets
        self.acked: list[Target] = []
        self._number = number  # callable: the next write's delivery number (listeners)
        self._wrote = False
        self.shared = False  # True: the listeners of one address (Bus.attach(shared=True))

    def addressed(self, addr7: int, read: bool) -> bool:
        self.acked = []
        self._wrote = False
        for t in list(self.targets):
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
        self._wrote = self._wrote or bool(data)
        return n

    def read(self, n: int, last_nack: bool) -> bytes:
        out = bytearray(b"\xff" * n)
        for t in self.acked:
            try:
                got = bytes(t.read(n, last_nack)) + b"\xff" * n
            except TargetGone:
                continue
            for i in range(n):
                out[i] &= got[i]
        return bytes(out)

    @property
    def takes_transfers(self) -> bool:
        return all(t.takes_transfers for t in self.targets)

    def transfer(self, addr7: int, data: bytes, delivery: int | None) -> tuple[bool, int]:
        if self._number and data:
            delivery = self._number()
        self.acked = []
        ack, n = False, 0
        for t in list(self.targets):
            try:
                got, wrote = t.transfer(addr7, data, delivery)
            except TargetGone:
                continue
            if got:
                ack, n = True, max(n, wrote)
        return ack, n

    def ended(self) -> None:
        delivery = self._number() if self._number and self._wrote else None
        for t in self.acked:
            try:
                if delivery is None:
                    t.ended()
                else:
                    t.listened(delivery)
            except TargetGone:
                pass
        self.acked = []


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
            "target_errors": 0,  # a device model raised; NACKed, the bus serves on
            "wire_time": 0.0,
        }
        self.last_target_error: str | None = None
        self.deliveries = 0  # write segments delivered to shared addresses
        self._claimed: deque[int] = deque(maxlen=CLAIM_WINDOW)
        self._seqs: dict[int, int] = {}
        self._cond = threading.Condition()
        self._owner: object | None = None
        self._target: Target | None = None
        self._record: Record | None = None
        self._wire_clock = 0.0  # seconds of wire time since the bus was made
        self._paced_until = 0.0  # monotonic deadline while pacing

    # --- targets --------------------------------------------------------------------------

    def attach(self, addr7: int, target: Target, shared: bool = False) -> None:
        """Give addr7 to target; shared: a listener, beside any other listeners there."""
        if not 0x08 <= addr7 <= 0x77:
            raise ValueError(f"{self.name}: 7-bit address 0x{addr7:02x} is reserved")
        with self._cond:
            old = self.targets.get(addr7)
            if shared and isinstance(old, _Fanout) and old.shared:
                old.targets.append(target)
                return
            if old is not None:
                raise ValueError(f"{self.name}: address 0x{addr7:02x} already has a target")
            if shared:
                fanout = _Fanout([target], number=self._next_delivery)
                fanout.shared = True
                target = fanout
            self.targets[addr7] = target

    def detach(self, target: Target) -> None:
        with self._cond:
            for a, t in list(self.targets.items()):
                if t is target:
                    del self.targets[a]
                elif isinstance(t, _Fanout) and target in t.targets:
                    t.targets.remove(target)
                    if not t.targets:
                        del self.targets[a]

    def listeners_at(self, addr7: int) -> list[Target]:
        """The targets sharing addr7 (empty when nobody listens or one target owns it)."""
        t = self.targets.get(addr7)
        return list(t.targets) if isinstance(t, _Fanout) else []

    # --- several host processes at one address: deliveries, claims, sequence numbers ---------

    def _next_delivery(self) -> int:
        with self._cond:
            self.deliveries += 1
            return self.deliveries

    def claim(self, delivery: int) -> bool:
        """The right to answer frame `delivery` (to a shared address): True for the first
        claimant only. Claims older than CLAIM_WINDOW deliveries are refused."""
        with self._cond:
            if not self.deliveries - CLAIM_WINDOW < delivery <= self.deliveries:
                return False
            if delivery in self._claimed:
                return False
            self._claimed.append(delivery)
            return True

    def next_seq(self, rq_sa: int, n: int = 1) -> int:
        """The next IPMB sequence number (0..63) for requests from address rq_sa; with
        n > 1, the first of n consecutive numbers (modulo 64) given out together.

        Every host process that requests as rq_sa draws from this one counter, so two
        processes never have the same sequence number outstanding (until 64 numbers
        later), as if they were one BMC.
        """
        with self._cond:
            seq = (self._seqs.get(rq_sa, 0) + 1) % 64
            self._seqs[rq_sa] = (seq + n - 1) % 64
            return seq

    # --- controller operations ------------------------------------------------------------

    def start(self, owner: object, addr7: int, read: bool, name: str = "?") -> int:
        """START (or repeated START) and the address byte. Returns a wire status."""
        injected = self._begin(owner, addr7, read, name)
        if injected is not None:
            return injected
        rec = self._record
        if addr7 == GENERAL_CALL and not read:
            target = _Fanout(
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
        except Exception as e:
            ack = self._target_failed(target, e)
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
            except Exception as e:
                n = self._target_failed(target, e)
        return self._wrote(rec, data, n)

    def write_transfer(self, owner: object, addr7: int, data: bytes, name: str = "?"):
        """START, address, data and STOP: start(), write() and stop() in one, with the
        target told once (Target.transfer) when it takes whole writes. Returns
        (status, bytes ACKed), as write() does after a start() that ACKed.

        The accounting is start()'s, write()'s and stop()'s: the same trace record,
        stats, wire time and faults (consulted before the target hears anything, as byte
        by byte). With pacing on (each byte held to wire time), for a general call, or a
        target that does not take whole writes, it is those three calls.
        """
        target = self.targets.get(addr7)
        if (
            self.pacing
            or addr7 == GENERAL_CALL
            or len(data) > w.XFER_MAX
            or target is None
            or not target.takes_transfers
        ):
            st, n = self.start(owner, addr7, False, name), 0
            if st == w.ST_ACK:
                st, n = self.write(owner, data)
            self.stop(owner)
            return st, n
        injected = self._begin(owner, addr7, False, name)
        if injected is not None:
            self.stop(owner)
            return injected, 0
        rec = self._record
        target = self.targets.get(addr7)
        delay = self.faults.target_delay(addr7)
        if delay:
            time.sleep(delay)
        data = self.faults.on_write(addr7, 0, bytes(data))
        ack, n = False, 0
        if target is not None:
            try:
                ack, n = target.transfer(addr7, data, None)
            except TargetGone:
                pass
            except Exception as e:
                ack = self._target_failed(target, e)
        if ack:
            st, n = self._wrote(rec, data, max(0, min(len(data), n)))
        else:
            rec.status = st = w.ST_NACK
            self.stats["address_nacks"] += 1
            n = 0
        self._target = None  # told already: the STOP ends the segment without it
        self.stop(owner)
        return st, n

    def _wrote(self, rec: Record, data: bytes, n: int) -> tuple[int, int]:
        """Account data bytes of which the target ACKed n."""
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
            except Exception as e:
                self._target_failed(target, e)
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

    def _begin(self, owner: object, addr7: int, read: bool, name: str) -> int | None:
        """START and the address byte up to the target: take the bus (or keep it, for a
        repeated START), charge, open the trace record and consult the faults. A status
        when a fault decided the START, else None."""
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

    def _target_failed(self, target: Target, e: Exception) -> int:
        """A target (a device model) raised: count it, keep the bus serving. The part
        answers as an absent one would: NACK (0), reads 0xFF."""
        self.stats["target_errors"] += 1
        self.last_target_error = f"{type(target).__name__}: {type(e).__name__}: {e}"
        log.warning("%s: target raised %s", self.name, self.last_target_error, exc_info=e)
        return 0

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
            except Exception as e:
                self._target_failed(target, e)
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
