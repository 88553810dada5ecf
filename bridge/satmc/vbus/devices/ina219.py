"""INA219-class bus voltage / current monitor (PGA /8, 12-bit, continuous).

Registers (16 bits, MSB first): 0x00 configuration (reset 0x399F), 0x01 shunt voltage
(10 uV/bit, signed), 0x02 bus voltage ([15:3] 4 mV/bit, [1] CNVR, [0] OVF), 0x03 power,
0x04 current, 0x05 calibration (power and current read 0 until it is written).
Stimulus: bus_voltage (0..26 V), current (A, within +-320 mV across the shunt),
present. The shunt is shunt_milliohm.
"""

from __future__ import annotations

from . import Stimulus
from ._registers import RegisterChip

SHUNT_FULL_SCALE_V = 0.32  # PGA /8: +-320 mV across the shunt


class Model(RegisterChip):
    widths = {r: 2 for r in range(6)}

    def __init__(
        self, bus_voltage: float = 12.0, current: float = 0.0, shunt_milliohm: float = 100.0
    ):
        super().__init__()
        if not shunt_milliohm > 0:
            raise ValueError(f"shunt_milliohm must be above 0, not {shunt_milliohm!r}")
        self.bus_voltage = bus_voltage
        self.current = current
        self.shunt_milliohm = float(shunt_milliohm)
        self.config = 0x399F
        self.calibration = 0

    def stimulus_specs(self) -> dict[str, Stimulus]:
        amps = SHUNT_FULL_SCALE_V / (self.shunt_milliohm / 1000)
        return {
            "bus_voltage": Stimulus(float, 0, 26, "V"),
            "current": Stimulus(float, -amps, amps, "A"),
            "present": Stimulus(bool),
        }

    def _shunt(self) -> int:
        uv = self.current * self.shunt_milliohm * 1000  # A * mOhm = mV
        return max(-32000, min(32000, round(uv / 10)))

    def get(self, reg: int) -> int:
        if reg == 0x00:
            return self.config
        if reg == 0x01:
            return self._shunt() & 0xFFFF
        if reg == 0x02:
            v = max(0, min(0x1FFF, round(self.bus_voltage * 1000 / 4)))
            return v << 3 | 0x2  # conversion ready
        if reg == 0x05:
            return self.calibration
        if not self.calibration:
            return 0
        # current LSB = 0.04096 / (cal * R); power LSB = 20 * current LSB
        r = self.shunt_milliohm / 1000
        lsb = 0.04096 / (self.calibration * r)
        cur = round(self.current / lsb)
        if reg == 0x04:
            return max(-32768, min(32767, cur)) & 0xFFFF
        return max(0, min(0xFFFF, round(self.current * self.bus_voltage / (20 * lsb))))

    def put(self, reg: int, value: int) -> None:
        if reg == 0x00:
            self.config = 0x399F if value & 0x8000 else value  # [15] resets
        elif reg == 0x05:
            self.calibration = value & 0xFFFE
