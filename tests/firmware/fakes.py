"""Stand-ins for the I2C blocks in firmware unit tests (the e2e tests use the real bus).

FakeTarget replays an IRQ sequence the way I2CTarget raises it; FakeController records
master writes. Neither allocates in the methods a hard IRQ handler calls.
"""

import machine
import micropython

from ipmc.wiring import CRITICAL  # noqa: F401  (the real critical section, for the tests)


class _IRQ:
    def __init__(self):
        self.value = 0

    def flags(self):
        return self.value


class FakeTarget:
    IRQ_ADDR_MATCH_READ = machine.I2CTarget.IRQ_ADDR_MATCH_READ
    IRQ_ADDR_MATCH_WRITE = machine.I2CTarget.IRQ_ADDR_MATCH_WRITE
    IRQ_READ_REQ = machine.I2CTarget.IRQ_READ_REQ
    IRQ_WRITE_REQ = machine.I2CTarget.IRQ_WRITE_REQ
    IRQ_END_READ = machine.I2CTarget.IRQ_END_READ
    IRQ_END_WRITE = machine.I2CTarget.IRQ_END_WRITE

    def __init__(self):
        self._irq = _IRQ()
        self.rx = bytearray(64)
        self.rx_len = 0
        self.rx_pos = 0
        self.tx = bytearray(64)
        self.tx_len = 0
        self.handler = None

    def irq(self, handler=None, trigger=0, hard=False):
        if handler is not None:
            self.handler = handler
        return self._irq

    def readinto(self, buf):
        n = 0
        while n < len(buf) and self.rx_pos < self.rx_len:
            buf[n] = self.rx[self.rx_pos]
            self.rx_pos += 1
            n += 1
        return n

    def write(self, buf):
        for b in buf:
            self.tx[self.tx_len] = b
            self.tx_len += 1
        return len(buf)

    def fire(self, flag):
        self._irq.value = flag
        self.handler(self)

    def controller_writes(self, data, heap_locked=False):
        """IRQ sequence of a controller write of `data` (without the address byte).

        With heap_locked, the handler runs under heap_lock() as a hard IRQ does.
        """
        for i in range(len(data)):  # (enumerate() would allocate)
            self.rx[i] = data[i]
        self.rx_len, self.rx_pos = len(data), 0
        if heap_locked:
            micropython.heap_lock()
        try:
            self.fire(machine.I2CTarget.IRQ_ADDR_MATCH_WRITE)
            while self.rx_pos < self.rx_len:
                self.fire(machine.I2CTarget.IRQ_WRITE_REQ)
            self.fire(machine.I2CTarget.IRQ_END_WRITE)
        finally:
            if heap_locked:
                micropython.heap_unlock()

    def controller_reads(self, n, heap_locked=False, copy=True):
        """IRQ sequence of a controller read of n bytes, as rp2 raises it; returns what it got
        (copy=False: nothing, the bytes stay in self.tx, for a caller under heap_lock()).

        rp2 raises one READ_REQ more than bytes clocked (after the final NACK).
        """
        self.tx_len = 0
        if heap_locked:
            micropython.heap_lock()
        try:
            self.fire(machine.I2CTarget.IRQ_ADDR_MATCH_READ)
            i = 0
            while i <= n:
                self.fire(machine.I2CTarget.IRQ_READ_REQ)
                i += 1
            self.fire(machine.I2CTarget.IRQ_END_READ)
        finally:
            if heap_locked:
                micropython.heap_unlock()
        return bytes(self.tx[:n]) if copy else None


class FakeController:
    """Records master writes; nack=True fails them with ENODEV (an address NACK).

    fail: an OSError made beforehand to raise instead (a real driver makes its own, in
    C); record=False only counts writes, so that a caller under heap_lock() can use it.
    """

    def __init__(self, nack=False, record=True):
        self.writes = []
        self.nack = nack
        self.fail = None
        self.record = record
        self.count = 0

    def writeto(self, addr, buf, stop=True):
        if self.fail is not None:
            raise self.fail
        if self.nack:
            raise OSError(19)  # ENODEV
        self.count += 1
        if self.record:
            self.writes.append((addr, bytes(buf)))
        return len(buf)


# A board config as the host writes it (satmc.board's contract: every key present).
CONFIG = {
    "name": "unit",
    "mcu": "unix",
    "firmware_version": "1.23.4",
    "ipmb": {
        "address": 0x72,
        "ga_pins": [],
        "freq": 100000,
        "target": {"block": 0, "scl": 1, "sda": 0},
        "controller": {"block": 1, "scl": 3, "sda": 2},
    },
    "device": {
        "device_id": 0x42,
        "device_revision": 3,
        "manufacturer_id": 0x0315A,
        "product_id": 0x5301,
        "aux_firmware_revision": [1, 2, 3, 4],
    },
    "private_bus": None,
    "leds": {"heartbeat": None},
    "watchdog_ms": 0,
    "scan_period_ms": 1000,
    "upgrade_deadline_ms": 60000,
    "hpm_timeouts": {
        "upgrade_s": 30,
        "self_test_s": 60,
        "rollback_s": 60,
        "inaccessibility_s": 30,
    },
    "fru": [],
    "sensors": [],
    "fru_locators": [],
    "firewall": [],
}


def sensor_entry(**fields):
    """A threshold sensor entry of config["sensors"] with every key, as the host fills it."""
    c = {
        "name": "Sensor",
        "number": 1,
        "type": 1,
        "kind": "threshold",
        "source": {"chip": "rp2temp"},
        "period_ms": 1000,
        "entity": [0x07, 1],
        "unit": 1,
        "nominal": None,
        "lo_milli": 0,
        "res_milli": 1000,
        "thresholds": [0, 0, 0, 0, 0, 0],
        "readable": 0,
        "settable": 0,
        "hysteresis": [0, 0],
    }
    c.update(fields)
    return c


def frame(rs_sa, netfn, cmd, data=b"", rq_sa=0x20, seq=1, rs_lun=0, rq_lun=0):
    """A request frame as the bus carries it (starting with rsSA), checksums included."""
    h = bytes((rs_sa, netfn << 2 | rs_lun))
    b = bytes((rq_sa, seq << 2 | rq_lun, cmd)) + bytes(data)
    return h + bytes((-sum(h) & 0xFF,)) + b + bytes((-sum(b) & 0xFF,))


def ask(mc, netfn, cmd, data=b""):
    """One request through mc.handle_frame; (completion code, response data)."""
    from ipmc.ipmb import Request

    raw = frame(0x72, netfn, cmd, data)
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    mc.handle_frame(rq)
    ob = mc.link.outbox
    i = ob.oldest()
    rsp = bytes(ob.bufs[i][: ob.lens[i]])
    ob.state[i] = 0
    return rsp[6], rsp[7:-1]
