"""Platform Event requests decoded (python-ipmi's PlatformEventReq) into logged events."""

from __future__ import annotations

import pytest

from satmc.eventlog import parse_platform_event


def test_a_threshold_event_carries_its_reading_and_threshold():
    ev = parse_platform_event(0x72, bytes.fromhex("04 01 01 01 57 50 3c"), now=0.0)
    assert (ev.sensor_type, ev.sensor, ev.event_type, ev.direction) == (1, 1, 1, "assert")
    assert (ev.offset, ev.reading, ev.threshold, ev.data) == (7, 0x50, 0x3C, b"\x57\x50\x3c")
    assert (
        ev.describe()
        == "0x72 sensor 1: UNC going high asserted, raw reading 0x50 (threshold 0x3c)"
    )


def test_a_presence_deassertion():
    ev = parse_platform_event(0x72, bytes.fromhex("04 25 09 ef 01"), now=0.0)
    assert (ev.event_type, ev.direction, ev.what) == (0x6F, "deassert", "absent")


@pytest.mark.parametrize("data", [b"", b"\x04\x01", b"\x04\x01\x01\x01"])
def test_a_request_without_event_data_is_refused(data):
    with pytest.raises(ValueError):
        parse_platform_event(0x72, data)


def test_delete_and_clear_keep_the_last_addition_and_stamp_the_erase(tmp_path):
    from satmc.eventlog import Event, EventLog

    log = EventLog(tmp_path / "e.sqlite")
    assert (log.last_added(), log.erased()) == (None, None)
    ids = [log.add(Event(t, 0x72, 1, 1, 1, "assert", 7, b"\x57")) for t in (100.0, 50.0)]
    assert log.last_added() == 50.0  # the newest addition, not the latest time stamp
    assert log.delete(ids[1], when=200.0) and not log.delete(ids[1], when=300.0)
    assert (log.ids(), log.last_added(), log.erased()) == ([ids[0]], 50.0, 200.0)
    assert log.add(Event(10.0, 0x72, 1, 1, 1, "assert", 7, b"\x57")) > ids[1]  # never reused
    assert log.last_added() == 10.0
    log.clear(when=400.0)
    assert (log.count(), log.last_added(), log.erased(), log.cleared()) == (0, 10.0, 400.0, 400.0)
    reopened = EventLog(tmp_path / "e.sqlite")  # kept in the file
    assert (reopened.last_added(), reopened.erased()) == (10.0, 400.0)
    reopened.add(Event(20.0, 0x72, 1, 1, 1, "assert", 7, b"\x57"))
    assert reopened.last_added() == 20.0  # after a clear, any new event is newer
