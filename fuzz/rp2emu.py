"""The slice of the random and mutated frames on rp2emu: the official MicroPython rp2 image
on the emulated RP2040, frames written by a controller on the virtual IPMB into the
chip's real I2C target path (machine.I2CTarget, the firmware's IRQ handler and ring).

    r = run_slice(sim.socket_path, frames=2000, seconds=None, seed=1, seeds_file=path)
    r["problems"]   # [] when every frame is accounted for

The frames are fuzz.mutations' (the generator the unix port run uses, from the same
corpus seeds). Everything the host writes to the satellite, the counter reads included,
goes through one counted controller; an I2C target at every other 7-bit address takes
what the satellite writes (responses to whatever requester address a frame names, and
Platform Events, which it answers as an event receiver), so no answer NACKs for
want of a listener. Frames that are valid
requests to reset the chip, change its firewall policy or run an HPM.1 upgrade are
left out (counted: `skipped`): a reboot would restart the counters mid-slice; so are
those that make the satellite write to its own address (see skipped()).

The accounting over the slice (counter deltas between two settled reads):
  written = frames_in + oversize + rx_overflow (over frames_in's page of counters);
  received = malformed + not for us + requests + answers to our events (fuzz.mpy);
  frames queued to send = sent + read back + expired + withdrawn (soak.hosts);
  what the host's targets received = sent;
and the live heap (Get Heap Info, collected first) before and after.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

from satmc.errors import BusError, BusNackError, NoResponseError
from satmc.ipmi import codes
from satmc.ipmi.client import read_heap
from satmc.ipmi.messages import COUNTER_NAMES, COUNTERS_PER_PAGE, STATISTICS_PAGES
from satmc.vbus.client import BusController, BusTarget

from .frames import request_frame
from .mutations import mutate, seeds

ADDRESS = 0x72
HOST = 0x20  # the requester address of the counter reads
# valid requests left out of the slice: (netFn, cmd), or (netFn, None) for a whole netFn
# (and those that make the satellite write to itself: see skipped())
SKIP = {
    (codes.NETFN_APP, codes.CMD_COLD_RESET),
    (codes.NETFN_APP, codes.CMD_WARM_RESET),
    (codes.NETFN_APP, codes.CMD_SET_COMMAND_ENABLES),
    (codes.NETFN_APP, codes.CMD_SET_COMMAND_SUBFUNCTION_ENABLES),
    (codes.NETFN_APP, 0x64),  # Set Configurable Command (the firewall policy on flash)
    (codes.NETFN_GROUP, None),  # HPM.1: activation and rollback reset the chip
}


def skipped(f: bytes, address: int = ADDRESS) -> bool:
    """Is f (the bytes after our address) a valid request the slice leaves out?

    Besides SKIP: a request naming the satellite (or the general call) as its requester,
    and a Set Event Receiver naming either. The chip's controller would write the
    response or its events to its own I2C target, where no host target counts them (the satellite
    counts them in frames_in all the same), so the accounting could not close."""
    if len(f) < 6 or (address + f[0] + f[1]) & 0xFF or sum(f[2:]) & 0xFF:
        return False
    netfn = f[0] >> 2
    # 7-bit: 0x73 goes to the same target as 0x72; 0x00 and 0x01 are the general call,
    # which the satellite's own target takes too
    to_itself = (address >> 1, 0)
    if netfn % 2 == 0 and f[2] >> 1 in to_itself:
        return True
    if (netfn, f[4]) == (codes.NETFN_SENSOR, codes.CMD_SET_EVENT_RECEIVER) and len(f) > 6:
        if f[5] >> 1 in to_itself:
            return True
    return (netfn, f[4]) in SKIP or (netfn, None) in SKIP


class Host:
    """The one controller that writes to the satellite (counted), the targets that take
    what it writes, and `raw()` for satmc.ipmi.client's counter and heap reads."""

    def __init__(self, socket_path: str, address: int = ADDRESS, timeout: float = 2.0):
        self.addr7 = address >> 1
        self.address = address
        self.timeout = timeout
        self.ctl = BusController(socket_path, "ipmb", name="fuzz")
        self.written = 0  # frames put on the bus to the satellite (address ACKed)
        self.nacked = 0  # frames whose address the satellite NACKed (never received)
        self.cut = 0  # of the written, frames the satellite NACKed part of
        self.received = 0  # frames the satellite wrote to our targets
        self.marks: list[int] = []  # written up to each answered Get Statistics page
        self.received_marks: list[int] = []  # received when each page's answer came
        self.received_mark = 0
        self._seq = 0
        self._want: tuple | None = None
        self._got: bytes | None = None
        self._cond = threading.Condition()
        self.events_answered = 0
        self._write_lock = threading.Lock()
        self._answers: queue.Queue = queue.Queue()
        self._answerer = threading.Thread(target=self._answer, daemon=True)
        self._answerer.start()
        others = [a for a in range(0x08, 0x78) if a != self.addr7]
        self.target = BusTarget(socket_path, "ipmb", others, self._on_message)

    def close(self) -> None:
        self._answers.put(None)
        self._answerer.join(10)
        self.target.close()
        self.ctl.close()

    def _answer(self) -> None:
        """Answer the satellite's Platform Events (whatever receiver address a frame set),
        as an event receiver does, so they settle instead of being retried and dropped;
        the answers are written, and counted, like any frame."""
        while (f := self._answers.get()) is not None:
            rsp = request_frame(
                f[3], (f[1] >> 2 | 1) << 2 | f[4] & 3, f[0], f[4] & 0xFC | f[1] & 3, f[5], b"\0"
            )
            if self.write(rsp[1:]):
                self.events_answered += 1

    def _on_message(self, addr7: int, data: bytes) -> None:
        with self._cond:
            self.received += 1
            frame = bytes((addr7 << 1,)) + data
            if (
                len(frame) >= 7
                and frame[3] == self.address
                and (frame[1] >> 2, frame[5]) == (codes.NETFN_SENSOR, codes.CMD_PLATFORM_EVENT)
            ):
                self._answers.put(frame)
            w = self._want
            if w and len(frame) >= 8 and (frame[0], frame[1] >> 2, frame[4] >> 2, frame[5]) == w:
                self._got = frame
                self.received_mark = self.received
                self._cond.notify_all()

    def write(self, f: bytes) -> int:
        """Write f to the satellite; how many frames are written so far, this one included
        (0: its address was NACKed). One writer at a time, so the count is the bus order."""
        with self._write_lock:
            try:
                n = self.ctl.write(self.addr7, f)
            except BusNackError:
                self.nacked += 1
                return 0
            self.written += 1
            if n != len(f):
                self.cut += 1
            return self.written

    def raw(self, netfn: int, cmd: int, data: bytes = b"", lun: int = 0) -> tuple[int, bytes]:
        """A request from HOST through the counted controller; (cc, data). Retried on a
        timeout (each try is written and counted like any frame)."""
        for attempt in range(8):
            self._seq = (self._seq + 1) & 0x3F
            f = request_frame(self.address, netfn << 2 | lun, HOST, self._seq << 2, cmd, data)
            with self._cond:
                self._want, self._got = (HOST, netfn | 1, self._seq, cmd), None
            mark = self.write(f[1:])
            if not mark:
                time.sleep(0.05)
                continue
            # a satellite still draining a backlog answers late: wait longer each try
            deadline = time.monotonic() + self.timeout * min(2**attempt, 8)
            with self._cond:
                while self._got is None and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())
                rsp, self._want = self._got, None
            if rsp is not None:
                if (netfn, cmd) == (codes.NETFN_OEM, codes.CMD_GET_STATISTICS):  # mark the page
                    self.marks.append(mark)
                    self.received_marks.append(self.received_mark)
                return rsp[6], bytes(rsp[7:-1])
        raise NoResponseError(f"no answer from 0x{self.address:02x} to {netfn:#04x}/{cmd:#04x}")

    def counters(self) -> tuple[dict, int, int]:
        """The counters once the satellite is idle (soak.hosts.settled), with the written
        mark of the page holding frames_in and the received mark of the one holding sent."""
        from soak.hosts import settled

        self.marks, self.received_marks = [], []
        c = settled(self, timeout=30 * self.timeout)
        pages = STATISTICS_PAGES
        marks, received = self.marks[-pages:], self.received_marks[-pages:]
        return (
            c,
            marks[COUNTER_NAMES.index("frames_in") // COUNTERS_PER_PAGE],
            received[COUNTER_NAMES.index("sent") // COUNTERS_PER_PAGE],
        )


def run_slice(
    socket_path: str,
    seeds_file: Path,
    frames: int | None = None,
    seconds: float | None = None,
    seed: int = 1,
    timeout: float = 2.0,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Write `frames` frames (or as many as fit in `seconds`) to the satellite on the bus at
    socket_path; the accounting, the heap before and after, the rate, and problems."""
    from soak.hosts import delivered, outgoing

    from .mpy import received_problems

    corpus = seeds(str(seeds_file))
    r = random.Random(seed)
    host = Host(socket_path, timeout=timeout)
    try:
        heap0 = read_heap(host, collect=True)
        c0, w0, rx0 = host.counters()
        start_written = host.written
        tried = skip = empty = 0
        t0 = time.monotonic()
        while (frames is None or tried < frames) and (
            seconds is None or time.monotonic() - t0 < seconds
        ):
            f = bytes(mutate(corpus[r.getrandbits(16) % len(corpus)], r))
            tried += 1
            if not f:
                empty += 1
            elif skipped(f):
                skip += 1
            else:
                host.write(f)
            if progress and tried % 1000 == 0:
                progress(tried)
        took = time.monotonic() - t0
        blast = host.written - start_written
        try:
            c1, w1, rx1 = host.counters()
            heap1 = read_heap(host, collect=True)
        except NoResponseError as e:  # reported, not raised: the figures so far stand
            return {
                "frames": tried,
                "written": blast,
                "skipped": skip,
                "seconds": took,
                "rate": round(tried / took, 1) if took else None,
                "counters": {},
                "heap": {"before": heap0},
                "problems": [f"after the slice: {e}"],
            }
    finally:
        host.close()
    d = {k: c1[k] - c0[k] for k in c1 if k in c0}
    problems = []
    written = w1 - w0
    if written != d["frames_in"] + d["oversize"] + d["rx_overflow"]:
        problems.append(
            f"written {written} != frames_in {d['frames_in']} + oversize {d['oversize']}"
            f" + rx_overflow {d['rx_overflow']}"
        )
    problems += received_problems(d)
    if outgoing(d) != delivered(d):
        problems.append(
            f"frames queued {outgoing(d)} != sent + read back + expired {delivered(d)}"
        )
    if rx1 - rx0 != d["sent"]:
        problems.append(
            f"the host's targets received {rx1 - rx0} frames, the satellite sent {d['sent']}"
        )
    return {
        "frames": tried,
        "written": blast,
        "skipped": skip,
        "empty": empty,
        "nacked": host.nacked,
        "events_answered": host.events_answered,
        "cut": host.cut,
        "seconds": round(took, 1),
        "rate": round(tried / took, 1) if took else None,
        "counters": d,
        "heap": {"before": heap0, "after": heap1},
        "problems": problems,
    }


def flashed_image(cache: Path, board: str = "pico_sim") -> Path:
    """The flash image of `board` with its bundle deployed by `satmc flash` (made once,
    kept in cache, as tests/test_rp2emu.py does)."""
    import subprocess
    import sys

    from satmc.sim.rp2emu import provision

    def deploy(sim):
        exe = str(Path(sys.executable).parent / "satmc")
        r = subprocess.run(
            [exe, "flash", "--board", board, "--port", sim.serial.pty_path]
            + ["--verify-timeout", str(20 * sim.time_factor)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if r.returncode:
            raise BusError(f"satmc flash onto the emulated board failed: {r.stdout}{r.stderr}")

    return provision(board, cache, deploy)
