"""The firmware config contract as data, and a check of a config against it.

    problems(board.config)      # [] when every key is present with its type

CONFIG below is the shape of board_config.CONFIG (see the package docstring): a dict
spec lists every key (none optional), a list spec the shape of its items, `Tagged`
the shapes of items told apart by one key, a tuple the alternatives (None: "not
there" as a value, never as a missing key).
"""

from __future__ import annotations


class Tagged:
    """Items told apart by `key`: {value of key: dict spec}."""

    def __init__(self, key: str, shapes: dict):
        self.key, self.shapes = key, shapes


PIN = (int, str)
I2C_BLOCK = (
    {"block": int, "scl": PIN, "sda": PIN},
    {"block": int},  # a port with fixed pins (stm32)
)
SOURCE = Tagged(
    "chip",
    {
        "lm75": {"chip": str, "addr": int, "bits": int},
        "ina219": {"chip": str, "addr": int, "measure": str, "shunt_milliohm": int},
        "ina226": {"chip": str, "addr": int, "measure": str, "shunt_milliohm": int},
        "adc": {"chip": str, "pin": int, "divider_milli": int},
        "rp2temp": {"chip": str},
        "tach": {"chip": str, "pin": int, "pulses_per_rev": int},
        "gpio": {"chip": str, "pin": int, "active_low": bool},
    },
)
_SENSOR = {
    "name": str,
    "number": int,
    "type": int,
    "kind": str,
    "source": SOURCE,
    "period_ms": int,
    "entity": [int],
    "unit": int,
    "nominal": (int, None),
}
SENSOR = Tagged(
    "kind",
    {
        "discrete": _SENSOR,
        "threshold": {
            **_SENSOR,
            "lo_milli": int,
            "res_milli": int,
            "thresholds": [int],
            "readable": int,
            "settable": int,
            "hysteresis": [int],
        },
    },
)
FRU = Tagged(
    "device",
    {
        "at24": {
            "id": int,
            "device": str,
            "addr": int,
            "size": int,
            "page": int,
            "addrsize": int,
            "wp_pin": (int, None),
        },
        "file": {"id": int, "device": str, "size": int, "path": str},
    },
)
CONFIG = {
    "name": str,
    "mcu": str,
    "firmware_version": str,
    "ipmb": {
        "address": int,
        "ga_pins": [PIN],
        "freq": int,
        "target": I2C_BLOCK,
        "controller": I2C_BLOCK,
    },
    "private_bus": ({"scl": PIN, "sda": PIN, "freq": int}, None),
    "leds": {"heartbeat": ({"pin": PIN, "active_low": bool}, None)},
    "device": {
        "device_id": int,
        "device_revision": int,
        "manufacturer_id": int,
        "product_id": int,
        "aux_firmware_revision": [int],
    },
    "watchdog_ms": int,
    "scan_period_ms": int,
    "upgrade_deadline_ms": int,
    "hpm_timeouts": {
        "upgrade_s": int,
        "self_test_s": int,
        "rollback_s": int,
        "inaccessibility_s": int,
    },
    "fru": [FRU],
    "sensors": [SENSOR],
    "fru_locators": [{"id": int, "name": str}],
    "firewall": [{"channel": int, "netfn": int, "cmd": int, "subfn": (int, None)}],
}


def problems(value, spec=CONFIG, where: str = "config") -> list[str]:
    """Every way `value` departs from `spec`, one line each ([] when it conforms)."""
    if spec is None:
        return [] if value is None else [f"{where}: expected None, got {value!r}"]
    if isinstance(spec, type):
        if isinstance(value, spec) and not (spec is int and isinstance(value, bool)):
            return []
        return [f"{where}: expected {spec.__name__}, got {value!r}"]
    if isinstance(spec, tuple):
        tries = [problems(value, s, where) for s in spec]
        return [] if any(not t for t in tries) else min(tries, key=len)
    if isinstance(spec, Tagged):
        tag = value.get(spec.key) if isinstance(value, dict) else None
        if tag not in spec.shapes:
            return [f"{where}.{spec.key}: {tag!r} is not one of {', '.join(spec.shapes)}"]
        return problems(value, spec.shapes[tag], where)
    if isinstance(spec, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        return [p for i, v in enumerate(value) for p in problems(v, spec[0], f"{where}[{i}]")]
    if not isinstance(value, dict):
        return [f"{where}: expected a mapping, got {value!r}"]
    out = [f"{where}.{k}: missing" for k in spec if k not in value]
    out += [f"{where}.{k}: not in the contract" for k in value if k not in spec]
    for k in spec:
        if k in value:
            out += problems(value[k], spec[k], f"{where}.{k}")
    return out
