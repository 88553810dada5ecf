"""The IPMB link: frames in from an I2CTarget, frames out by master write or readback.

    link = IPMBLink(target, controller, 0x72, critical=wiring.CRITICAL)
    link.start(handle_frame)          # asyncio tasks: receive + send
    i = link.outbox.claim()           # -1 when full
    ... fill link.outbox.bufs[i] ...
    link.outbox.commit(i, length)

Receive. Hard IRQ handlers copy the written bytes into a staging buffer and, at the
end of the write, into the next free slot of a ring of Request objects, then set a
ThreadSafeFlag. A write longer than an IPMB frame is drained and dropped; a frame
arriving with the ring full is dropped; both are counted (the requester retries).

Send. Every outgoing frame waits in a slot of the outbox. Two ways take it out,
whichever comes first:
  * master write: the sender task writes the frame to its destination (frame[0] >> 1)
    through the I2C controller, retrying a bounded number of times;
  * readback, for hosts that cannot be I2C targets (FTDI MPSSE): an I2C *read* of
    our address returns [length, frame...] for the oldest frame waiting for readback,
    or [0] when none is waiting, then 0xFF. A frame waits for readback once its
    master write has failed, or at once when its destination failed just before;
    frames for a host that takes master writes are never handed to a reader. A frame
    counts as delivered only when the host has clocked all of it and one byte more
    (hosts read 2 + length bytes): rp2 raises one READ_REQ after the final NACK that
    is never clocked, so only a READ_REQ beyond the frame proves its last byte went
    out. A read cut short leaves the frame queued; at worst a host sees a frame
    twice, never loses one.
Each frame gets one master-write attempt (with bounded retries for lost arbitration
or data NACKs); when its destination NACKs the address (a master-only host), the
frame is parked for readback and costs no more bus time. For a second after such a
failure, frames to that destination are parked at once, so a master-only host can
read them back without waiting for a doomed write; a host that becomes an I2C target
is written to again within that second. Responses nobody collects expire after
IPMB's sequence lifetime (5 s), counted; slots are never reused silently.
A fault while one frame is handled or written (other than the controller's OSError) is
counted (task_errors); the frame's slot is freed or parked for readback, and the tasks
go on.

Shared state between IRQ and tasks: slot state bytes and a few ints. The IRQ only
moves a slot QUEUED -> READING -> FREE/QUEUED and touches the staging buffers; the
tasks move FREE -> FILLING -> QUEUED and QUEUED -> SENDING -> FREE/QUEUED inside
disable_irq() sections, so no slot is ever taken by both paths. The link is given the
machine objects (target, controller) and the critical section `critical`, the pair
(disable_irq, enable_irq) (ipmc.wiring.CRITICAL); the target's IRQ flags are read
from the target object (its class constants I2CTarget.IRQ_*).
"""

import asyncio
import time

from micropython import const

from . import counters, faults
from .ipmb import MAX_FRAME, Request

FREE = const(0)
FILLING = const(1)
QUEUED = const(2)
READING = const(3)
SENDING = const(4)

MOVING = const(0)  # Outbox.withdraw's answers
GONE = const(1)
TAKEN_BACK = const(2)

KIND_RESPONSE = const(0)
KIND_REQUEST = const(1)  # our own requests (events): never expire silently

_ORDER_MASK = const(0x3FFFFFFF)
_ORDER_HALF = const(0x20000000)
RESPONSE_LIFETIME_MS = const(5000)
_RX_SLOTS = const(4)
_ENODEV = const(19)
_MASTER_ONLY_MEMORY_MS = const(1000)
_PARKED_FAILED = const(1)  # its own master write failed
_PARKED_MEMORY = const(2)  # its destination failed just before: tried once the memory ends
SENT = const(0)
RETRY = const(1)  # lost arbitration, a data NACK, EIO: the bus was busy
GIVE_UP = const(2)  # an address NACK that says so (ENODEV): a master-only host


class _EventWait:
    """`await w` until event is set, allocating nothing; made once, awaited again and again.

    asyncio's Event.wait() is a coroutine: every call makes a generator on the heap,
    and the sender waits once per frame when traffic is light. This iterator does what
    that coroutine does (park the task on the event's queue, yield once), and stops
    with one StopIteration made beforehand, as asyncio's own sleep_ms() does. One
    waiting task per instance; the task must not be cancelled while it waits.
    """

    def __init__(self, event):
        self._event = event
        self._stop = StopIteration()
        self._parked = False

    def __iter__(self):
        return self

    def __next__(self):
        ev = self._event
        if not self._parked and not ev.state:
            self._parked = True
            task = asyncio.core.cur_task
            ev.waiting.push(task)
            task.data = ev.waiting  # so that the scheduler can take it off again
            return None
        self._parked = False  # set (or woken by set()): done
        self._stop.__traceback__ = None
        raise self._stop


class _FlagWait:
    """`await w` until an asyncio.ThreadSafeFlag is set (then clears it), with no
    coroutine made per wait; one waiting task per instance, as _EventWait.

    What asyncio's ThreadSafeFlag.wait() does: queue the task on the poller for the
    flag, yield until the poller wakes it. asyncio's I/O queue still makes a small
    entry per wait (a list); this takes out the rest.
    """

    def __init__(self, flag):
        self._flag = flag
        self._stop = StopIteration()

    def __iter__(self):
        return self

    def __next__(self):
        f = self._flag
        if not f.state:  # not set (or a wake-up for a set() already taken): wait
            asyncio.core._io_queue.queue_read(f)
            return None
        f.state = 0
        self._stop.__traceback__ = None
        raise self._stop


def _before(a, b):
    """a was queued before b (wrap-aware)."""
    d = (b - a) & _ORDER_MASK
    return 0 < d < _ORDER_HALF


class Outbox:
    """Bounded slots of outgoing frames, oldest first."""

    def __init__(self, slots, critical):
        self.disable_irq, self.enable_irq = critical
        self.size = slots
        self.bufs = [bytearray(MAX_FRAME) for _ in range(slots)]
        self.lens = bytearray(slots)
        self.state = bytearray(slots)
        self.kind = bytearray(slots)
        self.order = [0] * slots
        self.stamp = [0] * slots
        self.parked = bytearray(slots)  # _PARKED_FAILED / _PARKED_MEMORY: readback only
        self._next = 0

    def claim(self):
        """A FREE slot for the caller to fill, or -1 when all are in use."""
        st = self.disable_irq()
        try:
            for i in range(self.size):
                if self.state[i] == FREE:
                    self.state[i] = FILLING
                    return i
            return -1
        finally:
            self.enable_irq(st)

    def commit(self, i, length, kind=KIND_RESPONSE):
        self.lens[i] = length
        self.kind[i] = kind
        self.stamp[i] = time.ticks_ms()
        self.parked[i] = 0
        self._next = (self._next + 1) & _ORDER_MASK
        self.order[i] = self._next
        self.state[i] = QUEUED

    def oldest(self, state=QUEUED, parked_only=False):
        best = -1
        for i in range(self.size):
            if self.state[i] != state or (parked_only and not self.parked[i]):
                continue
            if best < 0 or _before(self.order[i], self.order[best]):
                best = i
        return best

    def withdraw(self, i, order):
        """Take slot i (committed as `order`) back while it waits: TAKEN_BACK (the frame
        was never delivered: the caller counts it), GONE (delivered or freed already), or
        MOVING (false: being sent or read back now)."""
        st = self.disable_irq()
        try:
            if self.order[i] != order:
                return GONE  # delivered, slot reused since
            s = self.state[i]
            if s == QUEUED:
                self.state[i] = FREE
                return TAKEN_BACK
            return GONE if s == FREE else MOVING
        finally:
            self.enable_irq(st)

    def pending(self):
        n = 0
        for i in range(self.size):
            if self.state[i] != FREE:
                n += 1
        return n


class IPMBLink:
    def __init__(
        self, target, controller, own_sa, *, critical, outbox_slots=8, send_tries=2, stats=None
    ):
        self.target = target
        self.controller = controller
        self.own_sa = own_sa
        self.disable_irq, self.enable_irq = critical
        self.outbox = Outbox(outbox_slots, critical)
        self.send_tries = send_tries
        self.stats = stats if stats is not None else counters.Counters()
        # receive staging (IRQ side)
        self._stage = bytearray(MAX_FRAME)
        self._stage_views = [memoryview(self._stage)[i:] for i in range(MAX_FRAME)]
        self._sink = bytearray(8)
        self._stage_len = 0
        self._oversize = False
        self.rx = [Request() for _ in range(_RX_SLOTS)]
        self._rx_head = 0  # next slot the IRQ fills
        self._rx_tail = 0  # next slot the task handles
        self._rx_count = 0
        self._rx_flag = asyncio.ThreadSafeFlag()
        self._rx_wait = _FlagWait(self._rx_flag)
        # readback staging (IRQ side)
        self._rb = bytearray(MAX_FRAME + 1)
        self._rb_len = 0
        self._rb_off = 0
        self._rb_slot = -1
        self._one = bytearray(1)
        # sending
        self._tx = bytearray(MAX_FRAME)
        self._tx_views = [memoryview(self._tx)[1:n] for n in range(MAX_FRAME + 1)]
        self._tx_flag = asyncio.Event()
        self._tx_wait = _EventWait(self._tx_flag)
        self._master_only = -1  # a destination that just NACKed its address, or -1
        self._master_only_at = 0
        self._irq_handler = self._irq  # bound once, before the IRQ is armed

    # --- IRQ side (hard): no allocation --------------------------------------------------

    def _irq(self, t):
        flags = t.irq().flags()
        if flags & t.IRQ_WRITE_REQ:
            if self._stage_len < MAX_FRAME - 1:
                self._stage_len += t.readinto(self._stage_views[self._stage_len + 1])
            else:
                while t.readinto(self._sink):
                    self._oversize = True
        elif flags & t.IRQ_END_WRITE:
            self._end_write()
        elif flags & t.IRQ_ADDR_MATCH_READ:
            self._start_readback()
        elif flags & t.IRQ_READ_REQ:
            if self._rb_off < self._rb_len:
                self._one[0] = self._rb[self._rb_off]
            else:
                self._one[0] = 0xFF
            self._rb_off += 1
            t.write(self._one)
        elif flags & t.IRQ_END_READ:
            self._end_readback()

    def _end_write(self):
        n = self._stage_len + 1  # with our own address byte in front
        self._stage_len = 0
        if self._oversize:
            self._oversize = False
            self.stats["oversize"] += 1
            return
        if n <= 1:
            return
        if self._rx_count == _RX_SLOTS:
            self.stats["rx_overflow"] += 1
            return
        rq = self.rx[self._rx_head]
        b = rq.buf
        s = self._stage
        b[0] = self.own_sa
        for i in range(1, n):
            b[i] = s[i]
        rq.length = n
        self._rx_head = (self._rx_head + 1) % _RX_SLOTS
        self._rx_count += 1
        self._rx_flag.set()

    def _start_readback(self):
        i = self.outbox.oldest(QUEUED, parked_only=True)
        self._rb_off = 0
        self._rb_slot = i
        if i < 0:
            self._rb[0] = 0
            self._rb_len = 1
            return
        self.outbox.state[i] = READING
        n = self.outbox.lens[i]
        buf = self.outbox.bufs[i]
        self._rb[0] = n
        for k in range(n):
            self._rb[k + 1] = buf[k]
        self._rb_len = n + 1

    def _end_readback(self):
        i = self._rb_slot
        self._rb_slot = -1
        if i < 0:
            return
        if self._rb_off > self._rb_len:
            self.outbox.state[i] = FREE
            self.stats["read_back"] += 1
        else:
            self.outbox.state[i] = QUEUED
            self.stats["readback_partial"] += 1

    # --- task side -----------------------------------------------------------------------

    def start(self, on_frame):
        """Arm the target IRQ and start the receive and send tasks."""
        t = self.target
        t.irq(
            self._irq_handler,
            t.IRQ_WRITE_REQ
            | t.IRQ_END_WRITE
            | t.IRQ_ADDR_MATCH_READ
            | t.IRQ_READ_REQ
            | t.IRQ_END_READ,
            hard=True,
        )
        return (
            faults.task(self.stats, self._receiver, on_frame),
            faults.task(self.stats, self._sender),
            faults.task(self.stats, self._housekeeping),
        )

    async def _receiver(self, on_frame):
        while True:
            while self._rx_count:  # first: a restarted task finds frames still waiting
                rq = self.rx[self._rx_tail]
                self.stats["frames_in"] += 1
                try:
                    on_frame(rq)
                except Exception as e:  # one frame's fault: its slot is freed all the same
                    faults.caught(self.stats, "task_errors", e)
                st = self.disable_irq()
                self._rx_tail = (self._rx_tail + 1) % _RX_SLOTS
                self._rx_count -= 1
                self.enable_irq(st)
            await self._rx_wait

    def queued(self, i):
        """Slot i was committed: park it for readback if its destination is master-only,
        else wake the sender."""
        ob = self.outbox
        if self._is_master_only(ob.bufs[i][0] >> 1):
            ob.parked[i] = _PARKED_MEMORY
        else:
            self._tx_flag.set()

    def _expire(self, now):
        ob = self.outbox
        for i in range(ob.size):
            if (
                ob.state[i] == QUEUED
                and ob.kind[i] == KIND_RESPONSE
                and time.ticks_diff(now, ob.stamp[i]) > RESPONSE_LIFETIME_MS
            ):
                st = self.disable_irq()
                if ob.state[i] == QUEUED:
                    ob.state[i] = FREE
                    self.stats["expired"] += 1
                self.enable_irq(st)

    def _next_to_send(self):
        ob = self.outbox
        best = -1
        for i in range(ob.size):
            if ob.state[i] == QUEUED and not ob.parked[i]:
                if self._is_master_only(ob.bufs[i][0] >> 1):
                    ob.parked[i] = _PARKED_MEMORY  # readable at once, no doomed write
                    continue
                if best < 0 or _before(ob.order[i], ob.order[best]):
                    best = i
        return best

    def _is_master_only(self, dest):
        if dest != self._master_only:
            return False
        if time.ticks_diff(time.ticks_ms(), self._master_only_at) < _MASTER_ONLY_MEMORY_MS:
            return True
        self._master_only = -1
        return False

    async def _housekeeping(self):
        """Expire responses nobody collected; retry frames parked only by the memory."""
        ob = self.outbox
        while True:
            await asyncio.sleep_ms(250)
            self._expire(time.ticks_ms())
            if self._master_only < 0 or not self._is_master_only(self._master_only):
                woke = False
                for i in range(ob.size):
                    if ob.parked[i] == _PARKED_MEMORY:
                        ob.parked[i] = 0
                        woke = True
                if woke:
                    self._tx_flag.set()

    async def _sender(self):
        ob = self.outbox
        while True:
            i = self._next_to_send()
            if i < 0:
                self._tx_flag.clear()
                await self._tx_wait
                continue
            st = self.disable_irq()
            taken = ob.state[i] == QUEUED
            if taken:
                ob.state[i] = SENDING
            self.enable_irq(st)
            if not taken:
                continue
            n = ob.lens[i]
            src = ob.bufs[i]
            for k in range(n):
                self._tx[k] = src[k]
            dest = src[0] >> 1
            # Bounded tries; the back-off sleeps in here, as a call of a coroutine would
            # allocate one on every frame (sleep_ms itself allocates nothing).
            sent = False
            for attempt in range(self.send_tries):
                result = self._try_write(dest, n)
                if result != RETRY:
                    sent = result == SENT
                    break
                self.stats["send_retries"] += 1
                if attempt:  # the controller waits for a free bus itself; back off on repeats
                    await asyncio.sleep_ms(1 << attempt)
            if sent:
                ob.state[i] = FREE
                self.stats["sent"] += 1
                if dest == self._master_only:
                    self._master_only = -1
            else:
                self.stats["send_failed"] += 1
                if ob.kind[i] == KIND_RESPONSE:  # a requester that NACKs is master-only;
                    self._master_only = dest  # an event receiver may just be absent
                    self._master_only_at = time.ticks_ms()
                ob.parked[i] = _PARKED_FAILED
                ob.state[i] = QUEUED  # waits for readback (responses expire, counted)

    def _try_write(self, dest, n):
        """One master write of self._tx[1:n] to dest: SENT, RETRY or GIVE_UP."""
        try:
            if self.controller.writeto(dest, self._tx_views[n]) == n - 1:
                return SENT
        except OSError as e:
            # ENODEV: address NACK (bit-banged/other ports): a master-only host.
            # rp2 reports an address NACK and lost arbitration alike as EIO: retry.
            if e.errno == _ENODEV:
                return GIVE_UP
        except Exception as e:  # the controller's own fault: the frame waits for readback
            faults.caught(self.stats, "task_errors", e)
            return GIVE_UP
        return RETRY
