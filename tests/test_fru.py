"""FRU inventory through the simulator: firmware commands, the AT24 model, satmc fru."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import yaml

from satmc.board import BOARDS_DIR, load_board
from satmc.cli.main import main as satmc
from satmc.errors import BusNackError, NoResponseError
from satmc.fru import FRUWriteProtectedError, image
from satmc.fru.access import FRUAccess
from satmc.ipmi.client import get_device_id, read_heap
from satmc.ipmi.codes import CMD_GET_FRU_INVENTORY_AREA_INFO as AREA_INFO
from satmc.ipmi.codes import CMD_GET_SELF_TEST_RESULTS, NETFN_APP
from satmc.ipmi.codes import CMD_READ_FRU_DATA as READ
from satmc.ipmi.codes import CMD_WRITE_FRU_DATA as WRITE
from satmc.ipmi.codes import NETFN_STORAGE as STORAGE
from satmc.sim.simulator import Simulator
from satmc.transports import connect, wait_until_answering

EEPROM = "fru0"


def mem(sim) -> bytes:
    return bytes.fromhex(sim.control("device", name=EEPROM)["state"]["mem"])


def self_test(sat) -> bytes:
    return sat.call(NETFN_APP, CMD_GET_SELF_TEST_RESULTS)


def restart_firmware(sim, sat) -> None:
    sim.reset()
    sim.wait_ready()
    assert wait_until_answering(sat, 10)


def host(sim):
    """A master-only host (as over FTDI), as the satmc CLI here is too (--readback).

    Two hosts must not be open at once: a readback host takes whatever frame waits,
    and a slave-capable one would receive the other's responses. So tests that run the
    CLI open their own connection around it.
    """
    return connect(sim.url, address=sim.address, readback=True)


@pytest.fixture
def sat(sim):
    with host(sim) as s:
        yield s


@pytest.fixture
def original(sim):
    """The board file's image; the EEPROM holds it again after the test (list this
    fixture before `sat`, so that connection is closed when this one restores)."""
    img = image.build(sim.board, 0)
    yield img
    sim.control("device", name=EEPROM, set={"wp": False, "twr_ms": 5.0})
    with host(sim) as s:
        FRUAccess(s, 0).write_image(img)


def test_device_id_says_fru_and_area_info(sat):
    assert get_device_id(sat)["support"] & 0x08
    assert sat.call(STORAGE, AREA_INFO, b"\x00") == bytes((0x00, 0x01, 0x00))  # 256 bytes
    assert sat.call(STORAGE, AREA_INFO, b"\x01") == bytes((0x80, 0x00, 0x00))  # file, 128 bytes
    assert sat.raw(STORAGE, AREA_INFO, b"\x07")[0] == 0xCB


def test_round_trip_is_byte_identical(sim, original, tmp_path):
    new = image.edit(
        original, ["BoardInfo.serial_number=RT-0001", "ProductInfo.asset_tag=lab bench 7"]
    )
    with host(sim) as sat:
        dev = FRUAccess(sat, 0)
        report = dev.write_image(new)
        assert report.verified
        assert dev.read(0, len(new)) == new
    assert mem(sim)[: len(new)] == new
    out = tmp_path / "read.bin"
    assert satmc(["-t", sim.url, "--readback", "fru", "read", "-o", str(out)]) == 0
    assert out.read_bytes() == new
    built = tmp_path / "built.bin"
    assert satmc(["fru", "build", "sim", "-o", str(built)]) == 0
    assert built.read_bytes() == original
    assert satmc(["-t", sim.url, "--readback", "fru", "write", str(built), "--verify"]) == 0
    assert mem(sim)[: len(original)] == original


def test_file_backed_fru_round_trip(sat):
    dev = FRUAccess(sat, 1)
    img = dev.read()
    image.check(img)
    new = image.edit(img[: image.used_length(img)], ["board.serial_number=MEZ-77"])
    dev.write_image(new)
    assert dev.read(0, len(new)) == new
    dev.write_image(img[: len(new)])


def test_write_across_page_boundaries_lands_intact(sim, original, sat):
    before = sim.control("device", name=EEPROM)["state"]["writes"]
    data = bytes(range(0xA0, 0xA0 + 22))
    rsp = sat.call(STORAGE, WRITE, bytes((0, 5, 0)) + data)  # 5..26: pages 0, 1, 2, 3
    assert rsp == bytes((22,))
    assert mem(sim)[5:27] == data
    assert sim.control("device", name=EEPROM)["state"]["writes"] - before == 4
    assert sat.call(STORAGE, READ, bytes((0, 5, 0, 22)))[1:] == data


def test_write_protect_gives_80_and_changes_nothing(sim, original, sat):
    sim.control("device", name=EEPROM, set={"wp": True})
    before = mem(sim)
    cc, _ = sat.raw(STORAGE, WRITE, bytes((0, 0x10, 0)) + b"\x55" * 16)
    assert cc == 0x80
    assert mem(sim) == before
    assert sat.call(STORAGE, READ, bytes((0, 0x10, 0, 16)))[1:] == before[0x10:0x20]
    with pytest.raises(FRUWriteProtectedError):
        FRUAccess(sat, 0).write_image(image.edit(original, ["board.serial_number=WP"]))
    assert mem(sim) == before


def test_busy_part_gives_81_and_short_counts(sim, original, sat):
    sim.control("device", name=EEPROM, set={"twr_ms": 200.0})
    sat.call(STORAGE, WRITE, bytes((0, 0x40, 0, 0xEE)))  # starts a 200 ms write cycle
    assert sat.raw(STORAGE, WRITE, bytes((0, 0x48, 0, 0xEE)))[0] == 0x81
    time.sleep(0.25)
    data = bytes(range(16))
    assert sat.call(STORAGE, WRITE, bytes((0, 0x50, 0)) + data) == bytes((8,))  # page 2 busy
    time.sleep(0.25)
    assert mem(sim)[0x50:0x58] == data[:8]
    sim.control("device", name=EEPROM, set={"twr_ms": 5.0})
    report = FRUAccess(sat, 0).write(0x50, data)  # short counts continue where they ended
    assert mem(sim)[0x50:0x60] == data and report.requests == 1


def test_read_limits_and_bad_offsets(sat):
    assert sat.raw(STORAGE, READ, bytes((0, 0, 0, 24)))[0] == 0xCA  # more than one response
    assert sat.raw(STORAGE, READ, bytes((0, 0, 1, 1)))[0] == 0xC9  # offset 256: past the end
    cc, d = sat.raw(STORAGE, READ, bytes((0, 250, 0, 23)))
    assert cc == 0 and d[0] == 6 and len(d) == 7  # to the end only
    assert sat.raw(STORAGE, READ, bytes((9, 0, 0, 1)))[0] == 0xCB  # no FRU 9
    assert sat.raw(STORAGE, READ, bytes((0, 0, 0)))[0] == 0xC7
    assert sat.raw(STORAGE, WRITE, bytes((0, 0, 1, 0)))[0] == 0xC9
    assert sat.raw(STORAGE, WRITE, bytes((0, 250, 0)) + bytes(7))[0] == 0xCC


def test_read_fru_data_allocates_nothing(sim):
    # A slave-capable BMC: readback polls would run the emulated IRQ thread, whose
    # socket work shows in the firmware's heap figures while a request is handled.
    with connect(sim.url, address=sim.address) as bmc:
        assert wait_until_answering(bmc, 5)  # after readback hosts: until it writes to us

        def heap():
            h = read_heap(bmc)
            return h["hot_alloc"], h["hot_frames"]

        alloc0, frames0 = heap()
        offsets = range(0, 256, 23)
        for off in offsets:
            bmc.call(STORAGE, READ, bytes((0, off, 0, 23)))
        alloc1, frames1 = heap()
    assert frames1 - frames0 == len(offsets) + 1  # the reads + the heap request itself
    assert alloc1 == alloc0


def test_corrupt_image_reported_by_self_test_and_print(sim, original, capsys):
    board_at = original[3] * 8
    sim.control("device", name=EEPROM, set={"poke": [board_at + 10, "00"]})
    with host(sim) as sat:
        restart_firmware(sim, sat)
        assert self_test(sat) == bytes((0x57, 0x04))
    assert any("board info area checksum" in line for line in sim.output)
    capsys.readouterr()
    assert satmc(["-t", sim.url, "--readback", "fru", "print"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("satmc: error: FRU 0: corrupt FRU image: board info area at 0x")
    assert "checksum 0x" in err and "expected 0x" in err and "\n" not in err
    with host(sim) as sat:
        FRUAccess(sat, 0).write_image(original)
        assert self_test(sat) == bytes((0x55, 0x00))  # rechecked after every write
    assert satmc(["-t", sim.url, "--readback", "fru", "print"]) == 0
    assert "Board Serial          : SIM000001" in capsys.readouterr().out


def _old_new_or_detected(sim, sat, old: bytes, new: bytes) -> str:
    img = FRUAccess(sat, 0).read()
    if img[: len(new)] == new:
        return "new"
    if img[: len(old)] == old:
        return "old"
    assert image.problems(img), "a mixed image passed every checksum"
    assert self_test(sat) == bytes((0x57, 0x04))
    return "detected"


@pytest.mark.parametrize("after_chunks", [1, 4, 9])
def test_board_killed_mid_write_then_repaired(sim, original, after_chunks, tmp_path):
    new = image.edit(
        original,
        [
            f"BoardInfo.serial_number=KILL-{after_chunks}",
            "ProductInfo.product_name=Interrupted satellite",
        ],
    )
    written = []

    class Interrupted(Exception):
        pass

    def kill_after(at, n):
        written.append(at)
        if len(written) == after_chunks:
            sim.reset()  # the firmware process dies and restarts; the EEPROM lives on
            raise Interrupted  # and the write is not continued

    with host(sim) as sat:
        with pytest.raises(Interrupted):
            FRUAccess(sat, 0).write_image(new, progress=kill_after)
        sim.wait_ready()
        assert wait_until_answering(sat, 10)
        assert _old_new_or_detected(sim, sat, original, new) == "detected"
    path = tmp_path / "new.bin"
    path.write_bytes(new)
    assert satmc(["-t", sim.url, "--readback", "fru", "write", str(path), "--verify"]) == 0
    assert mem(sim)[: len(new)] == new
    with host(sim) as sat:
        assert self_test(sat) == bytes((0x55, 0x00))


def test_firmware_killed_at_any_moment_is_detectable(sim, original, sat):
    new = image.edit(original, ["BoardInfo.serial_number=SIGKILL"])
    timer = threading.Timer(0.15, lambda: os.kill(sim.proc.pid, signal.SIGKILL))
    timer.start()
    try:
        FRUAccess(sat, 0).write_image(new)
    except (NoResponseError, BusNackError):  # the satellite vanished from the bus
        pass
    timer.join()
    restart_firmware(sim, sat)
    assert _old_new_or_detected(sim, sat, original, new) in ("old", "new", "detected")
    FRUAccess(sat, 0).write_image(new)
    assert FRUAccess(sat, 0).read(0, len(new)) == new


def test_eeprom_contents_survive_a_simulator_restart(sim_dir, original):
    socket = os.path.join(sim_dir, "fru-restart.sock")
    build = os.path.join(sim_dir, "build-fru-restart")
    new = image.edit(original, ["BoardInfo.serial_number=KEEP-ME"])
    with (
        Simulator("sim", socket_path=socket, build_dir=build) as s1,
        connect(s1.url, address=s1.address) as sat,
    ):
        assert FRUAccess(sat, 0).read(0, len(original)) == original  # first start
        FRUAccess(sat, 0).write_image(new)
    with (
        Simulator("sim", socket_path=socket, build_dir=build) as s2,
        connect(s2.url, address=s2.address) as sat,
    ):
        assert FRUAccess(sat, 0).read(0, len(new)) == new
        assert self_test(sat) == bytes((0x55, 0x00))


def test_sixteen_bit_eeprom_board(sim_dir, tmp_path):
    """A board with an AT24C64 (8 KB, 32-byte pages, 2-byte memory addresses)."""
    data = yaml.safe_load((BOARDS_DIR / "sim.yaml").read_text())
    data["fru"] = [dict(data["fru"][0], device="at24c64")]
    data["sim"]["devices"] = [
        {"name": "fru0", "model": "at24", "bus": "board", "addr": 0x50, "part": "at24c64"}
    ]
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(data))
    board = load_board(path)
    socket = os.path.join(sim_dir, "fru-64.sock")
    with (
        Simulator(board, socket_path=socket, build_dir=tmp_path / "build") as s,
        connect(s.url, address=s.address, readback=True) as sat,
    ):
        dev = FRUAccess(sat, 0)
        assert dev.size == 8192
        img = image.build(board, 0)
        assert dev.read(0, len(img)) == img
        data = bytes(range(0x30, 0x30 + 22))
        assert sat.call(STORAGE, WRITE, bytes((0, 0xD8, 0x1F)) + data) == bytes((22,))
        state = s.control("device", name="fru0")["state"]
        assert bytes.fromhex(state["mem"])[0x1FD8:0x1FEE] == data
        assert state["writes"] == 2  # 0x1FD8..0x1FDF and 0x1FE0..0x1FED
        assert dev.read(0x1FD8, 22) == data
        assert sat.raw(STORAGE, READ, bytes((0, 0x00, 0x20, 1)))[0] == 0xC9
