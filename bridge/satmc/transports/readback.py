"""Fetching frames from satellites by reading them (hosts that cannot be I2C targets).

A satellite keeps every outgoing frame until it is delivered. An I2C read of its
address returns [N, frame(N bytes)], N = 0 when nothing waits, and 0xFF after that.
A frame is delivered when 2 + N bytes were read (one past the frame, so the
satellite knows its last byte went out); a shorter read leaves it queued. The
poller peeks the length with a 1-byte read (cheap when nothing waits) and then
reads 2 + N.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import BusError

MAX_FRAME = 32


class ReadbackPoller:
    """Which satellites to poll, and the polling itself, for an IpmbInterface.

    `read(addr7, n) -> bytes` performs one I2C read transaction.
    """

    def __init__(self, read: Callable[[int, int], bytes], interval: float = 0.001):
        self._read = read
        self.interval = interval
        self._until: dict[int, float] = {}  # 7-bit address -> poll until (monotonic)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.errors = 0

    def watch(self, addr7: int, seconds: float) -> None:
        """Poll addr7 for the next `seconds` (after sending it a request)."""
        with self._lock:
            self._until[addr7] = max(self._until.get(addr7, 0.0), time.monotonic() + seconds)
        self._wake.set()

    def follow(self, addr7: int) -> None:
        """Poll addr7 until unfollowed (to collect events)."""
        with self._lock:
            self._until[addr7] = float("inf")
        self._wake.set()

    def unfollow(self, addr7: int) -> None:
        with self._lock:
            self._until.pop(addr7, None)

    def _targets(self) -> list[int]:
        now = time.monotonic()
        with self._lock:
            for a in [a for a, t in self._until.items() if t < now]:
                del self._until[a]
            return list(self._until)

    def fetch(self, addr7: int) -> bytes | None:
        """One frame waiting at addr7, or None."""
        n = self._read(addr7, 1)[0]
        if n == 0 or n > MAX_FRAME:
            return None
        data = self._read(addr7, 2 + n)
        if data[0] != n:  # the waiting frame changed between the two reads
            return None
        return bytes(data[1 : 1 + n])

    def read_frame(self, timeout: float) -> bytes | None:
        """The next frame from any watched satellite within timeout, or None."""
        deadline = time.monotonic() + timeout
        while True:
            for addr7 in self._targets():
                try:
                    frame = self.fetch(addr7)
                except BusError:
                    self.errors += 1
                    frame = None
                if frame:
                    return frame
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self._targets():
                time.sleep(min(self.interval, left))
            else:
                self._wake.clear()
                self._wake.wait(left)

    def wake(self) -> None:
        self._wake.set()
