"""Fan tachometer: falling edges counted by a pin IRQ, turned into RPM per scan.

    fan = Tach(machine.Pin(6, machine.Pin.IN, machine.Pin.PULL_UP), 2, wiring.CRITICAL)
    fan.read()          # milli-RPM over the time since the previous read

The hard IRQ handler only increments a small int (no allocation); read() takes the
count and the time together with IRQs masked (critical: the pair disable_irq, enable_irq),
so a window's edges and its length always match, however late the read runs.
"""

import time


class Tach:
    def __init__(self, pin, pulses_per_rev, critical):
        self.pin = pin
        self.disable_irq, self.enable_irq = critical
        self.ppr = pulses_per_rev
        self.edges = 0
        self._since = time.ticks_ms()
        self._handler = self._edge  # bound once, before the IRQ is armed
        pin.irq(self._handler, pin.IRQ_FALLING, hard=True)

    def _edge(self, pin):
        self.edges += 1

    def read(self):
        st = self.disable_irq()
        n = self.edges
        self.edges = 0
        now = time.ticks_ms()  # with the count: an edge after it belongs to the next window
        self.enable_irq(st)
        dt = time.ticks_diff(now, self._since)
        self._since = now
        if dt <= 0:
            return 0
        # n pulses in dt ms: n / ppr revolutions -> * 60000 / dt per minute, in milli-RPM
        return n * 60_000_000 // (self.ppr * dt)
