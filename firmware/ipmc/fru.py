"""FRU inventory devices: Get FRU Inventory Area Info, Read FRU Data, Write FRU Data.

    from ipmc import fru
    fru.setup(mc, [(0, store, 256)])   # (FRU id, store, size); stores come from ipmc.wiring

Each FRU device id is backed by a store: an AT24 EEPROM on the board's private I2C
bus, or a file on the flash filesystem (boards without an EEPROM). The whole FRU is
read into RAM at boot, so Read FRU Data is served from that copy without touching
the bus or allocating. Write FRU Data writes through to the store and then refreshes
the copy by reading the written bytes back, so the copy holds what the part holds.
The copy costs `size` bytes of RAM per device; a board file can give a large part a
smaller `size` to expose (and keep) only its beginning.

At boot, and after every write, the image is checked: common header (format 1,
checksum), offsets inside the device, the chassis, board and product areas (format,
length, zero-sum checksum) and the multi-record list (header and record checksums).
A failed check sets Get Self Test Results bit 2 (FRU corrupt); a store that cannot
be read sets bit 5 (FRU inaccessible). The controller keeps serving either way.

Size probe (at boot, EEPROMs only): an AT24 ignores the memory address bits above its
size, so a part smaller than the board file declares shows its memory again past its
end. (A part that takes one address byte where two are sent shows a shifted copy
instead, found by the image check as a corrupt header.) The boot copy is compared half
against half, read only: when the second half repeats the first, and the first is not
one byte value throughout (a blank part looks the same at any size, so it cannot be
told), the device is taken to hold the smaller size. Nothing is written to find out.
Then the device serves only that size (a write past it would land on the image's
start), bit 5 (FRU inaccessible, as declared) is set and the boot prints the sizes.

Completion codes: Read FRU Data answers CA when more than one response can carry is
asked (23 bytes on IPMB, 31 on Serial Basic Mode), C9 for an offset at or past the end,
and fewer bytes than asked at
the end. Write FRU Data answers 80 when the part is write protected, 81 when it stays
busy (or cannot be read), C9 for an offset past the end, CC for data running past it;
its count written is short when the part stayed busy after the first pages.
"""

from errno import EACCES

from micropython import const

from .dispatch import (
    CC_CANNOT_RETURN,
    CC_INVALID_DATA,
    CC_NOT_PRESENT,
    CC_OUT_OF_RANGE,
    NETFN_STORAGE,
    command,
    declare_subfunctions,
)
from .mc import SUPPORT_FRU

_COUNT_BYTE = const(1)  # Read FRU Data response data: count returned, then the bytes
_CC_WRITE_PROTECTED = const(0x80)
_CC_BUSY = const(0x81)

SELF_TEST_FRU_CORRUPT = const(0x04)  # 57h byte 2 [2]: FRU internal use / data corrupt
SELF_TEST_FRU_INACCESSIBLE = const(0x20)  # 57h byte 2 [5]: cannot access the FRU device

# check_image() results: 0 good, else which part failed
OK = const(0)
BAD_HEADER = const(1)
BAD_OFFSET = const(2)
BAD_CHASSIS = const(3)
BAD_BOARD = const(4)
BAD_PRODUCT = const(5)
BAD_MULTIRECORD = const(6)
UNREADABLE = const(7)
PROBLEMS = (
    "ok",
    "common header checksum or format bad",
    "an area offset points outside the device",
    "chassis info area checksum or length bad",
    "board info area checksum or length bad",
    "product info area checksum or length bad",
    "multi-record area checksum bad",
    "device cannot be read",
)
_PROBE_MIN = const(16)  # the smallest part size the probe halves down to
_MAX_RECORDS = const(64)


def _sum(buf, start, end):
    s = 0
    for i in range(start, end):
        s += buf[i]
    return s & 0xFF


def check_image(buf, size):
    """Validate the FRU image in buf[:size]; OK or the BAD_* code of the first fault."""
    if size < 8 or buf[0] & 0x0F != 1 or _sum(buf, 0, 8):
        return BAD_HEADER
    for i, bad in ((2, BAD_CHASSIS), (3, BAD_BOARD), (4, BAD_PRODUCT)):
        at = buf[i] * 8
        if not at:
            continue
        if at + 8 > size:
            return BAD_OFFSET
        end = at + buf[at + 1] * 8
        if buf[at] & 0x0F != 1 or end == at or end > size or _sum(buf, at, end):
            return bad
    at = buf[1] * 8
    if at >= size:
        return BAD_OFFSET
    at = buf[5] * 8
    if at:
        for _ in range(_MAX_RECORDS):
            if at + 5 > size:
                return BAD_OFFSET
            end = at + 5 + buf[at + 2]
            if end > size or _sum(buf, at, at + 5):  # header: type, flags, length, 2 sums
                return BAD_MULTIRECORD
            if (_sum(buf, at + 5, end) + buf[at + 3]) & 0xFF:  # record data
                return BAD_MULTIRECORD
            if buf[at + 1] & 0x80:
                break
            at = end
        else:
            return BAD_MULTIRECORD
    return OK


def _repeats(buf, half):
    """buf[half:2*half] equals buf[:half], and buf[:half] is not one value throughout."""
    first = buf[0]
    uniform = True
    for i in range(half):
        b = buf[i]
        if b != buf[half + i]:
            return False
        if b != first:
            uniform = False
    return not uniform


def repeat_size(buf, size):
    """The size the image in buf[:size] repeats at (size when it does not): the memory
    an EEPROM that wraps its addresses holds."""
    n = size
    while n >= 2 * _PROBE_MIN and not n & 1 and _repeats(buf, n >> 1):
        n >>= 1
    return n


class FileStore:
    """A FRU kept in a file of `size` bytes (created blank, 0xFF, when missing)."""

    wraps = False  # a file does not repeat past its end (no size probe)

    def __init__(self, path, size):
        self.path = path
        self.size = size
        try:
            with open(path, "rb") as f:
                have = len(f.read())
        except OSError:
            have = 0
        if have < size:
            with open(path, "ab") as f:
                f.write(b"\xff" * (size - have))

    def read_into(self, memaddr, buf):
        with open(self.path, "rb") as f:
            f.seek(memaddr)
            f.readinto(buf)

    def write(self, memaddr, data):
        with open(self.path, "r+b") as f:
            f.seek(memaddr)
            return f.write(data)


class FRUDevice:
    """One FRU device id: its store and the RAM copy requests are served from."""

    def __init__(self, fru_id, store, size):
        self.id = fru_id
        self.store = store
        self.size = size
        self.image = bytearray(size)
        self.loaded = False
        self.status = UNREADABLE
        self.declared = size  # the board file's size; self.size is less after a probe

    def load(self):
        """Read the whole store into RAM and check it; the check result. The first load
        of an EEPROM probes its size (module docstring)."""
        try:
            self.store.read_into(0, self.image)
            if not self.loaded and getattr(self.store, "wraps", False):
                self.size = repeat_size(self.image, self.declared)
            self.loaded = True
            self.status = check_image(self.image, self.size)
        except OSError:
            self.loaded = False
            self.status = UNREADABLE
        return self.status

    def write(self, offset, data):
        """Write through to the store, refresh the copy from it; (completion code, written)."""
        if not self.loaded and self.load() == UNREADABLE:
            return _CC_BUSY, 0
        try:
            n = self.store.write(offset, data)
        except OSError as e:
            return (_CC_WRITE_PROTECTED if e.args[0] == EACCES else _CC_BUSY), 0
        img = self.image
        for i in range(n):
            img[offset + i] = data[i]
        try:
            self.store.read_into(offset, memoryview(img)[offset : offset + n])
        except OSError:
            pass  # a write cycle longer than the driver waits: keep what the part ACKed
        self.status = check_image(img, self.size)
        return 0, n


_devices = []  # FRUDevice per declared FRU device id


def _find(fru_id):
    for d in _devices:
        if d.id == fru_id:
            return d
    return None


def update_self_test(mc):
    bits = 0
    for d in _devices:
        if d.status == UNREADABLE or d.size != d.declared:
            bits |= SELF_TEST_FRU_INACCESSIBLE
        elif d.status:
            bits |= SELF_TEST_FRU_CORRUPT
    mc.self_test_bits = (
        mc.self_test_bits & ~(SELF_TEST_FRU_CORRUPT | SELF_TEST_FRU_INACCESSIBLE)
    ) | bits


@command(NETFN_STORAGE, 0x10, 1, subfn_at=0)  # sub-function: the FRU id
def get_fru_inventory_area_info(mc, rq, rs):
    d = _find(rq.data[0])
    if d is None:
        return rs.fail(CC_NOT_PRESENT)
    rs.data[0] = d.size & 0xFF
    rs.data[1] = d.size >> 8
    rs.data[2] = 0  # [0] 0: accessed by bytes
    return rs.ok(3)


@command(NETFN_STORAGE, 0x11, 4, subfn_at=0)
def read_fru_data(mc, rq, rs):
    q = rq.data
    d = _find(q[0])
    if d is None:
        return rs.fail(CC_NOT_PRESENT)
    if not d.loaded:
        return rs.fail(_CC_BUSY)
    offset = q[1] | q[2] << 8
    n = q[3]
    if n > rs.max_data - _COUNT_BYTE:
        return rs.fail(CC_CANNOT_RETURN)
    if offset >= d.size:
        return rs.fail(CC_OUT_OF_RANGE)
    if offset + n > d.size:
        n = d.size - offset
    out = rs.data
    img = d.image
    out[0] = n
    for i in range(n):
        out[1 + i] = img[offset + i]
    return rs.ok(1 + n)


@command(NETFN_STORAGE, 0x12, 4, 33, subfn_at=0)  # 22 bytes fit IPMB, 30 Serial Basic
def write_fru_data(mc, rq, rs):
    q = rq.data
    d = _find(q[0])
    if d is None:
        return rs.fail(CC_NOT_PRESENT)
    offset = q[1] | q[2] << 8
    n = rq.data_len - 3
    if offset >= d.size:
        return rs.fail(CC_OUT_OF_RANGE)
    if offset + n > d.size:
        return rs.fail(CC_INVALID_DATA)
    cc, written = d.write(offset, q[3 : 3 + n])
    update_self_test(mc)
    if cc:
        return rs.fail(cc)
    rs.data[0] = written  # fewer than sent when the part stayed busy after some pages
    return rs.ok(1)


def setup(mc, devices):
    """Load and check the board's FRU devices ((id, store, size) each, made by wiring),
    register FRU support."""
    if not devices:
        return
    for fru_id, store, size in devices:
        dev = FRUDevice(fru_id, store, size)
        if dev.load():
            print("satmc: FRU %d: %s" % (dev.id, PROBLEMS[dev.status]))
        if dev.size != size:
            print(
                "satmc: FRU %d: the board file declares %d bytes, the EEPROM repeats every %d"
                " (a smaller part than declared): serving %d bytes"
                % (dev.id, size, dev.size, dev.size)
            )
        _devices.append(dev)
    ids = [fru_id for fru_id, _, _ in devices if fru_id < 32]
    for cmd in (0x10, 0x11, 0x12):  # the firewall may switch single FRU devices off
        declare_subfunctions(NETFN_STORAGE, cmd, ids)
    update_self_test(mc)
    mc.support |= SUPPORT_FRU
