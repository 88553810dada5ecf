"""The AT24 driver against an in-memory part: page splits, addressing, polling, WP."""

from ipmc.at24 import AT24


class Part:
    """An AT24 as SoftI2C sees it: ENODEV while busy, a short count for NACKed data."""

    def __init__(self, size=256, page=8, busy_polls=0, wp=False):
        self.mem = bytearray(b"\xff" * size)
        self.size = size
        self.page = page
        self.addr_bytes = 1 if size <= 256 else 2
        self.busy_polls = busy_polls  # address NACKs after each write
        self.busy = 0
        self.wp = wp
        self.ptr = 0
        self.page_writes = []  # (first address, bytes) per write cycle

    def _addressed(self, addr):
        if addr != 0x50:
            raise OSError(19)
        if self.busy:
            self.busy -= 1
            raise OSError(19)

    def writeto(self, addr, buf, stop=True):
        self._addressed(addr)
        a = self.addr_bytes
        if len(buf) < a:
            return len(buf)
        p = 0
        for i in range(a):
            p = p << 8 | buf[i]
        self.ptr = p % self.size
        data = buf[a:]
        if not data:
            return a
        if self.wp:
            return a
        base = self.ptr - self.ptr % self.page
        first = self.ptr
        for b in data:
            self.mem[self.ptr] = b
            self.ptr = base + (self.ptr + 1) % self.page
        self.page_writes.append((first, len(data)))
        self.busy = self.busy_polls
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._addressed(addr)
        for i in range(len(buf)):
            buf[i] = self.mem[self.ptr]
            self.ptr = (self.ptr + 1) % self.size


class Pin:
    OUT = 1

    def __init__(self):
        self.level = None
        self.history = []

    def init(self, mode, value=None):
        self.value(value)

    def value(self, v):
        self.level = v
        self.history.append(v)


def test_write_is_split_at_page_boundaries():
    part = Part()
    ee = AT24(part, 0x50, 256, page=8)
    data = bytes(range(1, 23))
    assert ee.write(5, data) == 22
    assert part.page_writes == [(5, 3), (8, 8), (16, 8), (24, 3)]
    assert part.mem[5:27] == data
    buf = bytearray(22)
    ee.read_into(5, buf)
    assert buf == data


def test_sixteen_bit_addressing_for_parts_above_256_bytes():
    part = Part(size=8192, page=32)
    ee = AT24(part, 0x50, 8192, page=32)
    assert ee.addrsize == 16
    assert ee.write(0x1FD8, b"\xaa" * 16) == 16
    assert part.page_writes == [(0x1FD8, 8), (0x1FE0, 8)]
    buf = bytearray(16)
    ee.read_into(0x1FD8, buf)
    assert buf == b"\xaa" * 16
    try:
        ee.write(0x1FF8, bytes(16))
        raise AssertionError("a write past the end was accepted")
    except ValueError:
        pass


def test_acknowledge_polling_waits_for_the_write_cycle():
    part = Part(busy_polls=3)
    ee = AT24(part, 0x50, 256, page=8)
    assert ee.write(0, bytes(16)) == 16  # the second page waits for the first one's cycle
    assert ee.polls == 3
    ee.wait_ready()
    assert ee.polls == 6


def test_bounded_wait_short_count_then_timeout():
    part = Part(busy_polls=1000)
    ee = AT24(part, 0x50, 256, page=8, ready_ms=5)
    assert ee.write(0, bytes(16)) == 8  # first page written, the second never got in
    try:
        ee.write(8, bytes(8))
        raise AssertionError("a busy part was written")
    except OSError as e:
        assert e.errno == 110  # ETIMEDOUT


def test_write_protected_part_raises_eacces_and_keeps_its_memory():
    part = Part(wp=True)
    ee = AT24(part, 0x50, 256, page=8)
    try:
        ee.write(0, b"\x01\x02")
        raise AssertionError("a protected write succeeded")
    except OSError as e:
        assert e.errno == 13  # EACCES
    assert part.mem[:2] == b"\xff\xff"


def test_wp_pin_is_released_only_while_writing():
    part = Part()
    pin = Pin()
    ee = AT24(part, 0x50, 256, page=8, wp=pin)
    assert pin.level == 1
    ee.write(0, b"\x01")
    assert pin.history == [1, 0, 1]
    part.wp = True
    try:
        ee.write(0, b"\x02")
    except OSError:
        pass
    assert pin.level == 1


def test_absent_part_times_out():
    ee = AT24(Part(), 0x51, 256, page=8, ready_ms=3)
    try:
        ee.read_into(0, bytearray(4))
        raise AssertionError("an absent part answered")
    except OSError as e:
        assert e.errno == 110
