"""Faults injected into a driver, a handler, the controller and a task: the service goes on."""

import asyncio
import io

from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, ask, frame, sensor_entry

from ipmc import app, events, faults, sdr, sensor_setup, sensors  # noqa: F401
from ipmc.dispatch import command
from ipmc.link import IPMBLink
from ipmc.mc import MC
from ipmc.serial_basic import SerialBasic, encode

_TEST_NETFN = 0x3E


class _Injected(Exception):
    pass


@command(_TEST_NETFN, 0x20)
def _raises(mc, rq, rs):
    rs.data[0] = 0x99  # half an answer, then the fault
    raise _Injected("injected into a handler")


@command(_TEST_NETFN, 0x21)
def _runs_out_of_memory(mc, rq, rs):
    raise MemoryError


class _Driver:
    """A sensor driver that fails the way its test says, or reads `value`."""

    def __init__(self):
        self.value = 3300  # mV: raw 165, between LNC and UNC
        self.fault = None

    def read(self):
        if self.fault is not None:
            raise self.fault
        return self.value


def _mc(period_ms=1000):
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    mc.events = events.Events(mc)
    mc.sensors = sensors.Sensors()
    mc.sdrs = sdr.Repository()
    driver = _Driver()
    c = sensor_entry(
        name="Rail",
        number=1,
        type=2,
        unit=4,
        lo_milli=0,
        res_milli=20,
        thresholds=[150, 140, 0, 180, 190, 0],  # LNC LC . UNC UC .
        readable=0x1B,
        settable=0x1B,
        period_ms=period_ms,
    )
    s = sensor_setup.make_sensor(mc, c, driver.read)
    mc.sensors.add(s)
    mc.sdrs.add(s.record)
    mc.sdrs.changed()
    return mc, s, driver


def _quietly(fn, *args):
    """fn(*args) with faults.quiet set, so injected faults do not fill the test log."""
    was = faults.quiet
    faults.quiet = True
    try:
        return fn(*args)
    finally:
        faults.quiet = was


async def _until(condition, what, timeout_ms=5000):
    """Let the tasks run until condition() holds (fails after timeout_ms)."""
    waited = 0
    while not condition():
        assert waited < timeout_ms, what
        await asyncio.sleep_ms(5)
        waited += 5


def _reading(mc):
    cc, d = ask(mc, 0x04, 0x2D, b"\x01")
    assert cc == 0
    return d


def test_a_driver_fault_makes_the_reading_unavailable_counts_it_and_recovers():
    mc, s, driver = _mc()
    s.scan()
    assert _reading(mc)[1:3] == b"\xc0\xc0"  # available, no threshold crossed
    errors = 0
    for fault in (KeyError("u16"), ValueError("abc"), MemoryError(), ZeroDivisionError()):
        driver.fault = fault
        _quietly(s.scan)
        errors += 1
        d = _reading(mc)
        assert d[1] & 0x20 and d[0] == 0, fault  # reading unavailable, not the stale value
        assert mc.stats["sensor_errors"] == errors and faults.last is fault
    driver.fault = None
    driver.value = "abc"  # not a number: as unavailable as a driver that raised
    _quietly(s.scan)
    assert _reading(mc)[1] & 0x20 and mc.stats["sensor_errors"] == errors + 1
    driver.value = 2700  # 2.70 V: under LNC and LC
    s.scan()
    d = _reading(mc)
    assert not d[1] & 0x20 and d[0] == 135 and d[2] & 0x03 == 0x03
    assert [e[3] for e in _queued(mc)] == [0x50, 0x52]  # LNC and LC going low: events


def _queued(mc):
    ev = mc.events
    return [bytes(ev.ring[((ev.head + k) % ev.size) * 6 :][:6]) for k in range(ev.count)]


def test_the_scan_task_goes_on_after_driver_faults():
    mc, s, driver = _mc(period_ms=10)

    async def scenario():
        tasks = sensors.start(mc)
        driver.fault = KeyError("u16")
        await _until(lambda: mc.stats["sensor_errors"] >= 3, "scans stopped after a fault")
        driver.fault = None
        failed = mc.stats["sensor_errors"]
        driver.value = 2700
        await _until(lambda: not s.unavailable, "the sensor never recovered")
        for t in tasks:
            t.cancel()
        return failed

    failed = _quietly(asyncio.run, scenario())
    assert mc.stats["sensor_errors"] == failed  # every failed scan counted, no more
    assert not _reading(mc)[1] & 0x20 and mc.stats["task_errors"] == 0
    assert [e[3] for e in _queued(mc)] == [0x50, 0x52]  # the low reading raised its events


def test_a_raising_handler_is_answered_ff_and_counted_and_the_next_request_served():
    mc, s, driver = _mc()
    for cmd in (0x20, 0x21):
        assert _quietly(ask, mc, _TEST_NETFN, cmd) == (0xFF, b"")
        assert ask(mc, 0x06, 0x01)[0] == 0
    assert mc.stats["handler_errors"] == 2 and mc.stats["requests"] == 4


def test_the_ipmb_receive_task_goes_on_after_a_handler_fault():
    mc, s, driver = _mc()
    target, controller = mc.link.target, mc.link.controller

    async def scenario():
        tasks = mc.link.start(mc.handle_frame)
        target.controller_writes(frame(0x72, _TEST_NETFN, 0x20, seq=1)[1:])
        target.controller_writes(frame(0x72, 0x06, 0x01, seq=2)[1:])
        await _until(lambda: len(controller.writes) == 2, "receive stopped after a fault")
        target.controller_writes(frame(0x72, 0x06, 0x04, seq=3)[1:])
        await _until(lambda: len(controller.writes) == 3, "receive stopped after a fault")
        for t in tasks:
            t.cancel()

    _quietly(asyncio.run, scenario())
    answers = [(w[1][3] >> 2, w[1][4], w[1][5]) for w in controller.writes]  # seq, cmd, cc
    assert answers == [(1, 0x20, 0xFF), (2, 0x01, 0x00), (3, 0x04, 0x00)]
    assert mc.stats["handler_errors"] == 1 and mc.stats["task_errors"] == 0


class _FlakyController(FakeController):
    """A controller whose driver raises something other than OSError while `broken`."""

    broken = True

    def writeto(self, addr, buf, stop=True):
        if self.broken:
            raise ValueError("injected into the controller")
        return super().writeto(addr, buf, stop)


def test_a_controller_fault_parks_the_frame_for_readback_and_the_sender_goes_on():
    mc, s, driver = _mc()
    controller = _FlakyController()
    mc.link = IPMBLink(FakeTarget(), controller, 0x72, critical=CRITICAL, stats=mc.stats)
    target = mc.link.target

    async def scenario():
        tasks = mc.link.start(mc.handle_frame)
        target.controller_writes(frame(0x72, 0x06, 0x01, rq_sa=0x20, seq=1)[1:])
        await _until(lambda: mc.link.outbox.oldest(parked_only=True) >= 0, "never parked")
        got = target.controller_reads(40)
        controller.broken = False
        mc.link._master_only = -1  # as once the memory of the failure is over
        target.controller_writes(frame(0x72, 0x06, 0x04, rq_sa=0x30, seq=2)[1:])
        await _until(lambda: controller.writes, "the sender stopped after a fault")
        for t in tasks:
            t.cancel()
        return got

    got = _quietly(asyncio.run, scenario())
    assert got[0] and got[1] == 0x20 and got[5] >> 2 == 1 and got[7] == 0  # read back, cc 00
    assert [w[0] for w in controller.writes] == [0x18]  # the next one by master write
    assert mc.stats["task_errors"] == 1 and mc.stats["read_back"] == 1


def test_serial_basic_answers_ff_for_a_raising_handler_and_serves_the_next_frame():
    mc, s, driver = _mc()
    out = io.BytesIO()
    sb = SerialBasic(mc, None, out)
    wire = bytearray(80)
    for cmd, netfn in ((0x20, _TEST_NETFN), (0x01, 0x06)):
        raw = frame(0x20, netfn, cmd, rq_sa=0x81)
        for b in wire[: encode(raw, len(raw), wire)]:
            _quietly(sb.feed, b)
    frames = out.getvalue().split(b"\xa6")[:-1]
    assert [f[7] for f in frames] == [0xFF, 0x00]  # A0, rqSA .. cmd, cc
    assert mc.stats["handler_errors"] == 1 and mc.stats["serial_frames"] == 2


def test_a_task_that_dies_is_counted_and_started_again():
    stats = {"task_errors": 0}
    runs = []

    async def flaky():
        runs.append(1)
        if len(runs) < 3:
            raise _Injected("injected into a task")
        await asyncio.sleep_ms(1000)

    async def scenario():
        t = faults.task(stats, flaky)
        await _until(lambda: len(runs) == 3, "the task was not started again")
        await asyncio.sleep_ms(faults.RESTART_MS)  # running now: not restarted again
        t.cancel()

    _quietly(asyncio.run, scenario())
    assert len(runs) == 3 and stats["task_errors"] == 2


class _FlakyOutbox:
    """Wraps the link's outbox: claim() raises once, as a fault inside a step would."""

    def __init__(self, outbox):
        self._outbox = outbox
        self.faults = 1

    def claim(self):
        if self.faults:
            self.faults -= 1
            raise _Injected("injected into the event sender")
        return self._outbox.claim()

    def __getattr__(self, name):
        return getattr(self._outbox, name)


def test_the_event_sender_is_started_again_after_a_fault_and_sends_the_event():
    mc, s, driver = _mc()
    controller = mc.link.controller
    real = mc.link.outbox
    mc.link.outbox = _FlakyOutbox(real)

    async def scenario():
        tasks = list(mc.link.start(mc.handle_frame)) + events.start(mc)
        mc.events.emit(0x02, 1, 0x01, 0x52, 135, 140)
        await _until(lambda: controller.writes, "the event was never sent")
        for t in tasks:
            t.cancel()

    _quietly(asyncio.run, scenario())
    mc.link.outbox = real
    ((dest, f),) = controller.writes
    assert dest == 0x10 and f[4] == 0x02 and f[5:12] == bytes((4, 2, 1, 1, 0x52, 135, 140))
    assert mc.stats["task_errors"] == 1 and mc.stats["events_sent"] == 1
