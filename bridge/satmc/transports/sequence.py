"""rqSeqs held back after a request went unanswered: a late answer is never another's.

    class MyInterface(HoldsSequences, IpmbInterface): ...   # an IPMB transport
    intf.held_sequences.is_held(seq)                       # after a try timed out

    held = HeldSequences()      # the mechanism alone
    seq = held.draw(fresh)      # fresh(): the next number (0..63); held ones skipped
    held.hold(seq)              # its request was written and timed out

A request whose answer did not come in time may still be answered: the satellite keeps
a response it could not deliver for IPMB's sequence lifetime (5 s, the firmware's
RESPONSE_LIFETIME_MS) and delivers it once the bus lets it. python-ipmi matches
responses by rqSeq alone (its rx_filter), so if the host had meanwhile drawn that rqSeq
again for a new request, the late answer was taken for the new request's: the 1-hour
soak's faults part saw five (a stuck bus let a queued answer out after the host had gone
round the 64 numbers). IPMB's rule is that a requester does not reuse a sequence number
within that lifetime; python-ipmi's counter does not keep it, hence this module.
Requests that never left (a stuck bus, an address NACK) hold nothing: nothing can answer.

Every IPMB-format transport (sim, ftdi, serial) takes it through HoldsSequences. On a
serial line a late answer is one a stalled board sends after the host gave up: when all
64 numbers are held, the next request waits for the first to be free.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pyipmi.errors import IpmiTimeoutError

SEQUENCE_LIFETIME_S = 5.0  # IPMB: a response may be delivered up to 5 s late
SEQUENCES = 64


class HeldSequences:
    def __init__(self, lifetime: float = SEQUENCE_LIFETIME_S, clock=time.monotonic):
        self.lifetime = lifetime
        self.clock = clock
        self._until: dict[int, float] = {}  # rqSeq -> when it may be drawn again
        self._lock = threading.Lock()
        self.held = 0  # how many times a number was held back (a count, for reports)

    def hold(self, seq: int) -> None:
        with self._lock:
            self._until[seq] = self.clock() + self.lifetime
            self.held += 1

    def is_held(self, seq: int) -> bool:
        with self._lock:
            until = self._until.get(seq)
            if until is not None and until <= self.clock():
                del self._until[seq]
                until = None
            return until is not None

    def draw(self, fresh: Callable[[], int]) -> int:
        """The next number from fresh() that is not held; when all 64 are held, waits
        for the first to be free (at most the lifetime)."""
        while True:
            for _ in range(SEQUENCES):
                seq = fresh()
                if not self.is_held(seq):
                    return seq
            with self._lock:
                wait = min(self._until.values(), default=self.clock()) - self.clock()
            time.sleep(min(max(wait, 0.001), self.lifetime))


class HoldsSequences:
    """For an IpmbInterface subclass, listed before IpmbInterface in its bases: a try
    that timed out holds its rqSeq back (held_sequences), and no request draws a held
    one. Numbers come from _fresh_sequence(): python-ipmi's counter, one more than the
    last, unless the transport has its own (the sim's shared bus counter)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.held_sequences = HeldSequences()

    def _fresh_sequence(self) -> int:
        self.next_sequence_number = (self.next_sequence_number + 1) % SEQUENCES
        return self.next_sequence_number

    def _inc_sequence_number(self) -> int:
        with self._sequence_lock:
            self.next_sequence_number = self.held_sequences.draw(self._fresh_sequence)
            return self.next_sequence_number

    def _request(self, header, payload):
        """One try; a try that timed out holds its rqSeq back (its answer may come late)."""
        try:
            return super()._request(header, payload)
        except IpmiTimeoutError:
            self.held_sequences.hold(header.rq_seq)
            raise
