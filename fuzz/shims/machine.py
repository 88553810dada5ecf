"""`machine` for the firmware under CPython (fuzzing only), with the host's device models
in-process on the private bus.

The fuzzing harness drives the controller synchronously (no IRQs, no tasks): the IPMB
blocks only need to exist; the private bus reaches the same device models
(satmc.vbus.devices) the simulator puts on the virtual bus, byte for byte, so a
handler that reads a sensor or a FRU EEPROM meets the chip behaviour it meets there.
"""

import errno

models = []  # (bus, addr7, model) of the board being fuzzed; set by fuzz.firmware


def _target(addr7):
    for bus, addr, m in models:
        if bus == "board" and addr == addr7:
            return m
    return None


def disable_irq():
    return 0


def enable_irq(state):
    return None


def reset():
    raise SystemExit("machine.reset")


def unique_id():
    return b"\x5a\x71\x00\x01\x02\x03\x04\x05"


class Pin:
    IN, OUT, OPEN_DRAIN = 0, 1, 2
    PULL_UP, PULL_DOWN = 1, 2
    IRQ_RISING, IRQ_FALLING = 1, 2
    _levels = {}

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        self.id = id
        if value is not None:
            Pin._levels[id] = 1 if value else 0

    def value(self, v=None):
        if v is not None:
            Pin._levels[self.id] = 1 if v else 0
            return None
        for _, _, m in models:
            st = getattr(m, "pin_state", lambda pin: None)(self.id)
            if st is not None and st["level"] is not None:
                return st["level"]
        return Pin._levels.get(self.id, 1)

    def toggle(self):
        self.value(1 - self.value())

    def irq(self, handler=None, trigger=0, hard=False):
        return None


class ADC:
    CORE_TEMP = 4

    def __init__(self, id):
        n = id.id if isinstance(id, Pin) else int(id)
        self.channel = n - 26 if 26 <= n <= 29 else n

    def read_u16(self):
        for _, _, m in models:
            v = getattr(m, "adc_u16", lambda ch: None)(self.channel)
            if v is not None:
                return v
        return 0


class _Controller:
    def __init__(self, *args, **kw):
        pass

    def _start(self, addr, read):
        m = _target(addr)
        if m is None or not m.addressed(addr, read):
            raise OSError(errno.ENODEV)
        return m

    def writeto(self, addr, buf, stop=True):
        m = self._start(addr, False)
        acked = m.written(bytes(buf))
        if stop:
            m.ended()
        if acked < len(buf):
            raise OSError(errno.EIO)
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        m = self._start(addr, True)
        data = m.read(len(buf), True)
        m.ended()
        buf[: len(data)] = data
        return None

    def readfrom(self, addr, nbytes, stop=True):
        b = bytearray(nbytes)
        self.readfrom_into(addr, b, stop)
        return bytes(b)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        a = memaddr.to_bytes(addrsize // 8, "big")
        return self.writeto(addr, a + bytes(buf))

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        self.writeto(addr, memaddr.to_bytes(addrsize // 8, "big"), False)
        return self.readfrom_into(addr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        b = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, b, addrsize=addrsize)
        return bytes(b)

    def scan(self):
        return [a for bus, a, _ in models if bus == "board" and a is not None]


class I2C(_Controller):
    pass


class SoftI2C(_Controller):
    pass


class I2CTarget:
    IRQ_ADDR_MATCH_READ = 1 << 0
    IRQ_ADDR_MATCH_WRITE = 1 << 1
    IRQ_READ_REQ = 1 << 2
    IRQ_WRITE_REQ = 1 << 3
    IRQ_END_READ = 1 << 4
    IRQ_END_WRITE = 1 << 5

    def __init__(self, *args, **kw):
        pass

    def irq(self, handler=None, trigger=0, hard=False):
        return None


class WDT:
    def __init__(self, id=0, timeout=5000):
        pass

    def feed(self):
        return None


class Timer:
    def __init__(self, *args, **kw):
        pass
