"""Pins and ADC inputs of the simulated board, for the `machine` emulation.

Control ops (answered from the device models that are not on a bus):
    {"op": "pin", "pin": N}      -> {"level": 0 | 1 | null, "hz": falling edges per second,
                                     "mhz": the same per 1000 s, an integer}
    {"op": "adc", "channel": N}  -> {"u16": read_u16() value}  (channel 4: temperature sensor)
    {"op": "devices"}            -> {name: state} of every device model (bus or not)
A pin no model drives reads as null (the firmware's pull decides); an ADC channel
nothing drives reads 0.
"""

from __future__ import annotations


def install(server, models: dict, levels: dict | None = None) -> None:
    """Register the pin and adc control ops on a BusServer, answered from `models`;
    `levels` ({pin: 0 | 1}) are pins strapped to a fixed level (a slot's hardware address)."""
    levels = levels or {}

    def pin(req: dict) -> dict:
        n = int(req["pin"])
        if n in levels:
            return {"level": levels[n], "hz": 0.0, "mhz": 0}
        for m in models.values():
            state = getattr(m, "pin_state", None)
            s = state(n) if state else None
            if s is not None:
                return {**s, "mhz": round(s["hz"] * 1000)}
        return {"level": None, "hz": 0.0, "mhz": 0}

    def adc(req: dict) -> dict:
        ch = int(req["channel"])
        for m in models.values():
            read = getattr(m, "adc_u16", None)
            v = read(ch) if read else None
            if v is not None:
                return {"u16": v}
        return {"u16": 0}

    server.handlers["pin"] = pin
    server.handlers["adc"] = adc
    server.handlers["devices"] = lambda req: {n: m.state() for n, m in models.items()}
