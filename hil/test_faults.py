"""Fault injection on the simulated IPMB: the satellite keeps serving or recovers by
itself, the bridge reports clearly, and nothing is lost without a counter or an error.
"""

from __future__ import annotations

import time

import pytest

from satmc.errors import BusError, BusNackError, NoResponseError
from satmc.ipmi.client import (
    get_self_test_results,
    read_counters,
    set_event_receiver,
)
from satmc.ipmi.codes import SELF_TEST_OK

pytestmark = pytest.mark.needs("faults")

HOST = 0x10  # 7-bit address of the host as BMC (IPMB 0x20)
PASSED = (SELF_TEST_OK, 0x00)


@pytest.fixture
def sat7(rig) -> int:
    """The 7-bit bus address of the satellite under test (IPMB 0x72: 0x39)."""
    return rig.address >> 1


def test_short_nack_burst_is_ridden_out(dut, faults, sat7):
    faults.inject({"kind": "nack", "addr": sat7, "count": 2})
    assert get_self_test_results(dut) == PASSED  # the bridge retries a NACKed address
    assert faults.fired("nack") == 2


def test_persistent_nack_is_reported_then_the_satellite_serves(dut, faults, sat7):
    faults.inject({"kind": "nack", "addr": sat7, "count": -1})
    with pytest.raises(BusNackError, match=f"no ACK at {sat7:#04x}"):
        get_self_test_results(dut)
    faults.clear()
    assert get_self_test_results(dut) == PASSED


def test_corrupted_request_is_dropped_counted_and_retried(dut, faults, sat7):
    before = read_counters(dut)["malformed"]
    faults.inject({"kind": "corrupt", "addr": sat7, "index": 4, "xor": 0x10})
    assert get_self_test_results(dut) == PASSED  # the requester's retry gets through
    assert read_counters(dut)["malformed"] == before + 1
    assert faults.fired("corrupt") == 1


@pytest.mark.needs("master-write")
def test_corrupted_response_is_dropped_by_the_bridge_and_retried(dut, faults):
    faults.inject({"kind": "corrupt", "addr": HOST, "index": 6, "xor": 0x01})
    assert get_self_test_results(dut) == PASSED
    assert faults.fired("corrupt") == 1


@pytest.mark.needs("master-write")
def test_lost_arbitration_on_the_response_is_retried_by_the_satellite(dut, faults):
    before = read_counters(dut)
    faults.inject({"kind": "arb_lost", "addr": HOST, "count": 1})
    assert get_self_test_results(dut) == PASSED
    after = read_counters(dut)
    assert after["send_retries"] == before["send_retries"] + 1
    assert faults.fired("arb_lost") == 1


def test_slow_target_is_waited_for(dut, faults, sat7):
    faults.inject({"kind": "slow", "addr": sat7, "ms": 120, "count": 1})
    t = time.monotonic()
    assert get_self_test_results(dut) == PASSED
    assert time.monotonic() - t >= 0.12


def test_stuck_bus_is_reported_and_recovered_from(dut, faults, sat7):
    faults.inject({"kind": "stuck", "seconds": 1.5})
    with pytest.raises(BusError, match=f"{sat7:#04x}"):  # the virtual bus says "busy or stuck"
        get_self_test_results(dut)
    time.sleep(1.6)  # SDA released
    assert get_self_test_results(dut) == PASSED
    counters = read_counters(dut)
    assert counters["rx_overflow"] == 0


@pytest.mark.needs("master-write")
def test_responses_nobody_collects_expire_with_a_counter(dut, faults, board_sleep):
    # The host stops acknowledging its address: the satellite cannot deliver its
    # answer; it waits for readback, then expires after 5 s, and the counter says so.
    before = read_counters(dut)["expired"]
    faults.inject({"kind": "nack", "addr": HOST, "count": -1})
    dut.interface.max_retries = 1
    with pytest.raises(NoResponseError):
        get_self_test_results(dut)
    faults.clear()
    board_sleep(5.5)  # on the board's clock: an emulated chip's runs behind the host's
    assert read_counters(dut)["expired"] == before + 1


@pytest.mark.needs("stimulus")
def test_absent_event_receiver_costs_retries_then_a_counted_drop(dut, board, stimulus, rig):
    models = [d for d in board.sim.get("devices") or [] if d.get("model") == "lm75"]
    if not models or not board.config.get("sensors"):
        pytest.skip(f"not applicable: board {board.name!r} has no simulated LM75 sensor")
    before = read_counters(dut)
    set_event_receiver(dut, 0x30)  # a receiver address nobody answers at
    try:
        stimulus.set(models[0]["name"], temperature=100.0)  # past every upper threshold
        deadline = time.monotonic() + rig.seconds(20)
        while time.monotonic() < deadline:
            now = read_counters(dut)
            # both: an event still in flight from before may be dropped first, without a
            # retry of its own
            if (
                now["events_dropped"] > before["events_dropped"]
                and now["events_retried"] > before["events_retried"]
            ):
                break
            time.sleep(0.2)
    finally:
        set_event_receiver(dut, 0x20)
    assert now["events_retried"] > before["events_retried"]
    assert now["events_dropped"] > before["events_dropped"], "an event vanished without a count"
