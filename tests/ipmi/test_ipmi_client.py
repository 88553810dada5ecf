"""The client functions against the firmware on the simulator (decoded by python-ipmi)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from satmc.board import load_board
from satmc.cli.main import main as satmc
from satmc.errors import CompletionCodeError, MalformedResponseError
from satmc.ipmi import client, codes
from satmc.ipmi.messages import COUNTER_NAMES

BOARD = load_board("sim")


def test_device_id_as_python_ipmi_decodes_it(sat):
    dev = client.get_device_id(sat)
    want = BOARD.config["device"]
    assert (dev["device_id"], dev["product_id"]) == (want["device_id"], want["product_id"])
    assert dev["manufacturer_id"] == want["manufacturer_id"]
    assert "sensor device" in dev["capabilities"] and dev["provides_sdrs"]
    ident = sat.ipmi.get_device_id()  # python-ipmi's own call, through its Ipmi object
    assert (ident.device_id, ident.product_id) == (dev["device_id"], dev["product_id"])
    major, minor = dev["firmware_revision"]
    assert dev["firmware"] == f"{major}.{(minor >> 4) * 10 + (minor & 0x0F):02d}"


def test_self_test_guid_and_counters(sat):
    assert client.get_self_test_results(sat) == (codes.SELF_TEST_OK, 0x00)
    guid = client.get_device_guid(sat)
    assert len(guid) == 16 and guid == client.get_device_guid(sat)
    counters = client.read_counters(sat)
    assert list(counters) == list(COUNTER_NAMES)  # every counter, by the firmware's names
    again = client.read_counters(sat)
    assert again["requests"] > counters["requests"]


def test_stats_prints_every_counter_in_the_firmwares_order(sim, capsys):
    assert satmc(["-t", sim.url, "stats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(COUNTER_NAMES)
    assert all(line[:18].rstrip() == line.split()[0] for line in lines)  # name column of 18


def test_event_receiver_off_and_back(sat):
    try:
        client.set_event_receiver(sat, 0xFF)
        assert client.get_event_receiver(sat) == (0xFF, 0)
    finally:
        client.set_event_receiver(sat, 0x20)
    assert client.get_event_receiver(sat) == (0x20, 0)


def test_device_sdrs_and_a_reading(sat):
    info = client.get_device_sdr_info(sat)
    assert info.number_of_sensors == len(BOARD.config["sensors"])
    assert info.flags.dynamic_population and info.sensor_population_change is not None
    reservation = client.reserve_device_sdr_repository(sat)
    next_id, header = client.get_device_sdr(sat, reservation, 0, 0, 5)
    assert header[2] == 0x51 and next_id != 0  # SDR version 51h
    number = BOARD.config["sensors"][0]["number"]
    reading = client.get_sensor_reading(sat, number)
    assert reading.config.sensor_scanning_disabled == 1  # [6] set: scanning enabled
    with pytest.raises(CompletionCodeError) as e:
        client.get_sensor_reading(sat, 0xFE)
    assert e.value.cc == codes.CC_NOT_PRESENT and "Get Sensor Reading 254" in str(e.value)


def test_fru_area_info_and_data(sat):
    size, by_words = client.get_fru_inventory_area_info(sat, 0)
    assert (size, by_words) == (BOARD.config["fru"][0]["size"], False)
    header = client.read_fru_data(sat, 0, 0, 8)
    assert header[0] == 0x01 and sum(header) & 0xFF == 0  # format 01, zero checksum
    with pytest.raises(CompletionCodeError) as e:
        client.read_fru_data(sat, 0, 0, client.FRU_READ_CHUNK + 1)
    assert e.value.cc == codes.CC_CANNOT_RETURN


class _Answers:
    """A satellite whose every answer is the given completion code and data."""

    def __init__(self, cc: int, data: bytes):
        self.answer = (cc, data)

    def raw(self, netfn, cmd, data=b"", lun=0):
        return self.answer


def test_an_answer_that_does_not_decode_is_an_error_naming_its_bytes():
    with pytest.raises(MalformedResponseError, match=r"Get Device ID: malformed answer 01 81"):
        client.get_device_id(_Answers(0, b"\x01\x81"))
    with pytest.raises(MalformedResponseError, match="Get Heap Info"):
        client.read_heap(_Answers(0, bytes(17)))  # a byte too many


def test_the_vocabulary_stands_below_everything_else():
    """satmc.ipmi imports python-ipmi, satmc.errors and satmc.resources (where the
    firmware's counter list is) only: the bench BMC, the transports and the CLI can build
    on it without pulling in boards, the simulator or the bus."""
    code = (
        "import sys, satmc.ipmi.client; "
        "print(sorted(m for m in sys.modules if m.startswith('satmc.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout))
    assert loaded == {
        "satmc.errors",
        "satmc.ipmi",
        "satmc.ipmi.client",
        "satmc.ipmi.codes",
        "satmc.ipmi.messages",
        "satmc.resources",
    }
