"""A fan's tachometer output on a pin: pulses_per_rev falling edges per revolution.

    - {name: fan0, model: fan, pin: 6, pulses_per_rev: 2, rpm: 6000}

Not a bus device: the `machine.Pin` emulation asks for the edge rate of its pin and
calls the pin's IRQ handler at that rate. Stimulus: rpm.
"""

from __future__ import annotations

from . import DeviceModel


class Model(DeviceModel):
    def __init__(self, pin: int, rpm: float = 0.0, pulses_per_rev: int = 2):
        self.pin = pin
        self.rpm = float(rpm)
        self.pulses_per_rev = pulses_per_rev

    def stimuli(self) -> tuple[str, ...]:
        return ("rpm",)

    def pin_state(self, pin: int) -> dict | None:
        if pin != self.pin:
            return None
        return {"level": None, "hz": max(0.0, self.rpm) * self.pulses_per_rev / 60}
