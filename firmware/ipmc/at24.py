"""AT24Cxx serial EEPROM driver (any machine.I2C / SoftI2C).

    eeprom = AT24(i2c, addr=0x50, size=256, page=8)            # AT24C02: 8-bit addressing
    eeprom = AT24(i2c, 0x50, 8192, page=32, wp=Pin(6))          # AT24C64: 16-bit, WP pin
    eeprom.read_into(0, buf)
    eeprom.write(0x1C, data)

Memory addresses are one byte up to 256 bytes of memory, two above. A write is split
at page boundaries: the part latches at most one page per write and wraps inside the
page otherwise. After each page the part runs its internal write cycle (tWR, 5 ms on
AT24 parts) and NACKs its address until done; every transfer starts by retrying on
that NACK ("acknowledge polling") for at most `ready_ms`.

Errors are OSError, as from machine.I2C:
  ETIMEDOUT  still NACKing after ready_ms: busy, or absent
  EACCES     address and memory address ACKed, data NACKed: the part is write protected
  EIO        the bus failed
With `wp` given, the pin is driven high (protected) except while a write is running.

Caveat: give it a SoftI2C. SoftI2C reports an address NACK as ENODEV and a data NACK
as a short count; the rp2 hardware block aborts both with EIO, so there polling
treats EIO as "busy" too and a write-protected part shows as busy (ETIMEDOUT).
"""

import time
from errno import EACCES, EIO, ENODEV, ETIMEDOUT

from micropython import const

_READ_CHUNK = const(128)  # bytes per sequential read transfer
_POLL_MS = const(1)


class AT24:
    wraps = True  # addresses past the part's memory wrap to its start (fru's size probe)

    def __init__(self, i2c, addr=0x50, size=256, page=8, addrsize=None, wp=None, ready_ms=20):
        if page & (page - 1) or not 0 < page <= size:
            raise ValueError("page size must be a power of two up to the memory size")
        self.i2c = i2c
        self.addr = addr
        self.size = size
        self.page = page
        self.addrsize = addrsize or (8 if size <= 256 else 16)
        self.ready_ms = ready_ms
        self.wp = wp
        if wp is not None:
            wp.init(wp.OUT, value=1)
        self._abuf = bytearray(self.addrsize // 8)
        self._pbuf = bytearray(self.addrsize // 8 + page)
        self._pview = memoryview(self._pbuf)
        self.polls = 0  # address NACKs seen while waiting for a write cycle

    def _set_addr(self, buf, memaddr):
        if self.addrsize == 16:
            buf[0] = memaddr >> 8
            buf[1] = memaddr & 0xFF
        else:
            buf[0] = memaddr

    def _until_acked(self, attempt, *args):
        """Run attempt(*args), retrying while the part NACKs its address (write cycle)."""
        start = time.ticks_ms()
        while True:
            try:
                return attempt(*args)
            except OSError as e:
                if e.errno != ENODEV and e.errno != EIO:
                    raise
            self.polls += 1
            if time.ticks_diff(time.ticks_ms(), start) >= self.ready_ms:
                raise OSError(ETIMEDOUT)
            time.sleep_ms(_POLL_MS)

    def _read_once(self, memaddr, view):
        self._set_addr(self._abuf, memaddr)
        self.i2c.writeto(self.addr, self._abuf, False)
        self.i2c.readfrom_into(self.addr, view)

    def read_into(self, memaddr, buf):
        """Fill buf with the memory from memaddr on."""
        n = len(buf)
        if memaddr < 0 or memaddr + n > self.size:
            raise ValueError("read beyond the memory")
        view = memoryview(buf)
        done = 0
        while done < n:
            k = min(_READ_CHUNK, n - done)
            self._until_acked(self._read_once, memaddr + done, view[done : done + k])
            done += k

    def _write_page(self, n):
        wrote = self.i2c.writeto(self.addr, self._pview[: len(self._abuf) + n])
        if wrote < len(self._abuf):
            raise OSError(EIO)
        if wrote < len(self._abuf) + n:
            raise OSError(EACCES)

    def write(self, memaddr, data):
        """Write data at memaddr, one page-bounded transfer per page; bytes written.

        When a later page fails (the part stays busy), the pages already written count:
        the result is then less than len(data). A failure on the first page raises.
        """
        n = len(data)
        if memaddr < 0 or memaddr + n > self.size:
            raise ValueError("write beyond the memory")
        head = len(self._abuf)
        if self.wp is not None:
            self.wp.value(0)
        done = 0
        try:
            while done < n:
                at = memaddr + done
                k = min(self.page - at % self.page, n - done)
                self._set_addr(self._pbuf, at)
                for i in range(k):
                    self._pbuf[head + i] = data[done + i]
                self._until_acked(self._write_page, k)
                done += k
        except OSError:
            if not done:
                raise
        finally:
            if self.wp is not None:
                self.wp.value(1)
        return done

    def wait_ready(self):
        """Return once the last write cycle has finished (ETIMEDOUT after ready_ms)."""
        self._set_addr(self._abuf, 0)
        self._until_acked(self.i2c.writeto, self.addr, self._abuf)
