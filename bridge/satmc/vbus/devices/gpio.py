"""A level driven onto a pin (presence, power good).

    - {name: module, model: gpio, pin: 7, level: 0}

Not a bus device: `machine.Pin.value()` of an input reads this level. Stimulus: level
(0 or 1).
"""

from __future__ import annotations

from . import DeviceModel, Stimulus


class Model(DeviceModel):
    STIMULI = {"level": Stimulus(int, 0, 1)}

    def __init__(self, pin: int, level: int = 0):
        self.pin = pin
        self.level = level

    def pin_state(self, pin: int) -> dict | None:
        if pin != self.pin:
            return None
        return {"level": 1 if self.level else 0, "hz": 0.0}
