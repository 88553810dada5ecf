"""The RP2040's internal temperature sensor (ADC channel 4): 0.706 V at 27 C, -1.721 mV/C.

    - {name: mcu, model: rp2temp, temperature: 35.0}

Stimulus: temperature (-40..125 C).
"""

from __future__ import annotations

from . import DeviceModel, Stimulus
from .adc import u16


class Model(DeviceModel):
    STIMULI = {"temperature": Stimulus(float, -40, 125, "C")}

    def __init__(self, temperature: float = 27.0):
        self.temperature = temperature

    def adc_u16(self, channel: int) -> int | None:
        if channel != 4:
            return None
        return u16(0.706 - (self.temperature - 27) * 0.001721)
