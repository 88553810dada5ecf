"""The threshold state machine, sensor commands, events into the outbox, no allocation."""

import micropython
from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, ask, frame, sensor_entry

from ipmc import events, sdr, sensor_setup, sensors
from ipmc.ipmb import Request
from ipmc.link import IPMBLink
from ipmc.mc import MC

# LNC LC LNR UNC UC UNR, raw
THR = bytes((50, 40, 0, 160, 190, 220))
ALL = 0x3B  # no LNR


def test_upper_threshold_asserts_at_t_and_deasserts_below_t_minus_hysteresis():
    s = 0
    s = sensors.threshold_state(159, s, THR, ALL, 4, 4)
    assert s == 0
    s = sensors.threshold_state(160, s, THR, ALL, 4, 4)
    assert s == 0x08
    s = sensors.threshold_state(156, s, THR, ALL, 4, 4)  # inside the band: stays
    assert s == 0x08
    s = sensors.threshold_state(155, s, THR, ALL, 4, 4)  # below T - hysteresis
    assert s == 0
    s = sensors.threshold_state(158, s, THR, ALL, 4, 4)  # no hysteresis on the way up
    assert s == 0


def test_lower_threshold_asserts_at_t_and_deasserts_above_t_plus_hysteresis():
    s = sensors.threshold_state(40, 0, THR, ALL, 4, 4)
    assert s == 0x03  # LNC and LC
    s = sensors.threshold_state(44, s, THR, ALL, 4, 4)
    assert s == 0x03
    s = sensors.threshold_state(45, s, THR, ALL, 4, 4)  # LC released, LNC band reaches 54
    assert s == 0x01
    s = sensors.threshold_state(55, s, THR, ALL, 4, 4)
    assert s == 0


def test_thresholds_that_do_not_exist_never_assert():
    assert sensors.threshold_state(0, 0, THR, ALL, 0, 0) == 0x03  # LNR (raw 0) is absent
    assert sensors.threshold_state(255, 0, THR, 0x08, 0, 0) == 0x08


def test_event_offsets():
    assert [sensors.threshold_offset(i) for i in range(6)] == [0, 2, 4, 7, 9, 11]
    assert sensors.default_event_masks(ALL) == 0x0A85


class _Reader:
    def __init__(self):
        self.value = 25000
        self.fail = False

    def read(self):
        if self.fail:
            raise OSError(19)
        return self.value


def _mc():
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    mc.events = events.Events(mc)
    mc.sensors = sensors.Sensors()
    mc.sdrs = sdr.Repository()
    reader = _Reader()
    c = sensor_entry(
        name="Board Temp",
        number=1,
        type=1,
        unit=1,
        lo_milli=-20000,
        res_milli=500,
        thresholds=list(THR),
        readable=ALL,
        settable=0x18,
        hysteresis=[4, 4],
    )
    s = sensor_setup.make_sensor(mc, c, reader.read)
    mc.sensors.add(s)
    mc.sdrs.add(s.record)
    mc.sdrs.changed()
    return mc, s, reader


def _ask(mc, cmd, data=b""):
    return ask(mc, 0x04, cmd, data)


def _queued_events(mc):
    ev = mc.events
    out = []
    for k in range(ev.count):
        j = ((ev.head + k) % ev.size) * 6
        out.append(bytes(ev.ring[j : j + 6]))
    return out


def test_reading_converts_to_the_raw_byte_and_reports_threshold_states():
    mc, s, reader = _mc()
    s.scan()
    cc, d = _ask(mc, 0x2D, b"\x01")
    assert cc == 0 and d == bytes((90, 0xC0, 0xC0, 0x80))
    reader.value = 61000
    s.scan()
    cc, d = _ask(mc, 0x2D, b"\x01")
    assert d[0] == 162 and d[2] == 0xC0 | 0x08
    assert _queued_events(mc) == [bytes((0x01, 0x01, 0x01, 0x57, 162, 160))]


def test_a_failed_read_makes_the_reading_unavailable_until_the_chip_answers():
    mc, s, reader = _mc()
    s.scan()
    reader.fail = True
    s.scan()
    cc, d = _ask(mc, 0x2D, b"\x01")
    assert cc == 0 and d[1] & 0x20 and d[0] == 0
    assert mc.stats["sensor_errors"] == 1
    reader.fail = False
    s.scan()
    cc, d = _ask(mc, 0x2D, b"\x01")
    assert not d[1] & 0x20 and d[0] == 90


def test_get_sensor_reading_allocates_nothing():
    mc, s, reader = _mc()
    mc.heap_armed = True  # as Get Heap Info arms it
    s.scan()
    raw = frame(0x72, 0x04, 0x2D, b"\x01")
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    mc.handle_frame(rq)  # first use outside the lock
    mc.link.outbox.state[mc.link.outbox.oldest()] = 0
    micropython.heap_lock()
    try:
        for _ in range(5):
            mc.handle_frame(rq)
            mc.link.outbox.state[mc.link.outbox.oldest()] = 0
    finally:
        micropython.heap_unlock()
    assert mc.stats["requests"] == 6 and mc.hot_alloc == 0


def test_set_thresholds_honours_the_settable_mask_and_updates_the_sdr():
    mc, s, reader = _mc()
    indicator = mc.sdrs.indicator
    assert _ask(mc, 0x26, bytes((1, 0x01, 45, 0, 0, 0, 0, 0)))[0] == 0xCC  # LNC not settable
    cc, _ = _ask(mc, 0x26, bytes((1, 0x08, 0, 0, 0, 150, 0, 0)))
    assert cc == 0 and s.thr[3] == 150 and s.record[38] == 150
    assert mc.sdrs.indicator != indicator
    cc, d = _ask(mc, 0x27, b"\x01")
    assert d == bytes((ALL, 50, 40, 0, 150, 190, 220))


def test_hysteresis_and_event_enables():
    mc, s, reader = _mc()
    assert _ask(mc, 0x24, b"\x01\xff\x06\x02")[0] == 0
    assert _ask(mc, 0x25, b"\x01\xff") == (0, b"\x06\x02")
    assert _ask(mc, 0x29, b"\x01") == (0, bytes((0xC0, 0x85, 0x0A, 0x85, 0x0A)))
    assert _ask(mc, 0x28, bytes((1, 0xA0, 0x80, 0x00)))[0] == 0  # disable UNC going high
    assert _ask(mc, 0x29, b"\x01") == (0, bytes((0x80, 0x05, 0x0A, 0x85, 0x0A)))
    s.scanning = True
    reader.value = 77000  # crosses UNC and UC: only UC raises an event
    s.scan()
    assert [e[3] for e in _queued_events(mc)] == [0x59]
    cc, d = _ask(mc, 0x2B, b"\x01")
    assert cc == 0 and d[1] | d[2] << 8 == (1 << 7 | 1 << 9)


def test_rearm_raises_events_again_for_present_conditions():
    mc, s, reader = _mc()
    reader.value = 61000
    s.scan()
    assert _ask(mc, 0x2A, b"\x01\x00")[0] == 0
    s.scan()
    assert len(_queued_events(mc)) == 2


def test_events_are_framed_as_platform_event_requests():
    mc, s, reader = _mc()
    reader.value = 61000
    s.scan()
    mc.events.step(0)
    ob = mc.link.outbox
    i = ob.oldest()
    f = bytes(ob.bufs[i][: ob.lens[i]])
    assert f[0] == 0x20 and f[1] == 0x04 << 2 and f[3] == 0x72 and f[5] == 0x02
    assert f[6:13] == bytes((0x04, 0x01, 0x01, 0x01, 0x57, 162, 160))
    assert sum(f[:3]) & 0xFF == 0 and sum(f[3:]) & 0xFF == 0
    assert mc.stats["events_sent"] == 1


def test_queue_overflow_and_disabled_receiver_are_counted_or_silent_by_spec():
    mc, s, reader = _mc()
    ev = mc.events
    for _ in range(ev.size + 3):
        ev.emit(1, 1, 1, 0x57, 1, 1)
    assert ev.count == ev.size and mc.stats["events_dropped"] == 3
    assert mc.stats["events_overflow"] == 3  # told apart from drops after all tries
    assert _ask(mc, 0x00, b"\xff\x00")[0] == 0
    ev.emit(1, 1, 1, 0x57, 1, 1)
    assert mc.stats["events_queued"] == ev.size
    assert _ask(mc, 0x01) == (0, b"\xff\x00")


def test_set_event_receiver_needs_both_bytes():
    mc, s, reader = _mc()
    assert _ask(mc, 0x00, b"\x30")[0] == 0xC7
    assert _ask(mc, 0x00, b"\x30\x00\x00")[0] == 0xC7
    assert _ask(mc, 0x01) == (0, b"\x20\x00")
    assert _ask(mc, 0x00, b"\x30\x01")[0] == 0
    assert _ask(mc, 0x01) == (0, b"\x30\x01")


def test_an_event_frame_taken_back_undelivered_is_counted_withdrawn():
    # The frame of a try still waits in the outbox (parked, or the bus busy) when the try
    # ends: it is taken back and counted, so every frame queued is accounted for
    mc, s, reader = _mc()
    ev = mc.events
    ev.emit(1, 1, 1, 0x57, 1, 1)
    ev.step(0)
    ob = mc.link.outbox
    assert ob.pending() == 1 and mc.stats["withdrawn"] == 0
    ev.step(ev._sent_at + events.TRY_MS + 1)  # the try ends: withdrawn, sent again
    assert mc.stats["withdrawn"] == 1 and mc.stats["events_retried"] == 1
    assert ob.pending() == 1  # the retry's frame only
    queued = mc.stats["events_sent"] + mc.stats["events_retried"]
    st = mc.stats
    assert queued == st["sent"] + st["read_back"] + st["expired"] + st["withdrawn"] + 1


def test_a_retry_that_meets_a_full_outbox_keeps_its_sequence_number():
    # A receiver spots a retry of an event it logged (its answer lost) by the same rqSeq;
    # a try that found no outbox slot must not make the event look new.
    mc, s, reader = _mc()
    ev, ob = mc.events, mc.link.outbox
    ev.emit(1, 1, 1, 0x57, 1, 1)
    ev.step(0)
    i = ob.oldest()
    seq = ob.bufs[i][4] >> 2
    ob.state[i] = 0  # delivered (FREE), answer lost; then other frames fill the outbox
    for _ in range(ob.size):
        k = ob.claim()
        ob.commit(k, 7)
    ev.step(ev._sent_at + events.TRY_MS + 1)  # the try ends; no slot for the retry
    assert not ev.in_flight and ev.count == 1
    ob.state[0] = 0  # a slot frees
    ev.step(ev._sent_at + events.TRY_MS + 2)
    assert ev.in_flight and mc.stats["events_retried"] == 1
    j = ob.oldest()
    while ob.kind[j] != 1:  # KIND_REQUEST: the event's frame
        j = (j + 1) % ob.size
    assert ob.bufs[j][4] >> 2 == seq


def test_a_second_answer_to_an_acknowledged_event_is_counted_not_for_us():
    # The receiver took one frame twice (a master write retried after the target had
    # it all) and answers both: one answer per try counts, the other is a stray.
    mc, s, reader = _mc()
    ev = mc.events
    mc.response_hook = ev.on_response  # as events.setup() makes it
    ev.emit(1, 1, 1, 0x57, 1, 1)
    ev.step(0)
    answer = frame(0x72, 0x05, 0x02, b"\x00", rq_sa=0x20, seq=ev.seq)
    strays = mc.stats["not_for_us"]
    for _ in range(2):
        rq = Request()
        rq.buf[: len(answer)] = answer
        rq.length = len(answer)
        mc.respond(rq, mc.response)
    assert ev.acked and mc.stats["not_for_us"] == strays + 1
