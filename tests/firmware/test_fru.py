"""FRU devices: image checks, self-test bits, the three commands, no allocation on reads."""

import micropython
from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, ask, frame

from ipmc import app, fru  # noqa: F401  (app: Get Self Test Results)
from ipmc.ipmb import Request
from ipmc.link import IPMBLink
from ipmc.mc import MC, SUPPORT_FRU


def _area(body):
    n = len(body) + 1
    pad = (-n) % 8
    a = bytearray(body) + bytes(pad)
    a[1] = (len(a) + 1) // 8
    a.append(-sum(a) & 0xFF)
    return a


def image():
    """Common header and a 16-byte board area (date 0, manufacturer "A", end of fields)."""
    board = _area(b"\x01\x00\x19\x00\x00\x00\xc1A\xc1")
    hdr = bytearray(b"\x01\x00\x00\x01\x00\x00\x00")
    hdr.append(-sum(hdr) & 0xFF)
    return bytes(hdr + board)


class RAMStore:
    def __init__(self, data, size):
        self.mem = bytearray(size)
        self.mem[: len(data)] = data
        self.fail = None

    def read_into(self, at, buf):
        if self.fail:
            raise OSError(self.fail)
        for i in range(len(buf)):
            buf[i] = self.mem[at + i]

    def write(self, at, data):
        if self.fail:
            raise OSError(self.fail)
        self.mem[at : at + len(data)] = data
        return len(data)


def _mc(store_data=None, size=64):
    fru._devices.clear()
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    store = RAMStore(image() if store_data is None else store_data, size)
    dev = fru.FRUDevice(0, store, size)
    dev.load()
    fru._devices.append(dev)
    fru.update_self_test(mc)
    mc.support |= SUPPORT_FRU
    return mc, dev, store


def _ask(mc, cmd, data, locked=False):
    raw = frame(0x72, 0x0A, cmd, data)
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    if locked:
        micropython.heap_lock()
    try:
        mc.handle_frame(rq)
    finally:
        if locked:
            micropython.heap_unlock()
    ob = mc.link.outbox
    i = ob.oldest()
    rsp = bytes(ob.bufs[i][: ob.lens[i]])
    ob.state[i] = 0
    return rsp[6], rsp[7:-1]


def test_check_image_accepts_a_good_image_and_names_the_bad_part():
    img = bytearray(image() + bytes(64 - len(image())))
    assert fru.check_image(img, 64) == fru.OK
    bad = bytearray(img)
    bad[7] ^= 1
    assert fru.check_image(bad, 64) == fru.BAD_HEADER
    bad = bytearray(img)
    bad[8 + 7] ^= 0x40
    assert fru.check_image(bad, 64) == fru.BAD_BOARD
    bad = bytearray(img)
    bad[3] = 8  # board area at 64: outside
    bad[7] = -sum(bad[:7]) & 0xFF
    assert fru.check_image(bad, 64) == fru.BAD_OFFSET
    assert fru.check_image(bytearray(b"\xff" * 64), 64) == fru.BAD_HEADER


def test_multirecord_checksums():
    img = bytearray(image() + bytes(48))
    at = len(image())
    img[5] = at // 8
    img[7] = -sum(img[:7]) & 0xFF
    data = b"\x01\x02\x03"
    head = bytearray((0xC0, 0x82, len(data), -sum(data) & 0xFF))
    head.append(-sum(head) & 0xFF)
    img[at : at + 5] = head
    img[at + 5 : at + 8] = data
    assert fru.check_image(img, len(img)) == fru.OK
    img[at + 6] ^= 1
    assert fru.check_image(img, len(img)) == fru.BAD_MULTIRECORD


def test_corrupt_or_unreadable_fru_sets_self_test_bits_and_keeps_serving():
    mc, dev, store = _mc()
    assert mc.self_test_bits == 0
    bad = bytearray(image())
    bad[10] ^= 1
    mc, dev, store = _mc(bad)
    assert mc.self_test_bits == fru.SELF_TEST_FRU_CORRUPT
    assert _ask(mc, 0x11, b"\x00\x00\x00\x04")[0] == 0
    store.fail = 110
    dev.load()
    fru.update_self_test(mc)
    assert mc.self_test_bits == fru.SELF_TEST_FRU_INACCESSIBLE
    assert _ask(mc, 0x11, b"\x00\x00\x00\x04")[0] == 0x81


def test_area_info_and_read_limits():
    mc = _mc()[0]
    assert _ask(mc, 0x10, b"\x00") == (0, b"\x40\x00\x00")
    assert _ask(mc, 0x10, b"\x05")[0] == 0xCB
    cc, d = _ask(mc, 0x11, b"\x00\x00\x00\x17")
    assert cc == 0 and d[0] == 23 and d[1:] == image()[:23]
    assert _ask(mc, 0x11, b"\x00\x00\x00\x18")[0] == 0xCA
    assert _ask(mc, 0x11, b"\x00\x40\x00\x01")[0] == 0xC9
    cc, d = _ask(mc, 0x11, b"\x00\x3c\x00\x10")
    assert cc == 0 and d[0] == 4


def test_read_fru_data_does_not_allocate():
    mc = _mc()[0]
    for off in (0, 23, 46):
        cc, d = _ask(mc, 0x11, bytes((0, off, 0, 17)), locked=True)
        assert cc == 0 and d[0] == 17


def test_write_updates_store_copy_and_self_test():
    mc, dev, store = _mc()
    cc, d = _ask(mc, 0x12, b"\x00\x00\x00" + b"\x00")  # header format byte 0: corrupt
    assert (cc, d) == (0, b"\x01")
    assert store.mem[0] == 0 and dev.image[0] == 0
    assert mc.self_test_bits == fru.SELF_TEST_FRU_CORRUPT
    assert _ask(mc, 0x12, b"\x00\x00\x00\x01")[0] == 0
    assert mc.self_test_bits == 0
    assert _ask(mc, 0x12, b"\x00\x40\x00\x01")[0] == 0xC9
    assert _ask(mc, 0x12, b"\x00\x3f\x00\x01\x02")[0] == 0xCC
    store.fail = 13
    assert _ask(mc, 0x12, b"\x00\x10\x00\x55")[0] == 0x80
    store.fail = 110
    assert _ask(mc, 0x12, b"\x00\x10\x00\x55")[0] == 0x81
    assert dev.image[0x10] == store.mem[0x10] != 0x55


def test_file_store_round_trip():
    path = "/tmp/satmc-unit-fru.bin"
    try:
        import os

        os.remove(path)
    except OSError:
        pass
    st = fru.FileStore(path, 32)
    buf = bytearray(32)
    st.read_into(0, buf)
    assert buf == b"\xff" * 32
    assert st.write(4, b"abc") == 3
    st2 = fru.FileStore(path, 32)
    st2.read_into(4, memoryview(buf)[:3])
    assert bytes(buf[:3]) == b"abc"


def _eeprom_mc(part_size, declared):
    """FRU 0 on an AT24 driver declared `declared` bytes, on a part of part_size bytes."""
    from test_at24 import Part

    from ipmc.at24 import AT24

    fru._devices.clear()
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    part = Part(size=part_size, page=32)
    part.mem[: len(image())] = image()
    fru.setup(mc, [(0, AT24(part, 0x50, declared, page=32), declared)])
    return mc, part


def test_a_smaller_eeprom_than_declared_is_found_by_reading_only():
    mc, part = _eeprom_mc(4096, 8192)  # an AT24C32 where the board file says AT24C64
    assert part.page_writes == []  # the probe read, it wrote nothing
    assert fru._devices[0].size == 4096 and fru._devices[0].status == fru.OK
    assert ask(mc, 0x06, 0x04) == (0, b"\x57" + bytes([fru.SELF_TEST_FRU_INACCESSIBLE]))
    assert _ask(mc, 0x10, b"\x00") == (0, b"\x00\x10\x00")  # Get FRU Inventory Area Info
    # a write past the real part would land on the image's start: refused instead
    assert _ask(mc, 0x12, b"\x00\x00\x10\x01")[0] == 0xC9
    assert bytes(part.mem[:8]) == image()[:8]


def test_the_declared_eeprom_passes_the_probe():
    mc, part = _eeprom_mc(8192, 8192)
    assert fru._devices[0].size == 8192 and mc.self_test_bits == 0
    mc, part = _eeprom_mc(8192, 4096)  # a larger part than declared: its start is used
    assert fru._devices[0].size == 4096 and mc.self_test_bits == 0


def test_a_blank_eeprom_cannot_be_sized_without_writing_and_is_left_alone():
    from test_at24 import Part

    from ipmc.at24 import AT24

    part = Part(size=4096, page=32)  # all 0xFF: the same at any size
    dev = fru.FRUDevice(0, AT24(part, 0x50, 8192, page=32), 8192)
    dev.load()
    assert dev.size == 8192 and dev.status == fru.BAD_HEADER and part.page_writes == []


def test_repeat_size_halves_while_the_image_repeats():
    img = bytearray(b"\xff" * 256)
    img[:4] = b"\x01\x02\x03\x04"
    img[64:68] = b"\x01\x02\x03\x04"
    assert fru.repeat_size(img, 128) == 64
    assert fru.repeat_size(img, 256) == 256  # the second half differs from the first
    img[128:256] = img[:128]
    assert fru.repeat_size(img, 256) == 64
