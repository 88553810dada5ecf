"""Device models on a board's private virtual bus, made from the board file.

    sim:
      devices:
        - {name: temp0, model: lm75, bus: board, addr: 0x48, temperature: 25.0}

Each model is a module here with a class `Model(DeviceModel)` whose constructor takes
the entry's remaining keys, and which offers `set(**physical_values)` (the stimulus
API) and `state() -> dict`. Its stimuli are declared with their type and range
(`STIMULI`); `set` checks every value before it changes any and refuses a bad one
with a ValueError naming the stimulus, the range and the unit; `create` passes the
board file's initial values through `set` too. A chip on a bus is also a bus
`Target` (BusDevice); bus devices do not answer general calls. An entry without
`addr` is not on a bus: it drives pins (`pin_state(pin)`) or ADC inputs
(`adc_u16(channel)`) that the `machine` emulation reads (see satmc.sim.board_io).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

from ..bus import Target


@dataclass(frozen=True)
class Stimulus:
    """One physical value of a model: float (a number in [lo, hi]), int, or bool."""

    kind: type = float
    lo: float | None = None
    hi: float | None = None
    unit: str = ""

    def describe(self) -> str:
        if self.kind is bool:
            return "true or false"
        what = "an integer" if self.kind is int else "a number"
        unit = f" {self.unit}" if self.unit else ""
        return f"{what} from {self.lo:g} to {self.hi:g}{unit}"

    def check(self, name: str, value):
        """value converted to the stimulus's type; ValueError when it does not fit."""
        if self.kind is bool:
            if isinstance(value, bool) or value in (0, 1):
                return bool(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if self.kind is int and value != int(value):
                pass
            elif math.isfinite(value) and self.lo <= value <= self.hi:
                return self.kind(value)
        raise ValueError(f"{name} must be {self.describe()}, not {value!r}")


class DeviceModel:
    """Base of device models: physical values behind a stimulus API."""

    STIMULI: dict[str, Stimulus] = {}

    def set(self, **values) -> None:
        """Change physical values (temperature, voltage, ...), all or none: an unknown
        name or a value of the wrong type or out of range raises ValueError."""
        checked = {}
        for k, v in values.items():
            spec = self.stimulus_specs().get(k)
            if spec is None:
                raise ValueError(
                    f"{type(self).__name__} has no stimulus {k!r}; "
                    f"it has: {', '.join(self.stimuli())}"
                )
            checked[k] = spec.check(k, v)
        for k, v in checked.items():
            setattr(self, k, v)

    def stimulus_specs(self) -> dict[str, Stimulus]:
        """Type and range of each stimulus (instance-specific where the part needs it)."""
        return self.STIMULI

    def stimuli(self) -> tuple[str, ...]:
        return tuple(self.stimulus_specs())

    def state(self) -> dict:
        return {k: getattr(self, k) for k in self.stimuli()}


class BusDevice(DeviceModel, Target):
    """A device model that is a chip on a virtual bus (register-level behaviour)."""

    general_call = False


def create(entry: dict) -> tuple[str, int | None, str, DeviceModel]:
    """(bus, addr7, name, model) for one board-file device entry; addr7 None: not on a bus."""
    e = dict(entry)
    model = e.pop("model")
    bus = e.pop("bus", "board")
    addr = e.pop("addr", None)
    name = e.pop("name", f"{model}@{addr:#04x}" if addr is not None else model)
    try:
        module = importlib.import_module(f"{__name__}.{model}")
    except ModuleNotFoundError:
        raise ValueError(f"unknown device model {model!r}") from None
    try:  # the entry's physical values go through set()'s checks
        m = module.Model(**e)
        m.set(**{k: v for k, v in e.items() if k in m.stimulus_specs()})
    except (TypeError, ValueError) as err:
        raise ValueError(f"device {name!r} ({model}): {err}") from None
    return bus, addr, name, m
