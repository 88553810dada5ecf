"""The declared FRU EEPROM checked against the device at boot (the firmware's size probe).

A board file naming an AT24C64 on a board that carries an AT24C32: the simulator's AT24
model wraps its addresses as the real part does, the firmware finds the image repeating
at 4 KiB, says so at boot, serves 4096 bytes and reports the FRU bit in Get Self Test
Results; the part's memory is unchanged (the probe only reads).
"""

from __future__ import annotations

import yaml

from satmc.board import BOARDS_DIR
from satmc.ipmi.client import get_fru_inventory_area_info, get_self_test_results
from satmc.ipmi.codes import SELF_TEST_ERROR, SELF_TEST_OK
from satmc.sim.simulator import Simulator
from satmc.transports import connect

FRU_INACCESSIBLE = 0x20  # Get Self Test Results byte 2 [5]


def _board(tmp_path, declared: str, fitted: str):
    data = yaml.safe_load((BOARDS_DIR / "sim.yaml").read_text())
    data["fru"][0]["device"] = declared
    for d in data["sim"]["devices"]:
        if d["name"] == "fru0":
            d["part"] = fitted
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _boot(tmp_path, declared, fitted):
    return Simulator(
        str(_board(tmp_path, declared, fitted)),
        socket_path=str(tmp_path / "sim.sock"),
        build_dir=tmp_path / "build",
    ).start()


def test_a_smaller_part_than_declared_is_a_self_test_failure_and_a_message(tmp_path):
    sim = _boot(tmp_path, "at24c64", "at24c32")
    try:
        memory = bytes(sim.devices["fru0"].mem)
        with connect(sim.url, address=sim.address) as sat:
            assert get_self_test_results(sat) == (SELF_TEST_ERROR, FRU_INACCESSIBLE)
            assert get_fru_inventory_area_info(sat, 0)[0] == 4096
        assert any(
            "FRU 0: the board file declares 8192 bytes, the EEPROM repeats every 4096 " in line
            for line in sim.output
        ), sim.output
        assert bytes(sim.devices["fru0"].mem) == memory and sim.devices["fru0"].writes == 0
    finally:
        sim.stop()


def test_the_declared_part_passes(tmp_path):
    sim = _boot(tmp_path, "at24c64", "at24c64")
    try:
        with connect(sim.url, address=sim.address) as sat:
            assert get_self_test_results(sat)[0] == SELF_TEST_OK
            assert get_fru_inventory_area_info(sat, 0)[0] == 8192
    finally:
        sim.stop()


def test_the_at24_model_ignores_address_bits_above_its_size_as_the_real_part():
    from satmc.vbus.devices.at24 import Model

    part = Model("at24c32")
    part.mem[5] = 0x42
    assert part.addressed(0x50, read=False) and part.written(b"\x10\x05") == 2
    assert part.addressed(0x50, read=True) and part.read(1, True) == b"\x42"  # 0x1005 is 5
    # bytes latched and then a repeated START (no STOP): nothing is written
    assert part.addressed(0x50, read=False) and part.written(b"\x00\x05\x99") == 3
    assert part.addressed(0x50, read=True) and part.read(1, True) == b"\xff"
    part.ended()
    assert part.mem[5] == 0x42 and part.writes == 0
