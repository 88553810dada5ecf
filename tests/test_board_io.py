"""Pins and ADC inputs of the `machine` emulation, driven by simulated board devices.

A MicroPython program reads a presence pin, the ADC and a tachometer's edges while
the device models (bridge/satmc/vbus/devices: gpio, adc, rp2temp, fan) set them.
"""

from __future__ import annotations

import pytest
from emulation import run_mpy

from satmc.sim import board_io
from satmc.vbus import devices
from satmc.vbus.devices.adc import u16
from satmc.vbus.server import BusServer


@pytest.fixture
def board(tmp_path):
    server = BusServer(str(tmp_path / "bus.sock"), buses=["ipmb", "board"]).start()
    models = {}
    for entry in (
        {"name": "module", "model": "gpio", "pin": 7, "level": 1},
        {"name": "fan0", "model": "fan", "pin": 6, "pulses_per_rev": 2, "rpm": 3000},
        {"name": "rail", "model": "adc", "pin": 26, "volts": 1.0},
        {"name": "mcu", "model": "rp2temp", "temperature": 27.0},
    ):
        _, _, name, model = devices.create(entry)
        models[name] = model
    board_io.install(server, models)
    yield server, models
    server.close()


def test_input_pins_read_the_driven_level_or_their_pull(board):
    server, models = board
    out = run_mpy(
        server,
        """
        import machine
        print(machine.Pin(7, machine.Pin.IN).value(), machine.Pin(8, machine.Pin.IN,
              machine.Pin.PULL_UP).value(), machine.Pin(9, machine.Pin.IN).value())
    """,
    )
    assert out.split() == ["1", "1", "0"]
    models["module"].set(level=0)
    assert (
        run_mpy(server, "import machine; print(machine.Pin(7, machine.Pin.IN).value())").strip()
        == "0"
    )


def test_adc_channels_read_12_bit_codes_scaled_to_16_bits(board):
    server, _ = board
    out = run_mpy(
        server,
        """
        import machine
        print(machine.ADC(machine.Pin(26)).read_u16(), machine.ADC(0).read_u16(),
              machine.ADC(4).read_u16(), machine.ADC(1).read_u16())
    """,
    )
    a, b, t, idle = (int(x) for x in out.split())
    assert a == b == u16(1.0) and a & 0xF == a >> 12  # (code << 4) | (code >> 8)
    assert t == u16(0.706) and idle == 0


def test_tach_edges_reach_a_hard_handler_at_the_set_rate(board):
    server, _ = board
    out = run_mpy(
        server,
        """
        import machine, time
        n = [0]
        def edge(pin):
            n[0] += 1
        def count():  # edges and time together, as the firmware's tach reads them
            st = machine.disable_irq()
            got = n[0], time.ticks_ms()
            machine.enable_irq(st)
            return got
        p = machine.Pin(6, machine.Pin.IN, machine.Pin.PULL_UP)
        p.irq(edge, machine.Pin.IRQ_FALLING, hard=True)
        armed = time.ticks_ms()
        time.sleep_ms(300)
        n0, t0 = count()
        time.sleep_ms(1000)
        n1, t1 = count()
        print(n0 * 1000 // time.ticks_diff(t0, armed), (n1 - n0) * 1000 // time.ticks_diff(t1, t0))
        def allocating(pin):
            bytearray(4)
        p.irq(allocating, machine.Pin.IRQ_FALLING, hard=True)
        time.sleep_ms(200)
    """,
    )
    lines = out.splitlines()
    # 3000 RPM x 2 pulses / 60 s = 100 Hz from the moment the IRQ is armed (the fan turns
    # before it is counted), each count up to date however late the edge thread runs
    since_armed, over_a_second = (int(x) for x in lines[0].split())
    assert 97 <= since_armed <= 103 and 98 <= over_a_second <= 101
    assert "heap is locked" in out and out.count("Uncaught exception in Pin IRQ handler") == 1


def test_edge_rate_polls_allocate_nothing(board):
    server, models = board
    out = run_mpy(
        server,
        """
        import machine, micropython
        import machine_pins
        rate = machine_pins._EdgeRate(6)
        v = rate.poll()  # first use, and the global v exists before the lock
        micropython.heap_lock()
        try:
            v = rate.poll()
        finally:
            micropython.heap_unlock()
        print(v)
    """,
    )
    assert out.strip() == "100000"  # 3000 RPM x 2 pulses / 60 s, per 1000 s
