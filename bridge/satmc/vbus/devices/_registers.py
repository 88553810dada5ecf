"""Register-pointer chips: the first written byte selects a register, more bytes write it.

    class Model(RegisterChip):
        widths = {0x00: 2, 0x01: 1}          # register -> bytes (MSB first)
        def get(self, reg) -> int: ...
        def put(self, reg, value): ...

A read returns the selected register's bytes, repeated while the controller reads on
(as LM75 and INA219 parts do). `present = False` makes the chip NACK its address,
as a chip without power or with a broken solder joint does.
"""

from __future__ import annotations

from abc import abstractmethod

from . import BusDevice


class RegisterChip(BusDevice):
    widths: dict[int, int] = {}

    def __init__(self):
        self.pointer = 0
        self.present = True
        self._written: list[int] = []
        self._out = b""
        self._pos = 0

    @abstractmethod
    def get(self, reg: int) -> int:
        """A register's value as the chip would return it now."""

    def put(self, reg: int, value: int) -> None:
        """A register write; read-only registers ignore it."""

    def addressed(self, addr7: int, read: bool) -> bool:
        if not self.present:
            return False
        self._written = []
        if read:
            n = self.widths.get(self.pointer, 2)
            self._out = self.get(self.pointer).to_bytes(n, "big")
            self._pos = 0
        return True

    def written(self, data: bytes) -> int:
        accepted = 0
        for b in data:
            if not self._written and b not in self.widths:
                break  # no such register: NACK
            self._written.append(b)
            accepted += 1
        return accepted

    def read(self, n: int, last_nack: bool) -> bytes:
        out = bytearray()
        for _ in range(n):
            out.append(self._out[self._pos % len(self._out)])
            self._pos += 1
        return bytes(out)

    def ended(self) -> None:
        w, self._written = self._written, []
        if not w:
            return
        self.pointer = w[0]
        n = self.widths[self.pointer]
        if len(w) >= 1 + n:
            self.put(self.pointer, int.from_bytes(bytes(w[1 : 1 + n]), "big"))
