"""End to end: a sensor whose driver fails in the firmware goes "reading unavailable",
is counted, recovers, and no traceback reaches the USB serial line meanwhile.

The fault is the one a broken stimulus caused: the simulator cannot answer the ADC
channel, so the firmware's `machine.ADC.read_u16()` raises KeyError inside the 3V3
sensor's driver (not an OSError from a chip).
"""

from __future__ import annotations

import socket
import time

from satmc.ipmi.client import read_counters
from satmc.ipmi.codes import CMD_GET_SENSOR_READING, NETFN_SENSOR
from satmc.transports.serial import HANDSHAKE, BasicModeDecoder, encode_basic_mode

RAIL = 6  # 3V3: ADC pin 26 (model rail3v3) through a 2:1 divider, 0..5.1 V in 20 mV, LC 3.0 V
UNAVAILABLE = 0x20


def _reading(sat) -> bytes:
    return sat.call(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((RAIL,)))


def _wait(sat, what, ok, timeout=10.0) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        d = _reading(sat)
        if ok(d):
            return d
        assert time.monotonic() < deadline, f"3V3 never {what}: {d.hex()}"
        time.sleep(0.05)


def _get_device_id_frame(seq: int) -> bytes:
    h = bytes((0x20, 0x06 << 2))
    b = bytes((0x81, seq << 2, 0x01))
    return h + bytes((-sum(h) & 0xFF,)) + b + bytes((-sum(b) & 0xFF,))


def _broken_adc(channel: int) -> int:
    raise ValueError("the ADC model has no value to give")


def test_a_driver_fault_is_unavailable_counted_recovers_and_stays_off_the_serial_line(sim, sat):
    model = sim.devices["rail3v3"]
    sim.control("device", name="rail3v3", set={"volts": 1.65})  # 3.30 V: ok
    _wait(sat, "read 3.30 V", lambda d: d[0] == 165 and not d[1] & UNAVAILABLE)
    before = read_counters(sat)["sensor_errors"]
    with socket.create_connection(("127.0.0.1", sim.serial.port)) as line:
        line.settimeout(0.2)
        model.adc_u16 = _broken_adc
        try:
            _wait(sat, "went unavailable", lambda d: d[1] & UNAVAILABLE)
            deadline = time.monotonic() + 10
            while (failed := read_counters(sat)["sensor_errors"] - before) < 3:
                assert time.monotonic() < deadline, "failed scans are not counted"
                time.sleep(0.05)  # more failing scans, each one a chance to print
            line.sendall(encode_basic_mode(_get_device_id_frame(9)))
            got = b""
            deadline = time.monotonic() + 5
            while HANDSHAKE not in got and time.monotonic() < deadline:
                try:
                    got += line.recv(4096)
                except TimeoutError:
                    pass
        finally:
            del model.adc_u16
    frames = BasicModeDecoder().feed(got)
    assert len(frames) == 1 and frames[0][5:7] == b"\x01\x00"  # Get Device ID, cc 00
    assert got == encode_basic_mode(frames[0]) + bytes((HANDSHAKE,))  # nothing else
    sim.control("device", name="rail3v3", set={"volts": 1.4})  # 2.80 V: under LC
    d = _wait(sat, "recovered", lambda d: not d[1] & UNAVAILABLE and d[0] == 140)
    assert d[2] & 0x02  # LC asserted: the fresh reading runs the thresholds again
    counters = read_counters(sat)
    assert counters["task_errors"] == 0 and counters["sensor_errors"] - before >= failed
    sim.control("device", name="rail3v3", set={"volts": 1.65})
