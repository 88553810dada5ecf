"""INA219 / INA226-class bus voltage and current monitor on I2C.

    pm = INA219(i2c, 0x40, shunt_milliohm=10)
    pm.bus_voltage()    # millivolts
    pm.current()        # milliamps (from the shunt voltage; no calibration needed)

Registers are 16 bits, MSB first: 0x00 config, 0x01 shunt voltage (10 uV/bit, signed),
0x02 bus voltage ([15:3], 4 mV/bit; [1] CNVR, [0] OVF). INA226 parts: 2.5 uV and
1.25 mV per bit, value in [15:0]; pass ina226=True.
"""

from micropython import const

_REG_CONFIG = const(0x00)
_REG_SHUNT = const(0x01)
_REG_BUS = const(0x02)
_CONFIG_219 = const(0x399F)  # 32 V range | /8 gain | 12-bit | continuous shunt and bus


class INA219:
    def __init__(self, i2c, address=0x40, shunt_milliohm=100, ina226=False):
        self.i2c = i2c
        self.address = address
        self.shunt = shunt_milliohm
        self.ina226 = ina226
        self._buf = bytearray(2)
        self._configured = False

    def _reg(self, reg):
        b = self._buf
        if not self._configured and not self.ina226:
            b[0] = _CONFIG_219 >> 8
            b[1] = _CONFIG_219 & 0xFF
            self.i2c.writeto_mem(self.address, _REG_CONFIG, b)
            self._configured = True  # again after a failed read: the chip may have reset
        try:
            self.i2c.readfrom_mem_into(self.address, reg, b)
        except OSError:
            self._configured = False
            raise
        return b[0] << 8 | b[1]

    def bus_voltage(self):
        v = self._reg(_REG_BUS)
        if self.ina226:
            return v * 5 // 4
        return (v >> 3) * 4

    def current(self):
        v = self._reg(_REG_SHUNT)
        if v & 0x8000:
            v -= 0x10000
        if self.ina226:
            return v * 5 // (2 * self.shunt)  # 2.5 uV/bit / mOhm = 2.5 mA
        return v * 10 // self.shunt  # 10 uV/bit / mOhm = 10 mA
