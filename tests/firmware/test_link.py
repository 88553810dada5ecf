"""The IPMB link: IRQ receive ring, outbox order, readback protocol, master write."""

import asyncio
import time

import micropython
from fakes import CRITICAL, FakeController, FakeTarget, frame

from ipmc.link import FREE, KIND_REQUEST, QUEUED, SENT, IPMBLink, Outbox


def _link(nack=False):
    t = FakeTarget()
    link = IPMBLink(t, FakeController(nack), 0x72, critical=CRITICAL)
    t.handler = link._irq
    return t, link


def _queue(link, data):
    i = link.outbox.claim()
    link.outbox.bufs[i][: len(data)] = data
    link.outbox.commit(i, len(data))
    link.queued(i)
    return i


def _master_only(link, dest=0x10):
    """As after a failed master write to dest: its frames wait for readback at once."""
    link._master_only, link._master_only_at = dest, time.ticks_ms()


def test_irq_receive_path_does_not_allocate():
    t, link = _link()
    raw = frame(0x72, 0x06, 0x01)
    t.controller_writes(raw[1:], heap_locked=True)
    rq = link.rx[0]
    assert link._rx_count == 1 and rq.length == len(raw)
    assert bytes(rq.buf[: rq.length]) == raw and rq.valid()


def test_oversize_write_is_drained_and_counted():
    t, link = _link()
    t.controller_writes(bytes(40))
    assert link._rx_count == 0 and link.stats["oversize"] == 1
    t.controller_writes(frame(0x72, 0x06, 0x01)[1:])
    assert link._rx_count == 1


def test_receive_ring_overflow_is_counted():
    t, link = _link()
    for _ in range(6):
        t.controller_writes(frame(0x72, 0x06, 0x01)[1:])
    assert link._rx_count == 4 and link.stats["rx_overflow"] == 2


def test_readback_returns_length_then_frame_oldest_first():
    t, link = _link()
    _master_only(link)
    _queue(link, b"\x20\x1c\xc4\x72\x04\x01\x00\x8a")
    _queue(link, b"\x20\x1c\xc4\x72\x08\x01\x00\x86")
    got = t.controller_reads(10, heap_locked=True)
    assert got == b"\x08\x20\x1c\xc4\x72\x04\x01\x00\x8a\xff"
    assert link.stats["read_back"] == 1
    assert t.controller_reads(10)[5] == 0x08  # the second frame, seq 2
    assert t.controller_reads(3) == b"\x00\xff\xff"  # nothing waits


def test_readback_of_exactly_the_frame_is_delivered_on_rp2():
    t, link = _link()
    _master_only(link)
    i = _queue(link, b"\x20\x1c\xc4\x72\x04\x01\x00\x8a")
    t.controller_reads(9)  # rp2's extra READ_REQ proves the last byte was clocked
    assert link.outbox.state[i] == FREE


def test_readback_cut_short_keeps_the_frame():
    t, link = _link()
    _master_only(link)
    i = _queue(link, b"\x20\x1c\xc4\x72\x04\x01\x00\x8a")
    assert t.controller_reads(1) == b"\x08"
    assert link.outbox.state[i] == QUEUED and link.stats["readback_partial"] == 1
    assert t.controller_reads(8) == b"\x08\x20\x1c\xc4\x72\x04\x01\x00"  # one short
    assert link.outbox.state[i] == QUEUED
    assert t.controller_reads(10)[1:9] == b"\x20\x1c\xc4\x72\x04\x01\x00\x8a"
    assert link.outbox.state[i] == FREE


def test_frames_for_a_host_that_takes_master_writes_are_not_read_back():
    t, link = _link()
    i = _queue(link, b"\x20\x1c\xc4\x72\x04\x01\x00\x8a")
    assert t.controller_reads(3) == b"\x00\xff\xff"  # another host reads: nothing for it
    assert link.outbox.state[i] == QUEUED and link._next_to_send() == i


def test_outbox_is_bounded():
    ob = Outbox(3, CRITICAL)
    assert [ob.claim() for _ in range(4)] == [0, 1, 2, -1]


def test_master_write_sends_to_rq_sa_and_frees_the_slot():
    t, link = _link()
    i = _queue(link, b"\x20\x1c\xc4\x72\x04\x01\x00\x8a")
    link._tx[:8] = link.outbox.bufs[i][:8]
    assert link._try_write(0x10, 8) == SENT
    assert link.controller.writes == [(0x10, b"\x1c\xc4\x72\x04\x01\x00\x8a")]


def test_frame_to_a_nacking_destination_is_parked_for_readback():
    t, link = _link(nack=True)
    i = _queue(link, b"\x20\x1c\xc4\x72\x04\x01\x00\x8a")
    assert link._next_to_send() == i

    async def one_pass():
        sender = asyncio.create_task(link._sender())
        await asyncio.sleep_ms(5)
        sender.cancel()

    asyncio.run(one_pass())
    assert link.outbox.state[i] == QUEUED and link.outbox.parked[i]
    assert link._next_to_send() < 0  # no more master writes for it
    assert link.stats["send_failed"] == 1 and link.stats["send_retries"] == 0
    assert t.controller_reads(10)[1] == 0x20  # readback still has it


def test_requests_of_our_own_never_expire_silently():
    t, link = _link()
    i = link.outbox.claim()
    link.outbox.commit(i, 8, KIND_REQUEST)
    link.outbox.stamp[i] -= 60_000
    j = _queue(link, b"\x20\x1c\xc4\x72\x04\x01\x00\x8a")
    link.outbox.stamp[j] -= 60_000
    link._expire(link.outbox.stamp[j] + 60_000)
    assert link.outbox.state[i] == QUEUED and link.outbox.state[j] == FREE
    assert link.stats["expired"] == 1


def test_frames_to_a_master_only_host_are_readable_at_once_for_a_second():
    t, link = _link(nack=True)
    link._master_only, link._master_only_at = 0x10, time.ticks_ms()
    i = _queue(link, b"\x20\x1c\xc4\x72\x04\x01\x00\x8a")
    assert link._next_to_send() < 0  # no master write is tried
    assert link.outbox.parked[i] == 2 and link.outbox.state[i] == QUEUED
    link._master_only_at = time.ticks_add(time.ticks_ms(), -1500)  # the memory ends
    assert not link._is_master_only(0x10)
    j = _queue(link, b"\x20\x1c\xc4\x72\x08\x01\x00\x86")
    assert link._next_to_send() == j  # a new frame is written again


def test_sender_delivers_retries_and_parks_without_allocating():
    # Under load: a busy bus (EIO: lost arbitration or a data NACK) costs retries with
    # back-off, a master-only host (ENODEV) parks the frame for readback, and a host
    # reads it back; between frames the sender waits. None of it may allocate.
    t = FakeTarget()
    ctl = FakeController(record=False)
    link = IPMBLink(t, ctl, 0x72, critical=CRITICAL)
    t.handler = link._irq
    frame_ = b"\x20\x1c\xc4\x72\x04\x01\x00\x8a"
    busy, nack = OSError(5), OSError(19)
    done = []

    async def main():
        sender = asyncio.create_task(link._sender())
        await asyncio.sleep_ms(5)  # first waits outside the lock (asyncio's own set-up)
        micropython.heap_lock()
        try:
            for _ in range(3):  # delivered, then waiting again
                _queue(link, frame_)
                await asyncio.sleep_ms(2)
            ctl.fail = busy
            _queue(link, frame_)
            await asyncio.sleep_ms(20)  # every try fails: parked
            ctl.fail = nack
            link._master_only = -1  # forget the busy host: this frame tries a write too
            _queue(link, frame_)
            await asyncio.sleep_ms(5)
            t.controller_reads(2 + len(frame_), copy=False)
            got = t.tx[0]
            t.controller_reads(2 + len(frame_), copy=False)
            got2 = t.tx[0]
        finally:
            micropython.heap_unlock()
        done.append((got, got2, sender.done()))
        sender.cancel()

    asyncio.run(main())
    (got, got2, sender_died) = done[0]
    assert not sender_died, "the sender task ended (an allocation under heap_lock?)"
    assert ctl.count == 3 and link.stats["sent"] == 3
    assert link.stats["send_retries"] >= 1 and link.stats["send_failed"] == 2
    assert got == got2 == len(frame_) and link.stats["read_back"] == 2
    assert link.outbox.pending() == 0


def test_receive_wake_ups_cost_less_than_asyncio_wait():
    # Each frame after a quiet spell wakes the receive task. ThreadSafeFlag.wait()
    # makes a coroutine per wait; the link's own wait does without (asyncio's I/O
    # queue still makes its small entry, which no task can avoid).
    import gc

    t, link = _link()
    raw = frame(0x72, 0x06, 0x01)[1:]
    handled = [0, 0]
    ref_flag = asyncio.ThreadSafeFlag()

    def on_frame(rq):
        handled[0] += 1

    async def reference():
        while True:
            await ref_flag.wait()
            handled[1] += 1

    async def frames(n, wake):
        gc.collect()
        before = gc.mem_alloc()
        for _ in range(n):
            wake()
            await asyncio.sleep_ms(2)
        return (gc.mem_alloc() - before) / n

    async def main():
        asyncio.create_task(link._receiver(on_frame))
        asyncio.create_task(reference())
        await asyncio.sleep_ms(2)
        ours = await frames(20, lambda: t.controller_writes(raw))
        theirs = await frames(20, ref_flag.set)
        return ours, theirs

    ours, theirs = asyncio.run(main())
    assert handled == [20, 20]
    assert ours < theirs, (ours, theirs)
