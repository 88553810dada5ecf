"""LM75-class temperature sensor: 9-bit two's complement, 0.5 C per bit.

Registers: 0x00 temperature (RO, [15:7]), 0x01 configuration (8 bits),
0x02 T_HYST (default 75 C), 0x03 T_OS (default 80 C). Stimulus: temperature
(-55..125 C),
present (False: the chip NACKs).
"""

from __future__ import annotations

from . import Stimulus
from ._registers import RegisterChip


def _to9(c: float) -> int:
    v = max(-110, min(250, round(c * 2)))  # -55..125 C in 0.5 C, clamped as the ADC does
    return (v & 0x1FF) << 7


class Model(RegisterChip):
    widths = {0x00: 2, 0x01: 1, 0x02: 2, 0x03: 2}
    STIMULI = {"temperature": Stimulus(float, -55, 125, "C"), "present": Stimulus(bool)}

    def __init__(self, temperature: float = 25.0):
        super().__init__()
        self.temperature = temperature
        self.regs = {0x01: 0x00, 0x02: _to9(75), 0x03: _to9(80)}

    def get(self, reg: int) -> int:
        if reg == 0x00:
            return _to9(self.temperature)
        return self.regs[reg]

    def put(self, reg: int, value: int) -> None:
        if reg != 0x00:
            self.regs[reg] = value & (0xFF if reg == 0x01 else 0xFF80)
