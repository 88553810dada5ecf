"""Pin and ADC of the `machine` emulation (imported by machine.py, kept apart so that
neither module is too big to compile in a small heap on the unix port).

Pins read levels the simulated board drives and deliver a tachometer's edges to the
pin's IRQ handler; ADC channels read voltages (see satmc.sim.board_io for the control
ops, satmc.vbus.devices for the models that answer them).
"""

import _thread
import json
import os
import sys
import time

import machine
import micropython
import vbus_wire as _w

# --- Pin --------------------------------------------------------------------------------------

_edge_lock = _thread.allocate_lock()


def deliver_edges():
    """Fire every edge owed by now on every armed pin (machine.disable_irq, before it masks)."""
    if not Pin._armed:
        return
    micropython.heap_lock()  # as in the edge thread: hard handlers run with the heap locked
    try:
        with _edge_lock:
            for pin in Pin._armed:
                pin._deliver()
    finally:
        micropython.heap_unlock()


class _PinIRQ:
    def __init__(self, pin):
        self._pin = pin

    def flags(self):
        return self._pin._flags

    def trigger(self):
        return self._pin._trigger


class Pin:
    """machine.Pin: outputs keep their level; inputs read what the simulated board drives.

    An input's level comes from the simulator (control op "pin": a device model such as
    a presence switch drives it); a pin nothing drives reads its pull. Pin.irq() starts
    an edge thread that asks the simulator for the pin's edge rate (a fan's tachometer)
    and calls the handler once per edge, under heap_lock() when hard, as on the board.
    """

    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    _levels = {}  # pin id -> level, shared by every Pin object of that id
    _armed = []  # pins with an edge thread (deliver_edges)
    _EDGE_TICK_MS = 10
    _RATE_POLL_MS = 250

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        self.id = id if isinstance(id, int) else int(str(id).lstrip("GP"))
        self.mode = Pin.IN
        self.pull = -1
        self._handler = None
        self._trigger = 0
        self._hard = False
        self._flags = 0
        self._edges_running = False
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
            if self.id not in Pin._levels:
                Pin._levels[self.id] = 1 if pull == Pin.PULL_UP else 0
        if value is not None:
            self.value(value)

    def _driven(self):
        """The simulator's {"level", "hz"} for this pin, or None without a simulator."""
        if not os.getenv("SATMC_VBUS"):
            return None
        try:
            return machine.control("pin", pin=self.id)
        except (OSError, ValueError):
            return None

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.IN:
                d = self._driven()
                if d is not None and d.get("level") is not None:
                    return d["level"]
            return Pin._levels.get(self.id, 0)
        Pin._levels[self.id] = 1 if v else 0

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def toggle(self):
        self.value(not self.value())

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, hard=False):
        self._handler, self._trigger, self._hard = handler, trigger, hard
        if handler is not None and not self._edges_running:
            self._edges_running = True
            self._arm_edges()
            _thread.start_new_thread(self._edges, ())
        return _PinIRQ(self)

    # Edges are owed from the moment the IRQ is armed (a fan turns before the firmware
    # counts it) at the rate last polled; _deliver() fires what is owed by now. The edge
    # thread delivers every tick, and machine.disable_irq() delivers before it masks: on
    # a board an edge reaches its handler within microseconds, so whatever the firmware
    # reads inside a critical section counts every edge up to that moment, however late
    # the host schedules the edge thread. _edge_lock makes each delivery whole.

    def _arm_edges(self):
        self._since = time.ticks_ms()  # armed now; the rate's round trip takes a while
        self._rate = _EdgeRate(self.id) if os.getenv("SATMC_VBUS") else None
        self._milli_hz = self._polled_rate()  # edges per 1000 s
        self._carry = 0  # edge fraction in 1/1_000_000
        Pin._armed.append(self)

    def _polled_rate(self):
        if self._rate is None:
            return 0
        milli_hz = self._rate.poll()
        if self._trigger & Pin.IRQ_FALLING and self._trigger & Pin.IRQ_RISING:
            milli_hz *= 2
        return milli_hz

    def _deliver(self):
        """Fire the edges owed since the last delivery (the caller holds _edge_lock)."""
        now = time.ticks_ms()
        self._carry += self._milli_hz * time.ticks_diff(now, self._since)
        self._since = now
        while self._carry >= 1_000_000:
            self._carry -= 1_000_000
            self._fire()

    def _edges(self):
        # Nothing here allocates once started: this thread runs beside the firmware, whose
        # heap figures (gc.mem_alloc around each request) would count its allocations. As
        # in the I2CTarget bus thread, the loop runs with the heap locked to make sure
        # (its blocking socket read allocated now and then).
        polled = time.ticks_ms()
        micropython.heap_lock()
        try:
            while self._handler is not None:
                time.sleep_ms(self._EDGE_TICK_MS)
                milli_hz = None
                if time.ticks_diff(time.ticks_ms(), polled) >= self._RATE_POLL_MS:
                    milli_hz = self._polled_rate()  # a round trip: outside the lock
                    polled = time.ticks_ms()
                with _edge_lock:
                    self._deliver()  # at the rate polled before: up to now
                    if milli_hz is not None:
                        self._milli_hz = milli_hz
        finally:
            micropython.heap_unlock()
        with _edge_lock:
            Pin._armed.remove(self)
        if self._rate is not None:
            self._rate.close()
        self._edges_running = False

    def _fire(self):
        handler = self._handler
        if handler is None:
            return
        self._flags = Pin.IRQ_FALLING
        failed = None
        with machine._irq_lock:
            if not self._hard:
                micropython.schedule(handler, self)
                return
            micropython.heap_lock()
            try:
                handler(self)
            except Exception as e:
                failed = e
            finally:
                micropython.heap_unlock()
        if failed is not None:  # as the board does: report once, disable the handler
            micropython.heap_unlock()  # the edge thread runs with the heap locked (_edges)
            try:
                print("Uncaught exception in Pin IRQ handler; disabling it")
                sys.print_exception(failed)
            finally:
                micropython.heap_lock()
            self._handler = None

    def __repr__(self):
        return "Pin(%d)" % self.id


class _EdgeRate:
    """A pin's edge rate from the simulator (control op "pin", its "mhz"), polled without
    allocating: one connection, the request framed once, the reply read into a buffer
    and its number parsed in place."""

    _KEY = b'"mhz": '

    def __init__(self, pin):
        self._sock = machine._connect(_w.ROLE_CONTROL, "")
        req = json.dumps({"op": "pin", "pin": pin}).encode()
        self._msg = bytes((_w.CTRL, len(req) & 0xFF, len(req) >> 8)) + req
        self._buf = bytearray(256)  # the reply: header, then payload
        self._payload = memoryview(self._buf)[_w.HEADER_LEN :]

    def poll(self):
        """Edges per 1000 s (0 when the reply carries no rate)."""
        self._sock.write(self._msg)
        n = _w.recv_into(self._sock, self._buf, self._payload)
        if n < 0:
            return 0
        return self._number(_w.HEADER_LEN + n)

    def _number(self, end):
        b, key = self._buf, self._KEY
        n = len(key)
        for i in range(_w.HEADER_LEN, end - n):
            j = 0
            while j < n and b[i + j] == key[j]:
                j += 1
            if j == n:
                v, i = 0, i + n
                while i < end and 0x30 <= b[i] <= 0x39:
                    v = v * 10 + b[i] - 0x30
                    i += 1
                return v
        return 0

    def close(self):
        self._sock.close()


# --- ADC --------------------------------------------------------------------------------------


class ADC:
    """machine.ADC of rp2: ADC(Pin(26..29)) or ADC(0..4), channel 4 the temperature sensor.

    read_u16() gives what the simulator's models put on the channel (control op "adc").
    """

    CORE_TEMP = 4

    def __init__(self, id):
        n = id.id if isinstance(id, Pin) else int(id)
        if 26 <= n <= 29:
            n -= 26
        elif not 0 <= n <= 4:
            raise ValueError("invalid ADC channel or pin")
        self.channel = n

    def read_u16(self):
        return machine.control("adc", channel=self.channel)["u16"]

    def __repr__(self):
        return "ADC(channel=%d)" % self.channel
