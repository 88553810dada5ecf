"""A voltage on an RP2040 ADC input (pins 26-29 are channels 0-3).

    - {name: rail3v3, model: adc, pin: 26, volts: 1.65}

Not a bus device: `machine.ADC.read_u16()` reads it, quantised to 12 bits as the
RP2040 does. Stimulus: volts (0..3.3 V at the pin, after any divider on the board).
"""

from __future__ import annotations

from . import DeviceModel, Stimulus

VREF = 3.3


def u16(volts: float) -> int:
    """read_u16() of a voltage: the 12-bit code scaled up as rp2 does ((c << 4) | (c >> 8))."""
    code = max(0, min(4095, round(volts / VREF * 4095)))
    return code << 4 | code >> 8


class Model(DeviceModel):
    STIMULI = {"volts": Stimulus(float, 0, VREF, "V")}

    def __init__(self, pin: int, volts: float = 0.0):
        self.channel = pin - 26 if pin >= 26 else pin
        self.volts = volts

    def adc_u16(self, channel: int) -> int | None:
        return u16(self.volts) if channel == self.channel else None
