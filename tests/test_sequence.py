"""rqSeqs held back after a timeout: a late answer can never be taken for another request.

The 1-hour soak's faults part saw five responses with valid checksums carrying another
request's data: the satellite delivered an answer late (after a stuck bus), when the
host had already drawn that rqSeq again. satmc.transports.sequence holds such numbers
back for IPMB's sequence lifetime."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from satmc.errors import BusNackError, NoResponseError
from satmc.ipmi.codes import CMD_GET_DEVICE_ID, CMD_GET_SENSOR_READING, NETFN_APP, NETFN_SENSOR
from satmc.transports import connect, connect_many
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


def test_a_stalled_boards_late_serial_answer_after_a_wrap_is_not_the_newer_requests(sim):
    """serial:// on the sim board's pty. The board stalls (its process stopped): the
    absent sensor's request and 63 more go unanswered, then the board answers them all
    in order. python-ipmi sent the next request at once with the first one's rqSeq, and
    took the absent sensor's CBh for it; now every unanswered number is held, so the
    next request waits for a free one and gets its own answer."""
    present = sim.board.data["sensors"][0]["number"]
    with connect(f"serial://{sim.serial.pty_path}", address=0x20, timeout=0.3, retries=1) as sat:
        assert sat.raw(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((present,)))[0] == 0
        newer: list = []
        os.kill(sim.proc.pid, signal.SIGSTOP)
        try:
            with pytest.raises(NoResponseError):
                sat.raw(NETFN_SENSOR, CMD_GET_SENSOR_READING, b"\xee")  # no such sensor
            # the other 63 numbers at once: one by one, python-ipmi's pause after each
            # failed try would outlast the 5 s hold
            failed: list = []

            def unanswered():
                try:
                    sat.raw(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((present,)))
                except NoResponseError as e:
                    failed.append(e)

            threads = [threading.Thread(target=unanswered) for _ in range(SEQUENCES - 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert len(failed) == SEQUENCES - 1
            sat.interface.timeout = 10.0  # the newer request waits out the stall
            later = threading.Thread(
                target=lambda: newer.append(
                    sat.raw(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((present,)))
                )
            )
            later.start()
            time.sleep(1.0)  # python-ipmi's counter: it is on the line by now
        finally:
            os.kill(sim.proc.pid, signal.SIGCONT)
        later.join(30)
        assert newer and newer[0][0] == 0, "the absent sensor's late answer was taken for it"
