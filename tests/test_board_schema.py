"""boards/board.schema.json: generated from satmc.board, and agreeing with the loader."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from test_boards import _broken, _set

from satmc.board import BOARDS_DIR, board_names, board_path, load_board
from satmc.board import schema as board_schema
from satmc.board.load import TOP_FIELDS
from satmc.errors import BoardFileError

PUBLISHED = BOARDS_DIR / "board.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(board_schema.schema())


def test_the_published_schema_is_what_the_model_generates():
    assert PUBLISHED.read_text() == board_schema.text(), (
        "boards/board.schema.json is stale: python -m satmc.board.schema > "
        "boards/board.schema.json"
    )
    jsonschema.Draft202012Validator.check_schema(json.loads(PUBLISHED.read_text()))


def test_the_schema_knows_the_loaders_fields():
    assert tuple(board_schema.schema()["properties"]) == TOP_FIELDS


@pytest.mark.parametrize("name", board_names())
def test_every_board_file_validates_against_the_schema(name):
    assert [e.message for e in VALIDATOR.iter_errors(_data(board_path(name)))] == []


def _data(path):
    return yaml.safe_load(path.read_text())


def _in(path, value):
    """Set a value at a dotted path whose parts may be list indexes ("fru.0.device")."""

    def change(data):
        *parents, last = path.split(".")
        d = data
        for k in parents:
            d = d[int(k)] if isinstance(d, list) else d[k]
        d[last] = value

    return change


# (board, change): files both the loader and the schema must refuse
BROKEN = [
    ("pico", _set("mcu", "esp32s3")),
    ("pico", _set("colour", "green")),
    ("pico", _set("ipmb.address", 0x73)),
    ("pico", _set("ipmb.address", 0x08)),
    ("pico", _set("ipmb.freq", 5)),
    ("pico", _set("ipmb.target.speed", 1)),
    ("pico", _set("watchdog_ms", "5000")),
    ("pico", _set("scan_period_ms", 10)),
    ("pico", _set("hpm_timeouts.upgrade_s", 1)),
    ("pico", _set("hpm_timeouts.reboot_s", 30)),
    ("pico", _set("device", KeyError)),
    ("pico", _set("device.device_revision", 16)),
    ("pico", _set("leds.status", 5)),
    ("pico", _set("private_bus.speed", 1)),
    ("sim", _in("fru.0.device", "at24c99")),
    ("sim", _in("sensors.0.source.chip", "tmp102")),
    ("sim", _in("sensors.0.type", "humidity")),
    ("sim", _in("sensors.0.name", "a name of more than sixteen")),
    ("sim", _in("sensors.0.thresholds.ucr", 80)),
    ("sim", _in("sensors.0.period_ms", 5)),
    ("sim", _set("firewall", {"profile": "paranoid"})),
    ("sim", _set("firewall", {"disable": [{"channel": "lan", "netfn": "app", "cmd": 2}]})),
    ("sim", _set("firewall", {"disable": [{"channel": 0, "netfn": "app", "cmd": "reboot"}]})),
    ("sim", _set("firewall", {"disable": [{"channel": 0, "netfn": "app"}]})),
    ("sim", _in("fru.0.source.BoardInfo.manufactuer", "x")),  # frugy knows no such field
    ("sim", _in("fru.0.source.BordInfo", {})),  # nor such an area
]


@pytest.mark.parametrize("board,change", BROKEN, ids=[str(i) for i in range(len(BROKEN))])
def test_a_broken_board_file_is_refused_by_loader_and_schema(tmp_path, board, change):
    path = _broken(tmp_path, board, change)
    with pytest.raises(BoardFileError):
        load_board(path)
    assert list(VALIDATOR.iter_errors(_data(path))), "the schema accepts what the loader refuses"


def test_an_accepted_variant_passes_both(tmp_path):
    path = _broken(tmp_path, "pico", _set("ipmb.ga_pins", [10, 11, 12]))
    load_board(path)
    assert list(VALIDATOR.iter_errors(_data(path))) == []
    policy = {
        "profile": "production",
        "disable": [{"channel": "serial", "netfn": "storage", "cmd": "read_fru_data", "subfn": 1}],
    }
    path = _broken(tmp_path, "sim", _set("firewall", policy))
    load_board(path)
    assert list(VALIDATOR.iter_errors(_data(path))) == []
