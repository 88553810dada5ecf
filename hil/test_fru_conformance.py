"""FRU inventory conformance: area info, reads, error codes, write-verify-restore.

A device conforms when its images' checksums hold and their areas and fields are the
board file's; per-unit fields (serial numbers, dates) may hold the unit's own values.
Every test that writes saves the original first (fixture fru_backup, hil/README.md)."""

from __future__ import annotations

import pytest

from satmc.errors import CompletionCodeError
from satmc.fru import image
from satmc.fru.access import FRUAccess
from satmc.ipmi.client import write_fru_data
from satmc.ipmi.codes import (
    CC_CANNOT_RETURN,
    CC_FRU_WRITE_PROTECTED,
    CC_LENGTH,
    CC_NOT_PRESENT,
    CC_OK,
    CC_OUT_OF_RANGE,
    CMD_GET_FRU_INVENTORY_AREA_INFO,
    CMD_READ_FRU_DATA,
    NETFN_STORAGE,
)


def fru_ids(board) -> list[int]:
    return [entry["id"] for entry in board.config.get("fru") or []]


@pytest.fixture
def fru_id(board):
    ids = fru_ids(board)
    if not ids:
        pytest.skip(f"not applicable: board {board.name!r} declares no FRU")
    return ids[0]


def test_every_fru_reads_and_its_checksums_hold(dut, board):
    for entry in board.config.get("fru") or []:
        dev = FRUAccess(dut, entry["id"])
        assert dev.size == entry["size"]
        img = dev.read()
        used = image.used_length(img)
        assert image.differences(img[:used], image.build(board, entry["id"])) == [], (
            f"FRU {entry['id']}"
        )


def test_read_errors_give_the_right_completion_codes(dut, board, fru_id):
    size = FRUAccess(dut, fru_id).size
    absent = max(fru_ids(board)) + 1
    info = bytes((absent,))
    assert dut.raw(NETFN_STORAGE, CMD_GET_FRU_INVENTORY_AREA_INFO, info)[0] == CC_NOT_PRESENT

    def read(data: bytes) -> tuple[int, bytes]:
        return dut.raw(NETFN_STORAGE, CMD_READ_FRU_DATA, data)

    assert read(bytes((fru_id, 0, 0, 24)))[0] == CC_CANNOT_RETURN  # too many
    at = size.to_bytes(2, "little")
    assert read(bytes((fru_id, *at, 1)))[0] == CC_OUT_OF_RANGE  # past the end
    assert read(bytes((fru_id, 0, 0)))[0] == CC_LENGTH  # short request
    cc, d = read(bytes((fru_id, *(size - 2).to_bytes(2, "little"), 8)))
    assert cc == CC_OK and d[0] == 2  # clipped at the end


@pytest.mark.needs("fru-write")
def test_write_verify_and_restore(dut, fru_id, fru_backup):
    dev = FRUAccess(dut, fru_id)
    original = fru_backup(dev)
    used = image.used_length(original)
    new = image.edit(original[:used], ["board.serial_number=HIL-0042"])
    try:
        report = dev.write_image(new)
        assert report.verified
        assert "HIL-0042" in "\n".join(image.describe(dev.read()[: len(new)], fru_id))
    finally:
        dev.write_image(original)
    assert dev.read() == original


@pytest.mark.needs("fru-write", "stimulus")
def test_eeprom_busy_is_waited_for_and_loses_no_byte(dut, board, stimulus, fru_backup):
    at24 = [e for e in board.config.get("fru") or [] if e["device"] == "at24"]
    devices = [d["name"] for d in board.sim.get("devices") or [] if d["model"] == "at24"]
    if not at24 or not devices:
        pytest.skip(f"not applicable: board {board.name!r} has no simulated EEPROM")
    stimulus.set(devices[0], twr_ms=30)  # a slow part: every page write keeps it busy 30 ms
    dev = FRUAccess(dut, at24[0]["id"])
    original = fru_backup(dev)
    new = bytearray(original)
    new[-40:] = bytes(range(40))  # past the areas: free space, many pages
    try:
        report = dev.write_image(bytes(new))
        assert report.verified and dev.read() == bytes(new)
    finally:
        dev.write_image(original)
    assert dev.read() == original


@pytest.mark.needs("fru-write", "stimulus")
def test_write_protect_gives_80_and_changes_nothing(dut, board, stimulus, fru_backup):
    devices = [d["name"] for d in board.sim.get("devices") or [] if d["model"] == "at24"]
    at24 = [e for e in board.config.get("fru") or [] if e["device"] == "at24"]
    if not at24 or not devices:
        pytest.skip(f"not applicable: board {board.name!r} has no simulated EEPROM")
    fru = at24[0]["id"]
    before = fru_backup(FRUAccess(dut, fru))
    stimulus.set(devices[0], wp=True)
    with pytest.raises(CompletionCodeError) as e:
        write_fru_data(dut, fru, 0xF0, b"\x01\x02\x03")
    assert e.value.cc == CC_FRU_WRITE_PROTECTED
    assert FRUAccess(dut, fru).read() == before
