"""Hosts that check every frame they receive, and the firmware's counters reconciled.

    h = Host("a", sim.url, sim.address, slave_address=0x20)   # slave-capable BMC
    h = Host("r", sim.url, sim.address, slave_address=0x24, readback=True)  # master-only
    h.fru_read(offset, count)     # one Read FRU Data, its answer checked against h.ref
    h.report()                    # calls, answered, stray, wrong, timeouts ...

Every request a host sends is a Read FRU Data whose answer is known (the FRU image,
read once at the start): each response frame the host receives, on the wire, is checked
against the request that carried its sequence number, so a response delivered to the
wrong host, or a late response matched to the wrong request, is caught frame by frame,
independently of python-ipmi's own matching. Plain python-ipmi and satmc transports;
nothing here is a library's job.
"""

from __future__ import annotations

import threading
import time

from satmc.errors import SatmcError
from satmc.ipmi.client import events_open, read_counters
from satmc.ipmi.codes import CMD_READ_FRU_DATA, NETFN_STORAGE
from satmc.transports import connect

FRU_SIZE = 256  # the sim board's at24c02


class Host:
    def __init__(
        self, name, url, address, slave_address=0x20, readback=False, ref=None, timeout=0.25
    ):
        self.name = name
        self.sat = connect(
            url, address=address, slave_address=slave_address, readback=readback, timeout=timeout
        )
        self.intf = self.sat.interface
        self.lock = threading.Lock()
        self.issued: dict[int, tuple[int, int]] = {}  # rqSeq -> (offset, count) last sent
        self.counts = dict(
            calls=0,
            ok=0,
            failed=0,
            req_frames=0,
            rsp_frames=0,
            stray=0,
            wrong=0,
            busy=0,
            corrupt=0,
        )
        self.errors: list[str] = []
        self.latency: list[float] = []
        self._next: tuple[int, int] | None = None
        send, receive = self.intf.send_frame, self.intf._receive_frame

        def send_frame(frame: bytes) -> None:
            if not frame[1] >> 2 & 1 and frame[5] == CMD_READ_FRU_DATA:
                with self.lock:
                    self.issued[frame[4] >> 2] = self._next
                    self.counts["req_frames"] += self._next is not None
            send(frame)

        def receive_frame(frame: bytes) -> None:
            if len(frame) >= 7 and frame[1] >> 2 & 1 and frame[5] == CMD_READ_FRU_DATA:
                self._check(frame)
            receive(frame)

        self.intf.send_frame = send_frame
        self.intf._receive_frame = receive_frame
        self.ref = ref if ref is not None else self.read_image()

    def read_image(self) -> bytes:
        out = b""
        while len(out) < FRU_SIZE:
            self._next = None  # answers to these are not checked against the image
            cc, data = self.sat.raw(NETFN_STORAGE, CMD_READ_FRU_DATA, bytes([0, len(out), 0, 16]))
            assert cc == 0 and data[0] == 16, (cc, data)
            out += data[1:]
        return out

    def _check(self, frame: bytes) -> None:
        """One response frame as received on the wire: whose request is it?"""
        seq = frame[4] >> 2
        with self.lock:
            if sum(frame[0:3]) & 0xFF or sum(frame[3:]) & 0xFF:
                self.counts["corrupt"] += 1  # a corrupted frame: the bridge drops it
                return
            self.counts["rsp_frames"] += 1
            if frame[0] == self.intf.slave_address and seq in self.issued and not self.issued[seq]:
                self.counts["rsp_frames"] -= 1  # reading the reference image
                return
            asked = self.issued.get(seq)
            if frame[0] != self.intf.slave_address or asked is None:
                self.counts["stray"] += 1
                self.errors.append(
                    f"{self.name}: response for a request it never sent: {frame.hex()}"
                )
                return
            if frame[6] == 0x81:  # FRU device busy (its write cycle): a valid answer
                self.counts["busy"] += 1
                return
            offset, count = asked
            want = bytes([count]) + self.ref[offset : offset + count]
            if frame[6] != 0 or frame[7:-1] != want:
                self.counts["wrong"] += 1
                self.errors.append(
                    f"{self.name}: seq {seq} asked ({offset}, {count}), got {frame[6:-1].hex()}"
                )

    def fru_read(self, offset: int, count: int) -> bool:
        self._next = (offset, count)
        self.counts["calls"] += 1
        t0 = time.perf_counter()
        try:
            cc, data = self.sat.raw(NETFN_STORAGE, CMD_READ_FRU_DATA, bytes([0, offset, 0, count]))
        except SatmcError as e:
            self.counts["failed"] += 1
            self.errors.append(f"{self.name}: {e}")
            return False
        self.latency.append(time.perf_counter() - t0)
        if cc == 0x81:
            return False
        self.counts["ok"] += 1
        return True

    def close(self) -> None:
        self.sat.close()


def outgoing(c: dict) -> int:
    """Frames the firmware queued to send: responses and Platform Event requests."""
    return c["requests"] - c["outbox_full"] + c["events_sent"] + c["events_retried"]


def delivered(c: dict) -> int:
    """... and where they went: written, read back, expired, or (events) withdrawn."""
    return c["sent"] + c["read_back"] + c["expired"] + c["withdrawn"]


# The longest a satellite's event queue takes to settle when nobody answers: every one
# of its 16 slots tried 4 times, 1 s a try (QUEUE_SLOTS, TRIES, TRY_MS of ipmc.events),
# and a margin. A shorter wait reported a queue still draining, correctly, as open.
EVENTS_DRAIN_S = 16 * 4 * 1.0 + 10.0


def settled(sat, timeout: float = EVENTS_DRAIN_S) -> dict:
    """The counters once nothing but this very Get Statistics answer is in flight and
    every queued event is acknowledged or counted dropped (or as they are once nothing
    has moved for `timeout`, or after 8 x timeout in all: silent_losses then names what is
    still open). A queue still draining (an event tried again, dropped, a response
    expiring) is progress and is waited for: on a slow target (the emulated RP2040 under
    load) draining takes longer than any fixed bound would allow for.

    The counters come a page per request, so one reading is not one instant: an event's
    answer arriving between the page holding frames_in and the one holding events_acked
    is counted in one and not the other, and the delta against that reading names a frame
    nobody lost. A reading counts only when the one before it was settled too and nothing
    but these very reads arrived in between (frames_in rose by exactly the requests, and
    nothing else but our answers moved): then no frame straddles its pages."""
    start = time.monotonic()
    deadline = start + timeout
    prev = last = None
    while True:
        c = read_counters(sat)
        idle = outgoing(c) - delivered(c) <= 1  # the page-0 answer being read
        if idle and events_open(c) == 0:
            if prev is not None and _quiet(prev, c):
                return c
            prev = c
        else:
            prev = None
        now = time.monotonic()
        if last is not None and _moved(last, c):
            deadline = now + timeout  # something moved: still draining
        last = c
        if now > min(deadline, start + 8 * timeout):  # reported by silent_losses, not hidden
            return c
        time.sleep(0.05)


_MAY_MOVE = ("frames_in", "requests", "sent", "read_back", "send_retries", "readback_partial")


def _moved(before: dict, after: dict) -> bool:
    """Something moved between two readings that statistics requests do not move."""
    return any(after[k] != before[k] for k in after if k not in _MAY_MOVE)


def _quiet(before: dict, after: dict) -> bool:
    """Between two readings only statistics requests came, each answered (by then)."""
    d = delta(before, after)
    return d["frames_in"] == d["requests"] == d["sent"] + d["read_back"] and not _moved(
        before, after
    )


def delta(before: dict, after: dict) -> dict:
    return {k: after[k] - before[k] for k in after}


def silent_losses(d: dict) -> list[str]:
    """What the counter deltas over a settled interval say was lost without a count."""
    from fuzz.mpy import received_problems

    out = received_problems(d)
    if outgoing(d) != delivered(d):
        out.append(f"frames queued {outgoing(d)} != sent + read back + expired {delivered(d)}")
    if events_open(d):
        out.append(f"events queued {d['events_queued']} != acked + dropped after tries")
    return out
