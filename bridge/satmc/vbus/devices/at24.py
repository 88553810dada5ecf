"""AT24Cxx serial EEPROM model: page writes, write cycle, write protect, persistence.

    sim:
      devices:
        - {name: fru0, model: at24, bus: board, addr: 0x50, part: at24c02}

Behaviour of the real part:
  * a write sends the memory address (1 byte up to 256 bytes of memory, 2 above), then
    data; data bytes latch into the addressed page and wrap inside it (the part never
    crosses a page in one write); STOP starts the internal write cycle;
  * during the write cycle (tWR, `twr_ms` of real time) the part NACKs its address;
  * a read returns memory from the address pointer and wraps at the end of memory; a
    read without a memory address continues from the last position ("current address");
  * memory address bits above the part's size are ignored: a part smaller than a board
    file declares shows its memory again past its end (an AT24C32 answers at 0x1005 what
    it holds at 0x0005), which the firmware's FRU size probe looks for; a repeated START
    drops bytes latched without a STOP, so a read never writes;
  * with write protect on, the address and memory address are ACKed and every data byte
    is NACKed; nothing is written (as AT24C02D/AT24C64D do with WP high).
A write cycle that completes updates `file` (when set) in full, so a restarted simulator
finds the contents as the part would keep them.

Stimuli: wp (bool), twr_ms (0..1000 ms), poke ([offset, "hex bytes"]: change memory behind
the bus, e.g. to corrupt an image). state() also reports the memory as hex.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ...board.parts import AT24_PARTS, at24_addrsize
from . import BusDevice, Stimulus


class Model(BusDevice):
    def __init__(
        self, part: str = "at24c02", twr_ms: float = 5.0, wp: bool = False, file: str | None = None
    ):
        if part not in AT24_PARTS:
            raise ValueError(f"unknown EEPROM part {part!r}; parts: {', '.join(AT24_PARTS)}")
        self.part = part
        self.size, self.page = AT24_PARTS[part]
        self.addr_bytes = at24_addrsize(self.size) // 8
        self.mem = bytearray(b"\xff" * self.size)
        self.twr_ms = twr_ms
        self.wp = wp
        self.file: Path | None = None
        self.writes = 0  # write cycles run
        self.nacked_busy = 0  # address NACKs during write cycles
        self._lock = threading.Lock()
        self._busy_until = 0.0
        self._ptr = 0  # the address counter
        self._new_ptr = 0  # memory address bytes being received
        self._addr_left = 0
        self._latch: dict[int, int] = {}
        if file:
            self.use_file(Path(file))

    # --- persistence ----------------------------------------------------------------------

    def use_file(self, path: Path, initial: bytes | None = None) -> bool:
        """Keep the memory in path: load it when it exists (True), else start it from
        `initial` (or blank) and create it (False)."""
        self.file = Path(path)
        if self.file.exists():
            data = self.file.read_bytes()[: self.size]
            self.mem[: len(data)] = data
            return True
        if initial is not None:
            if len(initial) > self.size:
                raise ValueError(f"{len(initial)}-byte image does not fit a {self.part}")
            self.mem[: len(initial)] = initial
        self._save()
        return False

    def _save(self) -> None:
        if self.file is None:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(self.file.suffix + ".tmp")
        tmp.write_bytes(bytes(self.mem))
        os.replace(tmp, self.file)

    # --- bus target -----------------------------------------------------------------------

    def busy(self) -> bool:
        return time.monotonic() < self._busy_until

    def addressed(self, addr7: int, read: bool) -> bool:
        with self._lock:
            if self.busy():
                self.nacked_busy += 1
                return False
            self._latch = {}
            self._addr_left = 0 if read else self.addr_bytes
            self._new_ptr = 0
            return True

    def written(self, data: bytes) -> int:
        with self._lock:
            for i, b in enumerate(data):
                if self._addr_left:
                    self._new_ptr = (self._new_ptr << 8 | b) % self.size
                    self._addr_left -= 1
                    if not self._addr_left:
                        self._ptr = self._new_ptr
                    continue
                if self.wp:
                    return i
                base = self._ptr - self._ptr % self.page
                self._latch[self._ptr] = b
                self._ptr = base + (self._ptr + 1) % self.page
            return len(data)

    def read(self, n: int, last_nack: bool) -> bytes:
        with self._lock:
            out = bytearray(n)
            for i in range(n):
                out[i] = self.mem[self._ptr]
                self._ptr = (self._ptr + 1) % self.size
            return bytes(out)

    def ended(self) -> None:
        with self._lock:
            if not self._latch:
                return
            for a, b in self._latch.items():
                self.mem[a] = b
            self._latch = {}
            self.writes += 1
            self._busy_until = time.monotonic() + self.twr_ms / 1000.0
            self._save()

    # --- stimulus ---------------------------------------------------------------------------

    STIMULI = {"wp": Stimulus(bool), "twr_ms": Stimulus(float, 0, 1000, "ms")}

    def stimuli(self) -> tuple[str, ...]:
        return (*self.STIMULI, "poke")

    def set(self, **values) -> None:
        poke = values.pop("poke", None)
        if poke is not None:  # checked before anything changes
            offset, data = self._poke(poke)
        super().set(**values)
        if poke is not None:
            with self._lock:
                self.mem[offset : offset + len(data)] = data
                self._save()

    def _poke(self, poke) -> tuple[int, bytes]:
        try:
            offset, text = poke
            if isinstance(offset, bool) or not isinstance(offset, int):
                raise TypeError
            data = bytes.fromhex(text)
        except (TypeError, ValueError):
            raise ValueError(f'poke must be [offset, "hex bytes"], not {poke!r}') from None
        if offset < 0 or offset + len(data) > self.size:
            raise ValueError(f"poke at {offset} of {len(data)} bytes is outside the memory")
        return offset, data

    def state(self) -> dict:
        return {
            "part": self.part,
            "size": self.size,
            "page": self.page,
            "wp": self.wp,
            "twr_ms": self.twr_ms,
            "writes": self.writes,
            "nacked_busy": self.nacked_busy,
            "file": str(self.file) if self.file else None,
            "mem": self.mem.hex(),
        }
