"""Platform Event Messages to the event receiver, with a bounded queue and retries.

    events.setup(mc, config)        # mc.events; Set/Get Event Receiver
    mc.events.emit(sensor_type, number, dir_type, data1, data2, data3)

Events wait in a ring of QUEUE_SLOTS entries; one is in flight at a time, as a
Platform Event request (netFn 04 cmd 02) framed into a link outbox slot with
KIND_REQUEST, so it goes out by master write or, for a master-only host, by readback.
The receiver's response arrives through mc.response_hook. A try ends after TRY_MS: a
frame still waiting in the outbox is withdrawn, and the event is tried again (same
rqSeq, so a receiver can spot duplicates) up to TRIES times, then dropped. Every
event is counted: queued, sent (first tries), retried, acked, dropped (queue full or
no answer after all tries). Receiver 0xFF disables event generation: nothing queued.
"""

import asyncio
import time

from micropython import const

from . import faults
from .dispatch import CC_INVALID_DATA, NETFN_SENSOR, command
from .ipmb import RQ_DATA, frame_request
from .link import KIND_REQUEST, TAKEN_BACK
from .mc import SUPPORT_EVENT_GENERATOR

QUEUE_SLOTS = const(16)
TRIES = const(4)
TRY_MS = const(1000)
_TICK_MS = const(20)
_EVENT_LEN = const(6)  # sensor type, number, dir|event type, data 1..3
_EVM_REV = const(0x04)
_CMD_PLATFORM_EVENT = const(0x02)
_NETFN_SENSOR_RS = const(0x05)
DISABLED = const(0xFF)


class Events:
    def __init__(self, mc, receiver=0x20, slots=QUEUE_SLOTS):
        self.mc = mc
        self.stats = mc.stats
        self.receiver = receiver
        self.receiver_lun = 0
        self.size = slots
        self.ring = bytearray(slots * _EVENT_LEN)
        self.head = 0
        self.count = 0
        self.seq = 0
        self.in_flight = False
        self.tries = 0
        self.acked = False
        self._slot = -1
        self._order = 0
        self._sent_at = 0

    def emit(self, sensor_type, number, dir_type, d1, d2, d3):
        """Queue one event; counted as dropped when the queue is full."""
        if self.receiver == DISABLED:
            return
        if self.count == self.size:
            self.stats["events_dropped"] += 1
            self.stats["events_overflow"] += 1  # never queued: told apart for reconciling
            return
        k = ((self.head + self.count) % self.size) * _EVENT_LEN
        r = self.ring
        r[k] = sensor_type
        r[k + 1] = number
        r[k + 2] = dir_type
        r[k + 3] = d1
        r[k + 4] = d2
        r[k + 5] = d3
        self.count += 1
        self.stats["events_queued"] += 1

    def on_response(self, rq):
        """mc.response_hook: the receiver's answer to the event in flight.

        A second answer to an event already acknowledged (the receiver got the frame
        twice: a master write retried after the target had taken it all) is dropped and
        counted not_for_us, as a stray is: one answer per try counts, never two."""
        if (
            self.in_flight
            and not self.acked
            and rq.netfn == _NETFN_SENSOR_RS
            and rq.cmd == _CMD_PLATFORM_EVENT
            and rq.seq == self.seq
            and rq.rq_sa == self.receiver  # the responder's address
        ):
            if rq.data_len >= 1 and rq.data[0] == 0:
                self.acked = True
        else:
            self.stats["not_for_us"] += 1

    def _send(self):
        """Frame the oldest event into an outbox slot; False when the outbox is full."""
        link = self.mc.link
        ob = link.outbox
        i = ob.claim()
        if i < 0:
            return False
        b = ob.bufs[i]
        b[RQ_DATA] = _EVM_REV
        k = self.head * _EVENT_LEN
        for j in range(_EVENT_LEN):
            b[RQ_DATA + 1 + j] = self.ring[k + j]
        n = frame_request(
            b,
            self.receiver,
            NETFN_SENSOR,
            self.receiver_lun,
            self.mc.address,
            self.seq,
            0,
            _CMD_PLATFORM_EVENT,
            1 + _EVENT_LEN,
        )
        ob.commit(i, n, KIND_REQUEST)
        self._slot = i
        self._order = ob.order[i]
        self._sent_at = time.ticks_ms()
        self.tries += 1
        self.stats["events_sent" if self.tries == 1 else "events_retried"] += 1
        link.queued(i)
        return True

    def _withdraw(self):
        """Take our frame back if it still waits in the outbox; False while it is moving."""
        r = self.mc.link.outbox.withdraw(self._slot, self._order)
        if r == TAKEN_BACK:  # a copy never delivered: the frame is accounted for all the same
            self.stats["withdrawn"] += 1
        return r

    def _done(self, counter):
        self.stats[counter] += 1
        self.head = (self.head + 1) % self.size
        self.count -= 1
        self.in_flight = False
        self.acked = False
        self.tries = 0

    def step(self, now):
        """Advance the event in flight (or start the next one)."""
        if self.in_flight:
            if self.acked:
                self._withdraw()
                self._done("events_acked")
            elif time.ticks_diff(now, self._sent_at) > TRY_MS and self._withdraw():
                if self.tries >= TRIES or self.receiver == DISABLED:
                    self._done("events_dropped")
                else:
                    self.in_flight = self._send()
            return
        if self.count and self.receiver != DISABLED:
            if not self.tries:  # a new event; a retry that found no slot keeps its rqSeq
                self.seq = (self.seq + 1) & 0x3F
            self.in_flight = self._send()

    async def run(self):
        while True:
            self.step(time.ticks_ms())
            await asyncio.sleep_ms(_TICK_MS)


def setup(mc):
    mc.events = Events(mc)  # receiver 0x20, the BMC, until Set Event Receiver
    mc.response_hook = mc.events.on_response
    mc.support |= SUPPORT_EVENT_GENERATOR


def start(mc):
    return [faults.task(mc.stats, mc.events.run)]


@command(NETFN_SENSOR, 0x00, 2)  # receiver address, LUN
def set_event_receiver(mc, rq, rs):
    sa = rq.data[0]
    if sa & 1 and sa != DISABLED:
        return rs.fail(CC_INVALID_DATA)
    ev = mc.events
    ev.receiver = sa
    ev.receiver_lun = rq.data[1] & 3
    if sa != DISABLED:
        mc.sensors.rearm_all()  # conditions still present raise their events again
    return rs.ok(0)


@command(NETFN_SENSOR, 0x01)
def get_event_receiver(mc, rq, rs):
    rs.data[0] = mc.events.receiver
    rs.data[1] = mc.events.receiver_lun
    return rs.ok(2)
