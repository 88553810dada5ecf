"""RP2040 ADC channels: a voltage through a divider, and the internal temperature sensor.

    v = ADCVoltage(machine.ADC(machine.Pin(26)), divider_milli=2000)
    v.read()            # millivolts at the divider's input
    t = RP2Temperature(machine.ADC(4))
    t.read()            # millidegrees C

read_u16() spans 0..65535 for 0..3.3 V (ADC_VREF). The sensor reads 0.706 V at 27 C
and falls 1.721 mV per degree (RP2040 datasheet 4.9.5).
"""

from micropython import const

_VREF_UV = const(3_300_000)


class ADCVoltage:
    def __init__(self, adc, divider_milli=1000):
        self.adc = adc
        self.divider = divider_milli

    def read(self):
        uv = self.adc.read_u16() * _VREF_UV // 65535
        return uv * self.divider // 1_000_000


class RP2Temperature:
    def __init__(self, adc):
        self.adc = adc

    def read(self):
        uv = self.adc.read_u16() * _VREF_UV // 65535
        return 27000 - (uv - 706_000) * 1000 // 1721
