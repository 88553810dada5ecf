"""The fault matrix, injected at random while the satellite serves at full rate and its
Board Temp crosses a threshold again and again.

    r = run(sim, seconds, seed)    # dict: faults applied, recoveries, counters, problems

A slave-capable BMC at 0x20 reads FRU data as fast as it is answered and answers every
Platform Event (satmc.eventlog.EventReceiver); meanwhile one fault at a time, drawn at
random from MATRIX, hits the IPMB or the board's private bus (the vbus fault rules of
hil/test_faults.py, the AT24 model's write cycle, a Set Event Receiver to an address
nobody answers until an event is given up on). After each fault the injector waits
until the host has had RECOVERED calls answered in a row: that time is the fault's
recovery. At the end (faults cleared,
the firmware settled) nothing may be lost without a count: every event acknowledged or
counted dropped, every response delivered or counted expired (soak.hosts.silent_losses),
every response frame the host took was the answer to its own request, and every event
the firmware counts acknowledged reached the receiver.
"""

from __future__ import annotations

import random
import threading
import time

from satmc.errors import SatmcError
from satmc.eventlog import EventReceiver
from satmc.ipmi.client import read_counters, set_event_receiver, write_fru_data
from satmc.sim.stimulus import set_values

from .hosts import Host, delta, settled, silent_losses

SAT7, HOST7, EEPROM7 = 0x39, 0x10, 0x50  # the satellite, the BMC, the FRU EEPROM (7-bit)
RECOVERED = 20  # answered calls in a row that count as serving again
MATRIX = (
    "nack-burst",
    "nack-response",
    "corrupt-request",
    "corrupt-response",
    "arb-lost",
    "stuck-bus",
    "slow-target",
    "absent-receiver",
    "busy-eeprom",
)


def retrying(fn, seconds: float = 30.0):
    """A control action through the very bus under fault: tried until it gets through."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return fn()
        except SatmcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Injector:
    """The matrix's faults on one satellite. `sim` carries the IPMB's control ops (a
    Simulator, or a ChassisSimulator's backplane), `board` the satellite's own (its
    private bus and device models; `sim` itself for a single board); `sat` is a host's
    connection to it, `ref` its FRU image (busy-eeprom writes its own bytes back), `sat7`
    and `host7` the 7-bit addresses of the satellite and of its event receiver, the BMC
    at `receiver`."""

    def __init__(
        self,
        sim,
        sat,
        ref: bytes,
        rng: random.Random,
        board=None,
        sat7: int = SAT7,
        host7: int = HOST7,
        receiver: int = 0x20,
    ):
        self.sim, self.sat, self.ref, self.rng = sim, sat, ref, rng
        self.board = board if board is not None else sim
        self.sat7, self.host7, self.receiver = sat7, host7, receiver

    def fault(self, rule: dict, bus: str = "ipmb") -> None:
        (self.sim if bus == "ipmb" else self.board).control("fault", bus=bus, rule=rule)

    def apply(self, kind: str) -> float:
        """Inject one fault; returns the seconds it lasts (0: it is over once fired)."""
        r = self.rng
        if kind == "nack-burst":
            self.fault({"kind": "nack", "addr": self.sat7, "count": r.randint(1, 6)})
        elif kind == "nack-response":  # the BMC does not ACK: responses wait, then expire
            self.fault({"kind": "nack", "addr": self.host7, "count": r.randint(1, 4)})
        elif kind == "corrupt-request":
            self.fault({"kind": "corrupt", "addr": self.sat7, "index": r.randint(1, 6), "xor": 1})
        elif kind == "corrupt-response":
            self.fault({"kind": "corrupt", "addr": self.host7, "index": r.randint(1, 8), "xor": 4})
        elif kind == "arb-lost":
            self.fault({"kind": "arb_lost", "count": r.randint(1, 3)})
        elif kind == "stuck-bus":
            seconds = r.uniform(0.3, 1.2)
            self.fault({"kind": "stuck", "seconds": seconds})
            return seconds
        elif kind == "slow-target":
            self.fault({"kind": "slow", "addr": self.sat7, "ms": r.randint(30, 150), "count": 5})
        elif kind == "absent-receiver":  # until an event was given up on (and counted)
            dropped = retrying(lambda: read_counters(self.sat))["events_dropped"]
            retrying(lambda: set_event_receiver(self.sat, 0x30))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                now = retrying(lambda: read_counters(self.sat))["events_dropped"]
                if now > dropped:
                    break
                time.sleep(0.1)
            retrying(lambda: set_event_receiver(self.sat, self.receiver))
        elif kind == "busy-eeprom":  # a long write cycle, and NACKs on the private bus
            self.board.control("device", name="fru0", set={"twr_ms": 200})
            off = r.randrange(0, 200, 8)
            retrying(lambda: write_fru_data(self.sat, 0, off, self.ref[off : off + 8]))
            fired = self.board.control("stats", bus="board")["fired"]["nack"]
            self.fault({"kind": "nack", "addr": EEPROM7, "count": r.randint(3, 12)}, "board")
            deadline = time.monotonic() + 20  # FRU reads (or writes) meet the NACKs
            while self.board.control("stats", bus="board")["fired"]["nack"] == fired:
                if time.monotonic() > deadline:
                    break
                retrying(lambda: write_fru_data(self.sat, 0, off, self.ref[off : off + 8]))
            self.board.control("device", name="fru0", set={"twr_ms": 5})
        return 0.0


class Schedule:
    """The order of the faults: each kind of MATRIX once, shuffled, then at random."""

    def __init__(self, rng: random.Random):
        self.rng, self.order = rng, list(MATRIX)
        rng.shuffle(self.order)

    @property
    def left(self) -> int:
        """Kinds not applied yet (the first pass is over at 0)."""
        return len(self.order)

    def next(self) -> str:
        return self.order.pop() if self.order else self.rng.choice(MATRIX)


def _serve(host: Host, stop: threading.Event, streak: list[int]) -> None:
    i = 0
    while not stop.is_set():
        count = 1 + i % 16
        if host.fru_read((i * 11) % (256 - count), count):
            streak[0] += 1
        else:
            streak[0] = 0
        i += 1


def _cross(sim, stop: threading.Event, crossings: list[int]) -> None:
    up = False
    while not stop.wait(0.4):
        up = not up
        try:
            set_values(sim.url, "temp0", temperature=62 if up else 25)
            crossings[0] += 1
        except SatmcError:
            pass


def run(sim, seconds: float, seed: int = 1) -> dict:
    rng = random.Random(seed)
    host = Host("bmc", sim.url, sim.address, 0x20)
    receiver = EventReceiver(host.sat).start()
    stop = threading.Event()
    streak, crossings = [0], [0]
    applied: list[dict] = []
    problems: list[str] = []
    try:
        set_values(sim.url, "temp0", temperature=25)
        before = settled(host.sat)
        received0 = len(receiver.received)
        threads = [
            threading.Thread(target=_serve, args=(host, stop, streak), daemon=True),
            threading.Thread(target=_cross, args=(sim, stop, crossings), daemon=True),
        ]
        for t in threads:
            t.start()
        inj = Injector(sim, host.sat, host.ref, rng)
        until = time.monotonic() + seconds
        kinds = Schedule(rng)
        while time.monotonic() < until or kinds.left:
            kind = kinds.next()
            lasts = inj.apply(kind)
            end = time.monotonic() + lasts
            streak[0] = 0
            while time.monotonic() < end or streak[0] < RECOVERED:
                if time.monotonic() > end + 60:
                    problems.append(f"{kind}: not serving again 60 s after the fault")
                    break
                time.sleep(0.01)
            applied.append({"kind": kind, "recovery_s": round(time.monotonic() - end, 3)})
        stop.set()
        for t in threads:
            t.join(30)
        for bus in ("ipmb", "board"):
            sim.control("clear_faults", bus=bus)
        set_values(sim.url, "temp0", temperature=25)
        after = settled(host.sat)
        received = len(receiver.received) - received0
    finally:
        stop.set()
        receiver.stop()
        host.close()
    d = delta(before, after)
    problems += silent_losses(d)
    problems += [e for e in host.errors if "never sent" in e or "asked" in e][:5]
    if host.counts["wrong"] or host.counts["stray"]:
        problems.append(f"responses to the wrong request: {host.counts}")
    if not d["events_acked"] <= received <= d["events_acked"] + d["events_dropped"]:
        problems.append(f"receiver got {received} events, firmware counts {d}")
    fired = {b: sim.control("stats", bus=b)["fired"] for b in ("ipmb", "board")}
    rec = sorted(a["recovery_s"] for a in applied)
    return {
        "seconds": seconds,
        "faults": applied,
        "fired": fired,
        "crossings": crossings[0],
        "events_received": received,
        "host": dict(host.counts),
        # event answers the bus refused, counted (each event's retry is answered)
        "answers_lost": host.sat.interface.responses_failed,
        # rqSeqs held back after a timed-out try (a late answer is never a new request's)
        "seqs_held": host.sat.interface.held_sequences.held,
        "recovery_s": {"max": rec[-1], "p50": rec[len(rec) // 2]} if rec else {},
        "counters": d,
        "problems": problems,
    }
