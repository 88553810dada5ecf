"""FRU board-file section, images from frugy, and the host's own image checks."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from satmc.board import load_board
from satmc.board.fru import config
from satmc.errors import BoardFileError
from satmc.fru import FRUImageError, image

SIM = load_board("sim")


def test_sim_board_declares_an_eeprom_and_a_file_fru():
    frus = SIM.config["fru"]
    assert frus[0] == {
        "id": 0,
        "device": "at24",
        "addr": 0x50,
        "size": 256,
        "page": 8,
        "addrsize": 8,
        "wp_pin": None,
    }
    assert frus[1] == {"id": 1, "device": "file", "size": 128, "path": "fru1.bin"}
    assert SIM.config["private_bus"] == {"scl": 5, "sda": 4, "freq": 100000}


@pytest.mark.parametrize(
    "section, message",
    [
        (
            {"fru": [{"id": 0, "device": "at24c99", "addr": 0x50}]},
            r"sim\.fru\[0\]\.device: .at24c99. is not one of",
        ),
        ({"fru": [{"id": 1, "device": "file"}, {"id": 1, "device": "file"}]}, "declared twice"),
        (
            {
                "private_bus": {"scl": 5, "sda": 4},
                "fru": [{"id": 0, "device": "at24c02", "addr": 0x50, "page": 6}],
            },
            "power of two",
        ),
        ({"fru": {"id": 0}}, "expected a list"),
    ],
)
def test_bad_fru_sections_name_the_field(section, message):
    with pytest.raises(BoardFileError, match=message):
        config(section, "sim")


def test_an_eeprom_needs_the_private_bus(tmp_path):
    data = copy.deepcopy(SIM.data)
    del data["private_bus"]
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BoardFileError, match="sim.private_bus: missing; the FRU EEPROM sits"):
        load_board(path)


def test_sixteen_bit_parts_get_two_address_bytes():
    out = config(
        {
            "private_bus": {"scl": 5, "sda": 4},
            "fru": [{"id": 0, "device": "at24c64", "addr": 0x51}],
        },
        "b",
    )
    assert out["fru"][0]["addrsize"] == 16 and out["fru"][0]["page"] == 32


def test_each_corruption_is_named_in_one_line():
    img = bytearray(image.build(SIM, 0))
    assert image.problems(bytes(img)) == []
    for area, idx in (("chassis info area", 2), ("board info area", 3), ("product info area", 4)):
        bad = bytearray(img)
        bad[img[idx] * 8 + 4] ^= 0x01
        (problem,) = image.problems(bytes(bad))
        assert problem.startswith(f"{area} at 0x{img[idx] * 8:02x}: checksum 0x")
        with pytest.raises(FRUImageError, match=f"corrupt FRU image: {area}"):
            image.describe(bytes(bad))
    bad = bytearray(img)
    bad[7] ^= 0x10
    assert image.problems(bytes(bad))[0].startswith("common header at 0x00: checksum")


def test_edit_keeps_everything_else():
    img = image.build(SIM, 0)
    new = image.edit(img, ["board.serial_number=SN-EDIT"])
    text = "\n".join(image.describe(new))
    assert "Board Serial          : SN-EDIT" in text
    assert "Board Mfg Date        : Thu Jan 15 09:30:00 2026 UTC" in text
    assert "Product Serial        : SIM000001" in text
    with pytest.raises(FRUImageError, match="has no field"):
        image.edit(img, ["BoardInfo.serial=1"])


def test_dates_print_as_ipmitool_does():
    assert image.ipmitool_date(0) == "Unspecified"
    assert image.ipmitool_date(60 * 24 * 31 + 61) == "Thu Feb  1 01:01:00 1996 UTC"


def test_a_unit_with_its_own_serial_and_date_conforms_to_its_board_file():
    expected = image.build(load_board("sim"), 0)
    unit = image.edit(
        expected,
        ["board.serial_number=UNIT-0042", "BoardInfo.mfg_date_time=2026-11-30 12:00:00"],
    )
    assert unit != expected and image.differences(unit, expected) == []


def test_differences_name_the_field_the_area_and_a_bad_checksum():
    expected = image.build(load_board("sim"), 0)
    other = image.edit(expected, ["board.part_number=X-1"])
    assert image.differences(other, expected) == [
        "BoardInfo.part_number: 'X-1', the board file says 'SATMC-SIM-1'"
    ]
    src = image.to_source(expected)
    del src["ProductInfo"]
    assert image.differences(image.build_from_source(src), expected) == [
        "ProductInfo: missing (the board file has one)"
    ]
    corrupt = bytearray(expected)
    corrupt[7] ^= 1
    assert image.differences(bytes(corrupt), expected) == image.problems(bytes(corrupt)) != []


def test_frugy_chatter_stays_out_and_the_program_logging_stays_as_it_was():
    """frugy warns through the root logger (a 2040 date is truncated to 24-bit minutes),
    which would also configure logging; the program's own configuration must survive."""
    code = """
import logging
from satmc.fru.image import build_from_source
src = {"BoardInfo": {"mfg_date_time": "2040-01-01 12:34", "manufacturer": "x"}}
build_from_source(src)
print(len(logging.getLogger().handlers))
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
build_from_source(src)
logging.getLogger("satmc.x").info("own line")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "0\n"  # no handler left behind by frugy's logging.warning
    assert r.stderr == "satmc.x: own line\n"  # INFO still logged; frugy's warning not
