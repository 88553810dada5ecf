"""Device models on a board's private virtual bus, made from the board file.

    sim:
      devices:
        - {name: temp0, model: lm75, bus: board, addr: 0x48, temperature: 25.0}

Each model is a module here with a class `Model(DeviceModel)` whose constructor takes
the entry's remaining keys, and which offers `set(**physical_values)` (the stimulus
API) and `state() -> dict`. A chip on a bus is also a bus `Target` (BusDevice); bus
devices do not answer general calls. An entry without `addr` is not on a bus: it
drives pins (`pin_state(pin)`) or ADC inputs (`adc_u16(channel)`) that the `machine`
emulation reads (see satmc.sim.board_io).
"""

from __future__ import annotations

import importlib

from ..bus import Target


class DeviceModel:
    """Base of device models: physical values behind a stimulus API."""

    def set(self, **values) -> None:
        """Change physical values (temperature, voltage, ...); unknown names raise."""
        for k, v in values.items():
            if k not in self.stimuli():
                raise ValueError(
                    f"{type(self).__name__} has no stimulus {k!r}; "
                    f"it has: {', '.join(self.stimuli())}"
                )
            setattr(self, k, v)

    def stimuli(self) -> tuple[str, ...]:
        return ()

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
    return bus, addr, name, module.Model(**e)
