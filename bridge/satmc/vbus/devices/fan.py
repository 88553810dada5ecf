"""A fan's tachometer output on a pin: pulses_per_rev falling edges per revolution.

    - {name: fan0, model: fan, pin: 6, pulses_per_rev: 2, rpm: 6000}

Not a bus device: the `machine.Pin` emulation asks for the edge rate of its pin and
calls the pin's IRQ handler at that rate. Stimulus: rpm (0..100000).
"""

from __future__ import annotations

from . import DeviceModel, Stimulus


class Model(DeviceModel):
    STIMULI = {"rpm": Stimulus(float, 0, 100_000, "rpm")}

    def __init__(self, pin: int, rpm: float = 0.0, pulses_per_rev: int = 2):
        self.pin = pin
        self.rpm = rpm
        self.pulses_per_rev = pulses_per_rev

    def pin_state(self, pin: int) -> dict | None:
        if pin != self.pin:
            return None
        return {"level": None, "hz": max(0.0, self.rpm) * self.pulses_per_rev / 60}
