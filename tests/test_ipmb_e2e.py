"""End to end: virtual bus + firmware on the MicroPython unix port + the bridge."""

from __future__ import annotations

import queue
import random
import time

import pytest

from satmc.board import load_board
from satmc.errors import BusNackError, CompletionCodeError, NoResponseError
from satmc.ipmi.client import decode_device_id, read_counters
from satmc.ipmi.codes import (
    CMD_COLD_RESET,
    CMD_GET_DEVICE_GUID,
    CMD_GET_DEVICE_ID,
    CMD_GET_SELF_TEST_RESULTS,
    CMD_GET_STATISTICS,
    NETFN_APP,
    NETFN_OEM,
)
from satmc.ipmi.messages import STATISTICS_PAGES
from satmc.transports import connect, wait_until_answering
from satmc.vbus.client import BusController, BusTarget

BOARD = load_board("sim")


def _frame(rs_sa, netfn, cmd, data=b"", rq_sa=0x20, seq=1, rs_lun=0):
    h = bytes((rs_sa, netfn << 2 | rs_lun))
    b = bytes((rq_sa, seq << 2, cmd)) + bytes(data)
    return h + bytes((-sum(h) & 0xFF,)) + b + bytes((-sum(b) & 0xFF,))


def _check_device_id(data: bytes) -> None:
    dev = decode_device_id(data)
    want = BOARD.config["device"]
    major, minor, _ = (int(x) for x in BOARD.config["firmware_version"].split("."))
    assert dev["device_id"] == want["device_id"]
    assert dev["device_revision"] == want["device_revision"]
    assert dev["manufacturer_id"] == want["manufacturer_id"]
    assert dev["product_id"] == want["product_id"]
    assert dev["firmware"] == f"{major}.{minor:02d}"
    assert dev["ipmi_version"] == "2.0"
    assert list(dev["aux"]) == want["aux_firmware_revision"]


@pytest.mark.parametrize("mode", ["master-write", "readback"])
def test_get_device_id_in_both_delivery_modes(sim, mode):
    with connect(sim.url, address=sim.address, readback=mode == "readback") as sat:
        before = read_counters(sat)
        _check_device_id(sat.call(NETFN_APP, CMD_GET_DEVICE_ID))
        ident = sat.ipmi.get_device_id()  # python-ipmi decodes the same answer
        assert ident.device_id == BOARD.config["device"]["device_id"]
        after = read_counters(sat)
    key = "read_back" if mode == "readback" else "sent"
    assert after[key] > before[key]


def test_unknown_command_gives_c1(sat):
    assert sat.raw(NETFN_APP, 0x7E)[0] == 0xC1
    assert sat.raw(0x3A, 0x01)[0] == 0xC1


def test_bad_length_gives_c7(sat):
    assert sat.raw(NETFN_APP, CMD_GET_DEVICE_ID, b"\x00")[0] == 0xC7
    with pytest.raises(CompletionCodeError) as e:
        sat.call(NETFN_OEM, CMD_GET_STATISTICS, b"")
    assert e.value.cc == 0xC7 and "length" in str(e.value)


def test_bad_lun_gives_c2(sat):
    assert sat.raw(NETFN_APP, CMD_GET_DEVICE_ID, lun=1)[0] == 0xC2


def test_self_test_and_guid(sat):
    assert sat.call(NETFN_APP, CMD_GET_SELF_TEST_RESULTS) == b"\x55\x00"
    guid = sat.call(NETFN_APP, CMD_GET_DEVICE_GUID)
    assert len(guid) == 16 and guid != bytes(16)
    assert sat.call(NETFN_APP, CMD_GET_DEVICE_GUID) == guid


def test_sequence_numbers_are_echoed(sim):
    got = queue.Queue()
    host = BusTarget(sim.socket_path, "ipmb", [0x11], lambda a, d: got.put(bytes((a << 1,)) + d))
    ctl = BusController(sim.socket_path, "ipmb")
    try:
        for seq in (0, 1, 33, 63):
            ctl.write(0x39, _frame(0x72, 0x06, 0x01, rq_sa=0x22, seq=seq)[1:])
            rsp = got.get(timeout=2)
            assert rsp[0] == 0x22 and rsp[4] >> 2 == seq and rsp[5] == 0x01
    finally:
        host.close()
        ctl.close()


def test_late_response_is_never_matched_to_a_newer_request(sim, sat):
    # A response with the previous request's sequence number arrives while the next
    # request waits: the requester ignores it and takes the real answer.
    sat.call(NETFN_APP, CMD_GET_DEVICE_ID)
    stale_seq = sat.interface.next_sequence_number
    ctl = BusController(sim.socket_path, "ipmb")
    try:
        stale = _frame(0x20, 0x07, 0x04, b"\x00\x55\x00", rq_sa=0x72, seq=stale_seq)
        ctl.write(0x10, stale[1:])  # forged late answer to seq N (Get Self Test, cc 00)
    finally:
        ctl.close()
    assert sat.call(NETFN_APP, CMD_GET_SELF_TEST_RESULTS) == b"\x55\x00"
    assert sat.interface.next_sequence_number != stale_seq  # (a new block after 1 s idle)


def test_broadcast_get_device_id(sat):
    # One try, never retried: wait for the answer as long as a starved host may need
    # (the call returns as soon as it comes), not the connection's 0.25 s.
    data = sat.broadcast_get_device_id(timeout=10)
    assert data is not None
    _check_device_id(data)
    assert sat.broadcast_get_device_id(0x74) is None  # nobody there; not retried


def test_absent_satellite_is_a_clear_error(sim):
    with connect(sim.url, address=0x74, retries=1) as sat:
        with pytest.raises(BusNackError, match="no ACK at 0x3a"):
            sat.call(NETFN_APP, CMD_GET_DEVICE_ID)


def test_silent_satellite_is_a_clear_error(sim):
    # Something ACKs 0x76 but never answers: the requester gives up after its retries.
    mute = BusTarget(sim.socket_path, "ipmb", [0x3B], lambda a, d: None)
    try:
        with connect(sim.url, address=0x76, retries=2, timeout=0.1) as sat:
            with pytest.raises(NoResponseError, match="no response from IPMB 0x76 after 2"):
                sat.call(NETFN_APP, CMD_GET_DEVICE_ID)
    finally:
        mute.close()


def test_300_random_malformed_frames_are_dropped_or_answered(sim, sat):
    """Every frame written is answered or dropped with a counter; the firmware keeps serving."""
    rng = random.Random(20261121)
    answers = queue.Queue()
    host = BusTarget(sim.socket_path, "ipmb", [0x12], lambda a, d: answers.put(d))
    ctl = BusController(sim.socket_path, "ipmb")
    before = read_counters(sat)
    writes = answered = 0
    try:
        for i in range(300):
            kind = rng.random()
            if kind < 0.4:  # garbage of random length, including too long
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            elif kind < 0.7:  # a good frame with one bit flipped: both checksums cover it
                f = bytearray(
                    _frame(
                        0x72,
                        rng.choice([6, 0x30]),
                        rng.randrange(256),
                        bytes(rng.randrange(256) for _ in range(rng.randrange(8))),
                        rq_sa=0x24,
                        seq=i % 64,
                    )
                )
                f[rng.randrange(1, len(f))] ^= 1 << rng.randrange(8)
                data = bytes(f[1:])
            else:  # well formed, random command and data: must be answered, maybe with an error
                data = _frame(
                    0x72,
                    rng.choice([0, 4, 6, 0x0A, 0x30]),
                    rng.randrange(256),
                    bytes(rng.randrange(256) for _ in range(rng.randrange(26))),
                    rq_sa=0x24,
                    seq=i % 64,
                )[1:]
            ctl.write(0x39, data)
            writes += 1
            if kind < 0.7:
                continue
            # As a requester does: wait, retry the same frame if the satellite was swamped.
            for _ in range(3):
                try:
                    rsp = answers.get(timeout=0.5)
                    break
                except queue.Empty:
                    ctl.write(0x39, data)
                    writes += 1
            else:
                raise AssertionError(f"request {i} ({data.hex()}) never answered")
            assert (0x24 + rsp[0] + rsp[1]) & 0xFF == 0 and sum(rsp[2:]) & 0xFF == 0
            assert rsp[3] >> 2 == i % 64 and rsp[4] == data[4]  # seq, cmd echoed
            answered += 1
    finally:
        host.close()
        ctl.close()
    late = 0  # answers to retried frames whose first answer was only slow
    while True:
        try:
            answers.get(timeout=0.3)
            late += 1
        except queue.Empty:
            break
    after = read_counters(sat)
    delta = {k: after[k] - before[k] for k in after}
    pages = STATISTICS_PAGES  # the counter reads are requests too
    # every write reached the firmware's task or was counted as dropped in the IRQ
    assert delta["frames_in"] + delta["oversize"] + delta["rx_overflow"] == writes + pages
    # every frame the task saw was answered or counted as dropped
    assert delta["frames_in"] == delta["requests"] + delta["malformed"] + delta["not_for_us"]
    # every request was answered exactly once
    assert delta["requests"] == answered + late + pages
    assert delta["malformed"] + delta["oversize"] > 150
    _check_device_id(sat.call(NETFN_APP, CMD_GET_DEVICE_ID))  # still serving


def test_cold_reset_comes_back(sim, sat):
    resets = sim.resets
    assert sat.raw(NETFN_APP, CMD_COLD_RESET) == (0, b"")
    deadline = time.monotonic() + 5
    while sim.resets == resets and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.resets == resets + 1, "Cold Reset did not reset the board"
    assert wait_until_answering(sat, 15)
    _check_device_id(sat.call(NETFN_APP, CMD_GET_DEVICE_ID))
