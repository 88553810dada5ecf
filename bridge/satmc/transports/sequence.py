"""rqSeqs held back after a request went unanswered: a late answer is never another's.

    held = HeldSequences()
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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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
