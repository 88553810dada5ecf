"""Board files: every shipped board validates; a broken one names the field and the reason."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from satmc.board import BOARDS_DIR, FIRMWARE_DIR, MCUS, board_names, contract, load_board
from satmc.errors import BoardFileError

REAL_BOARDS = ["pico", "pico2", "pyboard"]


def test_the_shipped_boards_are_there():
    assert set(board_names()) >= {"sim", *REAL_BOARDS}


@pytest.mark.parametrize("name", board_names())
def test_board_file_validates(name):
    board = load_board(name)
    cfg = board.config
    assert cfg["name"] == name
    assert cfg["mcu"] in MCUS
    assert cfg["ipmb"]["target"]["block"] != cfg["ipmb"]["controller"]["block"]
    assert 0 <= cfg["watchdog_ms"] <= MCUS[cfg["mcu"]].watchdog_max_ms


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_real_boards_have_what_the_firmware_needs(name):
    cfg = load_board(name).config
    assert cfg["private_bus"] and cfg["leds"]["heartbeat"]
    assert cfg["watchdog_ms"] > 0
    assert load_board(name).data["micropython_board"]


@pytest.mark.parametrize("name", REAL_BOARDS)
def test_simulation_overlay_wires_every_pin(name):
    board = load_board(name).for_simulation()
    cfg, wiring = board.config, board.sim["wiring"]
    for role in ("target", "controller"):
        assert {cfg["ipmb"][role]["scl"], cfg["ipmb"][role]["sda"]} <= set(wiring["ipmb"])
    assert [cfg["private_bus"]["scl"], cfg["private_bus"]["sda"]] == wiring["board"]
    assert cfg["mcu"] == "unix"


def _broken(tmp_path, name, change):
    data = yaml.safe_load((BOARDS_DIR / f"{name}.yaml").read_text())
    change(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _set(path, value):
    def change(data):
        *parents, last = path.split(".")
        d = data
        for k in parents:
            d = d.setdefault(k, {})  # a section the file leaves out: given now
        if value is KeyError:
            del d[last]
        else:
            d[last] = value

    return change


# (board, field, new value, the error message must contain)
BROKEN = [
    ("pico", "mcu", "esp32s3", "pico.mcu: esp32s3 is not supported: MicroPython's I2CTarget"),
    ("pico", "mcu", "avr", "pico.mcu: 'avr' is not one of"),
    ("pico", "name", KeyError, "pico.name: missing"),
    ("pico", "ipmb.address", 0x73, "pico.ipmb.address: 0x73 is odd"),
    ("pico", "ipmb.address", 0x08, "pico.ipmb.address: 8 is not an integer in 0x10..0xee"),
    ("pico", "ipmb.target.scl", 2, "pico.ipmb.target.scl: GP2 cannot be SCL of I2C0"),
    (
        "pico",
        "ipmb.controller.sda",
        8,
        "pico.ipmb.controller.sda: GP8 cannot be SDA of I2C1 (I2C1 SDA is on GP2, GP6",
    ),
    ("pico", "ipmb.controller.block", 0, "pico.ipmb.controller.scl: GP3 cannot be SCL of I2C0"),
    (
        "pico",
        "ipmb.controller.sda",
        0,
        "pico.ipmb.controller.sda: pin 0 is already used by IPMB target SDA",
    ),
    ("pico", "ipmb.target.block", 2, "pico.ipmb.target.block: 2 is not an I2C block of rp2040"),
    ("pico", "ipmb.target.sda", 30, "pico.ipmb.target.sda: 30 is not a GPIO number of rp2040"),
    (
        "pico",
        "private_bus.sda",
        0,
        "pico.private_bus.sda: pin 0 is already used by IPMB target SDA",
    ),
    ("pico", "private_bus.clock", 5, "pico.private_bus.clock: unknown field"),
    (
        "pico",
        "leds.heartbeat",
        1,
        "pico.leds.heartbeat.pin: pin 1 is already used by IPMB target SCL",
    ),
    ("pico", "leds.status", 15, "pico.leds.status: unknown LED"),
    ("pico", "watchdog_ms", 9000, "pico.watchdog_ms: 9000 is not an integer in 0..8388"),
    ("pico", "scan_period_ms", 10, "pico.scan_period_ms: 10 is not an integer in 100..60000"),
    ("pico", "hpm_timeouts", 30, "pico.hpm_timeouts: expected a mapping of upgrade_s"),
    ("pico", "hpm_timeouts.reboot_s", 30, "pico.hpm_timeouts.reboot_s: unknown field"),
    (
        "pico",
        "hpm_timeouts.upgrade_s",
        2000,
        "pico.hpm_timeouts.upgrade_s: 2000 is not an integer in 5..1275",
    ),
    (
        "pico",
        "hpm_timeouts.rollback_s",
        30,
        "pico.hpm_timeouts.rollback_s: 30 s is shorter than upgrade_deadline_ms (60000)",
    ),
    (
        "pico",
        "ipmb.ga_pins",
        [10, 11, 12, 13, 14, 15, 16],
        "pico.ipmb.ga_pins: base 0x72 + 2 x 127 = 0x170 exceeds 0xee",
    ),
    ("pico", "ipmb.ga_pins", "10", "pico.ipmb.ga_pins: expected a list of pins"),
    ("pico", "sensors", {"a": 1}, "pico.sensors: expected a list, got dict"),
    ("pico", "fru", {"id": 0}, "pico.fru: expected a list, got dict"),
    ("pico", "devise", {}, "pico.devise: unknown field"),
    ("pico", "device.product_id", 0x10000, "pico.device.product_id: 65536 is not an integer"),
    (
        "pico",
        "device.aux_firmware_revision",
        [1, 2],
        "pico.device.aux_firmware_revision: expected 4",
    ),
    (
        "pyboard",
        "ipmb.target.scl",
        "X9",
        "pyboard.ipmb.target.scl: stm32 I2C blocks have fixed pins",
    ),
    ("pyboard", "private_bus.scl", 5, "pyboard.private_bus.scl: 5 is not a pin name of stm32"),
    ("pyboard", "watchdog_ms", 40000, "pyboard.watchdog_ms: 40000 is not an integer in 0..32767"),
    ("sim", "ipmb.controller.block", 0, "sim.ipmb.controller.block: same block as the target"),
    (
        "sim",
        "sim.wiring",
        {"ipmb": "0,1"},
        "sim.sim.wiring: expected bus name -> list of pin numbers",
    ),
    ("sim", "firewall", {"profile": "paranoid"}, "sim.firewall.profile: 'paranoid' is not one"),
    ("sim", "firewall", {"rules": []}, "sim.firewall.rules: unknown field"),
    (
        "sim",
        "firewall",
        {"disable": [{"channel": "lan", "netfn": "app", "cmd": 2}]},
        "sim.firewall.disable[0].channel: 'lan' is not a channel (known: ipmb (0), serial (1))",
    ),
    (
        "sim",
        "firewall",
        {"disable": [{"channel": "ipmb", "netfn": 7, "cmd": 2}]},
        "sim.firewall.disable[0].netfn: 7 is not a request netFn",
    ),
    (
        "sim",
        "firewall",
        {"disable": [{"channel": "ipmb", "netfn": "app", "cmd": "reboot"}]},
        "sim.firewall.disable[0].cmd: 'reboot' is not a command of netFn 0x06",
    ),
    (
        "sim",
        "firewall",
        {"disable": [{"channel": "serial", "netfn": "app", "cmd": "set_command_enables"}]},
        "sim.firewall.disable[0]: netFn 0x06 cmd 0x60 is a firewall command",
    ),
    (
        "sim",
        "firewall",
        {"disable": [{"channel": "ipmb", "netfn": "app", "cmd": 2, "subfn": 1}]},
        "sim.firewall.disable[0].subfn: netFn 0x06 cmd 0x02 has no sub-functions",
    ),
    (
        "sim",
        "firewall",
        {"disable": [{"channel": "ipmb", "netfn": "storage", "cmd": 0x11, "subfn": 32}]},
        "sim.firewall.disable[0].subfn: 32 is not an integer in 0x0..0x1f",
    ),
]


def test_firewall_policy_becomes_the_disabled_list(tmp_path):
    section = {
        "profile": "production",
        "disable": [
            {"channel": "serial", "netfn": "app", "cmd": "cold_reset"},
            {"channel": 0, "netfn": 0x0A, "cmd": "read_fru_data", "subfn": 1},
            {"channel": "ipmb", "netfn": "storage", "cmd": 0x12},  # also in the profile
        ],
    }
    cfg = load_board(_broken(tmp_path, "sim", _set("firewall", section))).config["firewall"]
    got = {(e["channel"], e["netfn"], e["cmd"], e["subfn"]) for e in cfg}
    assert (1, 0x06, 0x02, None) in got and (0, 0x0A, 0x11, 1) in got
    assert (0, 0x0A, 0x12, None) in got and (0, 0x06, 0x02, None) in got  # production
    assert (0, 0x2C, 0x32, None) in got  # HPM.1 Upload Firmware Block
    assert len(cfg) == len(got)  # each once
    assert load_board("sim").config["firewall"] == []


@pytest.mark.parametrize(
    "board,path,value,message", BROKEN, ids=[f"{b[0]}.{b[1]}" for b in BROKEN]
)
def test_broken_board_file_names_field_and_reason(tmp_path, board, path, value, message):
    with pytest.raises(BoardFileError) as e:
        load_board(_broken(tmp_path, board, _set(path, value)))
    assert message in str(e.value)


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(BoardFileError, match="no board file .*nope.yaml; boards: .*pico, pico2"):
        load_board("nope")


def test_not_yaml(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(BoardFileError, match="bad.yaml: not valid YAML"):
        load_board(p)


@pytest.mark.parametrize(
    "text, why",
    [
        # found by the fuzzer (fuzz/corpus/board/finding-*): PyYAML's own exceptions
        ("name: 2001-12-14 21:99:00\n", r"cannot construct \(minute must be in 0..59\)"),
        ("name: 2001-02-30\n", r"cannot construct \(day is out of range for month\)"),
        ("name: !!timestamp 'x'\n", "a value PyYAML cannot construct"),
        ("name: !!int 'x'\n", "a value PyYAML cannot construct"),
        ("[" * 3000, "nested too deeply"),
    ],
)
def test_yaml_pyyaml_cannot_construct_is_one_line(tmp_path, text, why):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(BoardFileError, match=f"bad.yaml: not valid YAML: .*{why}") as e:
        load_board(p)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("type", {"a": 1}, "sensors[0].type: {'a': 1} is not one of"),
        ("unit", [1], "sensors[0].unit: [1] is not one of"),
        ("settable", [[1]], "sensors[0].settable: expected a list of thresholds it has"),
        ("source", {"chip": [1]}, "sensors[0].source.chip: [1] is not one of"),
    ],
)
def test_a_mapping_or_list_where_a_name_belongs_is_one_line(tmp_path, key, value, message):
    def change(data):
        data["sensors"][0][key] = value

    with pytest.raises(BoardFileError, match=re.escape(message)):
        load_board(_broken(tmp_path, "sim", change))


def test_geographic_address_pins_are_accepted(tmp_path):
    board = load_board(_broken(tmp_path, "pico", _set("ipmb.ga_pins", [10, 11, 12])))
    assert board.config["ipmb"]["ga_pins"] == [10, 11, 12]
    assert board.for_simulation().config["ipmb"]["ga_pins"] == []


@pytest.mark.parametrize("name", board_names())
def test_board_config_keeps_the_firmware_contract(name):
    """Every key of board_config.CONFIG present with its type (the firmware indexes it)."""
    board = load_board(name)
    assert contract.problems(board.config) == []
    assert contract.problems(board.for_simulation().config) == []


def test_the_contract_check_names_a_missing_key():
    cfg = copy.deepcopy(load_board("sim").config)
    del cfg["sensors"][0]["source"]["bits"]
    cfg["leds"] = {}
    assert contract.problems(cfg) == [
        "config.leds.heartbeat: missing",
        "config.sensors[0].source.bits: missing",
    ]


def test_only_the_wiring_module_imports_machine():
    """Feature modules get machine objects from ipmc.wiring (STYLE.md: the board's wiring).
    The one other: the boot selector, which resets out of a failed trial bundle before
    (and without) any bundle's wiring."""
    importers = sorted(
        p.relative_to(FIRMWARE_DIR).as_posix()
        for p in FIRMWARE_DIR.rglob("*.py")
        if re.search(r"^\s*(import machine|from machine import)", p.read_text(), re.M)
    )
    assert importers == ["ipmc/wiring.py", "satboot.py"]


def _sim_with(tmp_path, change, name="sim"):
    """boards/sim.yaml changed by change(data), written as tmp_path/NAME.yaml."""
    data = yaml.safe_load((BOARDS_DIR / "sim.yaml").read_text())
    change(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _thresholds(**values):
    def change(data):
        data["sensors"][0]["thresholds"] = values
        data["sensors"][0]["settable"] = list(values)

    return change


# Board Temp: range -20..107.5 in 0.5 steps. (thresholds, the error must contain)
MISORDERED = [
    ({"lnc": 5, "lc": 10}, "sim.sensors[0].thresholds.lnc: 5 (lnc must be at or above lc, 10)"),
    ({"lnc": 60, "unc": 60}, "sim.sensors[0].thresholds.unc: 60 (unc must be above lnc, 60)"),
    ({"lc": 70, "unc": 60}, "sim.sensors[0].thresholds.unc: 60 (unc must be above lc, 70)"),
    ({"unc": 80, "uc": 75}, "sim.sensors[0].thresholds.uc: 75 (uc must be at or above unc, 80)"),
    ({"lnr": 3, "unr": 2}, "sim.sensors[0].thresholds.unr: 2 (unr must be above lnr, 3)"),
    # equal once rounded to the resolution: what the satellite would hold is out of order
    ({"lnc": 60.1, "unc": 60.2}, "sim.sensors[0].thresholds.unc: 60.2 (unc must be above lnc"),
]


@pytest.mark.parametrize("values,message", MISORDERED)
def test_thresholds_out_of_order_are_refused_naming_the_field(tmp_path, values, message):
    with pytest.raises(BoardFileError) as e:
        load_board(_sim_with(tmp_path, _thresholds(**values)))
    assert message in str(e.value)
    assert "lnr <= lc <= lnc < unc <= uc <= unr" in str(e.value)


def test_ordered_thresholds_with_equal_neighbours_are_accepted(tmp_path):
    board = load_board(_sim_with(tmp_path, _thresholds(lnr=0, lc=0, lnc=5, unc=60, uc=60, unr=90)))
    assert board.warnings == []


def test_rounding_to_the_resolution_is_reported_naming_the_field_and_value(tmp_path):
    def change(data):
        _thresholds(unc=60.3, uc=75)(data)
        data["sensors"][0]["hysteresis"] = [2.2, 2]
        data["sensors"][0]["nominal"] = 25.1

    board = load_board(_sim_with(tmp_path, change))
    assert board.warnings == [
        "sim.sensors[0].thresholds.unc: 60.3 becomes 60.5 (the resolution is 0.5)",
        "sim.sensors[0].hysteresis[0]: 2.2 becomes 2 (the resolution is 0.5)",
        "sim.sensors[0].nominal: 25.1 becomes 25 (the resolution is 0.5)",
    ]
    assert board.config["sensors"][0]["thresholds"][3] == 161  # (60.5 + 20) / 0.5


def test_the_bundle_command_prints_the_rounding_warning(tmp_path, capsys):
    from satmc.cli.main import main

    path = _sim_with(tmp_path, _thresholds(unc=60.3))
    assert main(["bundle", "--board", str(path), "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "satmc: warning: sim.sensors[0].thresholds.unc: 60.3 becomes 60.5" in err


def test_the_name_must_match_the_file_name(tmp_path):
    with pytest.raises(BoardFileError) as e:
        load_board(_sim_with(tmp_path, lambda d: None, name="bench"))
    assert str(e.value) == (
        "bench.name: 'sim' does not match the file name bench.yaml "
        "(name it 'bench', or rename the file sim.yaml)"
    )


def _fru0_source(change):
    def apply(data):
        change(data["fru"][0]["source"])

    return apply


def test_an_unknown_fru_field_is_refused_listing_the_valid_ones(tmp_path):
    def typo(src):
        src["BoardInfo"]["manufactuer"] = src["BoardInfo"].pop("manufacturer")

    with pytest.raises(BoardFileError) as e:
        load_board(_sim_with(tmp_path, _fru0_source(typo)))
    assert str(e.value) == (
        "sim.fru[0].source.BoardInfo.manufactuer: unknown FRU field (valid: language_code, "
        "mfg_date_time, manufacturer, product_name, serial_number, part_number, fru_file_id, "
        "custom_info_fields)"
    )


def test_an_unknown_fru_area_is_refused_listing_the_valid_ones(tmp_path):
    with pytest.raises(BoardFileError) as e:
        load_board(_sim_with(tmp_path, _fru0_source(lambda s: s.update(BordInfo={}))))
    assert str(e.value).startswith("sim.fru[0].source.BordInfo: unknown FRU area (known: ")
    assert "BoardInfo" in str(e.value) and "ProductInfo" in str(e.value)


def test_a_fru_source_file_is_checked_too(tmp_path):
    (tmp_path / "fru0.yaml").write_text("ProductInfo:\n  product: X\n")

    def change(data):
        data["fru"][0]["source"] = "fru0.yaml"

    with pytest.raises(BoardFileError) as e:
        load_board(_sim_with(tmp_path, change))
    assert str(e.value).startswith(
        "sim.fru[0].source (fru0.yaml).ProductInfo.product: unknown FRU field (valid: "
    )
