"""LM75 / TMP102-class temperature sensor on I2C.

    t = LM75(i2c, 0x48)
    t.read()            # millidegrees C; OSError when the chip does not answer

The temperature register (0x00) is 16 bits, MSB first, two's complement, 0.5 C per
bit in [15:7] (LM75); TMP102 parts put 12 bits in [15:4], read with bits=12.
"""

from micropython import const

_REG_TEMP = const(0x00)


class LM75:
    def __init__(self, i2c, address=0x48, bits=9):
        self.i2c = i2c
        self.address = address
        self._shift = 16 - bits
        self._step = 128000 >> (bits - 1)  # m°C per LSB: 500 for 9 bits, 62.5 -> 62 for 12
        self._buf = bytearray(2)

    def read(self):
        b = self._buf
        self.i2c.readfrom_mem_into(self.address, _REG_TEMP, b)
        v = b[0] << 8 | b[1]
        if v & 0x8000:
            v -= 0x10000
        return (v >> self._shift) * self._step
