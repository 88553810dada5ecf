"""rqSeqs held back after a timeout: a late answer can never be taken for another request.

The 1-hour soak's faults part saw five responses with valid checksums carrying another
request's data: the satellite delivered an answer late (after a stuck bus), when the
host had already drawn that rqSeq again. satmc.transports.sequence holds such numbers
back for IPMB's sequence lifetime."""

from __future__ import annotations

import pytest

from satmc.errors import BusNackError, NoResponseError
from satmc.ipmi.codes import CMD_GET_DEVICE_ID, NETFN_APP
from satmc.transports import connect_many
from satmc.transports.sequence import SEQUENCES, HeldSequences
from satmc.vbus.client import BusTarget


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_held_number_is_skipped_until_its_lifetime_is_over():
    clock = Clock()
    held = HeldSequences(lifetime=5.0, clock=clock)
    counter = iter(range(10_000))

    def fresh():
        return next(counter) % SEQUENCES

    held.hold(3)
    drawn = [held.draw(fresh) for _ in range(3 * SEQUENCES)]
    assert 3 not in drawn and held.held == 1
    clock.now += 5.0
    assert 3 in [held.draw(fresh) for _ in range(SEQUENCES)]


def test_with_every_number_held_draw_waits_for_the_first_to_be_free():
    held = HeldSequences(lifetime=0.05)  # the real clock: draw sleeps until one is free
    for s in range(SEQUENCES):
        held.hold(s)
    seqs = iter(range(10_000))
    assert held.draw(lambda: next(seqs) % SEQUENCES) in range(SEQUENCES)


def test_a_timed_out_request_holds_its_number_on_the_real_bus(sim):
    # one interface for the satellite (0x72) and 0x76, which ACKs but never answers
    mute = BusTarget(sim.socket_path, "ipmb", [0x3B], lambda a, d: None)
    sat, absent = connect_many(sim.url, [sim.address, 0x76], timeout=0.05, retries=1)
    try:
        intf = sat.interface
        with pytest.raises(NoResponseError):
            absent.raw(NETFN_APP, CMD_GET_DEVICE_ID)
        lost = intf.next_sequence_number
        assert intf.held_sequences.is_held(lost)
        seen = []
        for _ in range(SEQUENCES + 8):  # round the 64 numbers and more, within 5 s
            cc, _data = sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)
            assert cc == 0
            seen.append(intf.next_sequence_number)
        assert lost not in seen and len(set(seen)) == SEQUENCES - 1
    finally:
        sat.close()
        mute.close()


def test_a_request_that_never_left_holds_nothing(sim):
    # nobody at 0x78: the address is NACKed, the frame never written, nothing can answer
    sat = connect_many(sim.url, [0x78], timeout=0.05, retries=1)[0]
    try:
        with pytest.raises(BusNackError):
            sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)
        assert not sat.interface.held_sequences.is_held(sat.interface.next_sequence_number)
        assert sat.interface.held_sequences.held == 0
    finally:
        sat.close()
