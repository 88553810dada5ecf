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
