"""The JSON Schema of the board file format, generated from this package's tables.

    python -m satmc.board.schema > boards/board.schema.json
    schema()                                # the same, as a dict

The schema states each section's fields, types, ranges and vocabularies (MCUs, AT24
parts, sensor chips, types, units, thresholds) from the very tables the loader
checks with; what it cannot state, the loader checks on top: each pin used once,
which pins an rp2 I2C block takes, pins and blocks per MCU, the geographic address
range, threshold values inside the sensor's range and in order (lnr <= lc <= lnc < unc
<= uc <= unr), SDR conversion factors, the private bus when an I2C part sits on it, the
name matching the file name, the fields of a multi-record and of a FRU source file.
tests/test_board_schema.py keeps the published file equal to this output and both
checks agreeing on broken files.
"""

from __future__ import annotations

import json

from ..ipmi import codes
from . import firewall, fru, ipmb, load, sensors
from .mcu import MCUS, PIN_NAME, UNSUPPORTED_MCUS
from .parts import AT24_PARTS, I2C_CHIPS, POWER_MONITORS, SENSOR_CHIPS


def _int(lo: int, hi: int) -> dict:
    return {"type": "integer", "minimum": lo, "maximum": hi}


def _closed(properties: dict, required=()) -> dict:
    out = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


_PIN = {
    "anyOf": [
        _int(0, max(m.pin_max for m in MCUS.values())),
        {"type": "string", "pattern": f"^{PIN_NAME}$"},
    ]
}
_NUMBER = {"type": "number"}
_FREQ = _int(ipmb.FREQ_MIN, ipmb.FREQ_MAX)
_I2C_ADDR = _int(0x08, 0x77)


def _i2c_block() -> dict:
    blocks = sorted({b for m in MCUS.values() for b in m.blocks})
    return _closed({"block": {"enum": blocks}, "scl": _PIN, "sda": _PIN}, ["block"])


def _ipmb() -> dict:
    return _closed(
        {
            "address": {**_int(ipmb.IPMB_MIN, ipmb.IPMB_MAX), "multipleOf": 2},
            "ga_pins": {"type": "array", "items": _PIN},
            "freq": _FREQ,
            "target": _i2c_block(),
            "controller": _i2c_block(),
        },
        ["address", "target", "controller"],
    )


def _source() -> dict:
    extra = {
        "lm75": {"bits": _int(9, 12)},
        "adc": {"divider": _NUMBER},
        "tach": {"pulses_per_rev": _int(1, 0xFF)},
        "gpio": {"active_low": {"type": "boolean"}},
    }
    for chip in POWER_MONITORS:
        extra[chip] = {
            "measure": {"enum": list(sensors.MEASURES)},
            "shunt_milliohm": _int(1, 0xFFFF),
        }
    branches = []
    for chip, needs in SENSOR_CHIPS.items():
        props = {"chip": {"const": chip}, **extra.get(chip, {})}
        if chip in I2C_CHIPS:
            props["addr"] = _I2C_ADDR
        if "pin" in needs:
            props["pin"] = _int(0, 255)
        branches.append(
            {
                "if": {"properties": {"chip": {"const": chip}}},
                "then": {"properties": props, "required": ["chip", *needs]},
            }
        )
    return {
        "type": "object",
        "properties": {"chip": {"enum": list(SENSOR_CHIPS)}},
        "required": ["chip"],
        "allOf": branches,
    }


def _sensor() -> dict:
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 16},
            "number": _int(0, 0xFE),
            "type": {"enum": list(sensors.TYPES)},
            "unit": {"enum": list(sensors.UNITS)},
            "source": _source(),
            "range": {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2},
            "resolution": {"type": "number", "exclusiveMinimum": 0},
            "thresholds": _closed({k: _NUMBER for k in sensors.THRESHOLDS}),
            "settable": {"type": "array", "items": {"enum": list(sensors.THRESHOLDS)}},
            "hysteresis": {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2},
            "nominal": _NUMBER,
            "period_ms": _int(sensors.PERIOD_MIN_MS, sensors.PERIOD_MAX_MS),
            "entity": {"type": "array", "items": _int(0, 0xFF), "minItems": 2, "maxItems": 2},
        },
        "required": ["name", "number", "type", "source"],
        "if": {"properties": {"type": {"not": {"const": "presence"}}}},
        "then": {"required": ["range", "resolution"]},
    }


def _fru_source() -> dict:
    """A frugy YAML path, or frugy's areas inline with the field names frugy takes."""
    areas = {}
    for area, fields in fru.frugy_fields().items():
        if fields is None:
            items = {"type": "object", "properties": {"type": {"type": "string"}}}
            areas[area] = {"type": "array", "items": {**items, "required": ["type"]}}
        else:
            areas[area] = _closed({name: {} for name in fields})
    return {"anyOf": [{"type": "string"}, _closed(areas)]}


def _fru() -> dict:
    return {
        "type": "object",
        "properties": {
            "id": _int(0, 0xFE),
            "device": {"enum": ["file", *AT24_PARTS]},
            "addr": _I2C_ADDR,
            "size": _int(8, 0xFFFF),
            "page": {"enum": [1 << n for n in range(9)]},
            "addrsize": {"enum": [8, 16]},
            "wp_pin": _int(0, 255),
            "source": _fru_source(),
        },
        "required": ["id", "device"],
        "if": {"properties": {"device": {"not": {"const": "file"}}}},
        "then": {"required": ["addr"]},
    }


def _leds() -> dict:
    led = {"anyOf": [_PIN, _closed({"pin": _PIN, "active_low": {"type": "boolean"}}, ["pin"])]}
    return _closed({name: led for name in load.LED_NAMES})


def _device() -> dict:
    ranges = {
        "device_id": _int(0, 0xFF),
        "device_revision": _int(0, 0x0F),
        "manufacturer_id": _int(0, 0xFFFFF),
        "product_id": _int(0, 0xFFFF),
        "aux_firmware_revision": {
            "type": "array",
            "items": _int(0, 0xFF),
            "minItems": 4,
            "maxItems": 4,
        },
    }
    return _closed(ranges, [k for k in load.DEVICE_FIELDS if k != "aux_firmware_revision"])


def _firewall() -> dict:
    netfns = {"anyOf": [{"enum": list(codes.NETFNS)}, _int(0, 0x3E)]}
    names = sorted({name for cmds in codes.COMMANDS.values() for name in cmds})
    entry = _closed(
        {
            "channel": {
                "anyOf": [
                    {"enum": list(codes.CHANNELS)},
                    {"enum": sorted(codes.CHANNELS.values())},
                ]
            },
            "netfn": netfns,
            "cmd": {"anyOf": [{"enum": names}, _int(0, 0xFF)]},
            "subfn": _int(0, firewall.SUBFN_MAX),
        },
        ["channel", "netfn", "cmd"],
    )
    return _closed(
        {
            "profile": {"enum": list(firewall.PROFILES)},
            "disable": {"type": "array", "items": entry},
        }
    )


def schema() -> dict:
    """The board file format as a JSON Schema (draft 2020-12)."""
    props = {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "mcu": {"enum": list(MCUS)},
        "micropython_board": {"type": "string"},
        "ipmb": _ipmb(),
        "private_bus": _closed({"scl": _PIN, "sda": _PIN, "freq": _FREQ}, ["scl", "sda"]),
        "sensors": {"type": "array", "items": _sensor()},
        "fru": {"type": "array", "items": _fru()},
        "leds": _leds(),
        "watchdog_ms": _int(0, max(m.watchdog_max_ms for m in MCUS.values())),
        "scan_period_ms": _int(load.SCAN_PERIOD_MIN_MS, load.SCAN_PERIOD_MAX_MS),
        "upgrade_deadline_ms": _int(load.UPGRADE_DEADLINE_MIN_MS, load.UPGRADE_DEADLINE_MAX_MS),
        "hpm_timeouts": _closed(
            {k: _int(load.HPM_TIMEOUT_MIN_S, load.HPM_TIMEOUT_MAX_S) for k in load.HPM_TIMEOUTS},
            [],
        ),
        "device": _device(),
        "firewall": _firewall(),
        "sim": {
            "type": "object",
            "properties": {
                "wiring": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "integer"}},
                },
                "devices": {"type": "array", "items": {"type": "object"}},
            },
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "satmc board file",
        "description": "A satmc board file (boards/README.md). Not supported as mcu: "
        + "; ".join(f"{k}: {v}" for k, v in UNSUPPORTED_MCUS.items()),
        **_closed(props, ["name", "mcu", "ipmb", "device"]),
    }


def text() -> str:
    """The schema as the published file boards/board.schema.json holds it."""
    return json.dumps(schema(), indent=2) + "\n"


if __name__ == "__main__":
    print(text(), end="")
