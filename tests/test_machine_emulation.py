"""The `machine` emulation on the MicroPython unix port, against a real virtual bus.

Each scenario is a MicroPython program that uses I2C and I2CTarget on one bus (two
blocks wired together, as on an RP2040 satellite) and prints what it saw.
"""

from __future__ import annotations

import pytest
from emulation import run_mpy

from satmc.vbus.server import BusServer


@pytest.fixture
def bus(tmp_path):
    server = BusServer(str(tmp_path / "bus.sock"), buses=["ipmb", "board"]).start()
    yield server
    server.close()


def test_hard_handler_that_allocates_fails_as_on_the_board(bus):
    out = run_mpy(
        bus,
        """
        import machine, time
        t = machine.I2CTarget(0, 0x40, scl=1, sda=0)
        def allocating(tgt):
            tgt.readinto(bytearray(8))     # a new buffer in a hard IRQ: not allowed
        t.irq(allocating, machine.I2CTarget.IRQ_WRITE_REQ, hard=True)
        c = machine.I2C(1, scl=3, sda=2)
        c.writeto(0x40, b"abc")
        c.writeto(0x40, b"def")            # the handler was disabled after the first failure
        print("after", t.irq().flags())
    """,
    )
    assert "MemoryError" in out and "heap is locked" in out
    assert out.count("Uncaught exception in I2CTarget IRQ handler") == 1
    assert "after" in out


def test_hard_handler_with_preallocated_buffer_receives_every_byte(bus):
    out = run_mpy(
        bus,
        """
        import machine
        buf = bytearray(64)
        views = [memoryview(buf)[i:] for i in range(64)]   # slicing in the IRQ would allocate
        got = [0]
        ends = bytearray(4)
        t = machine.I2CTarget(0, 0x40, scl=1, sda=0)
        def handler(tgt):
            f = tgt.irq().flags()
            if f & tgt.IRQ_WRITE_REQ:
                got[0] += tgt.readinto(views[got[0]])
            elif f & tgt.IRQ_END_WRITE:
                ends[0] += 1
        t.irq(handler, t.IRQ_WRITE_REQ | t.IRQ_END_WRITE, hard=True)
        c = machine.I2C(1, scl=3, sda=2)
        n = c.writeto(0x40, bytes(range(40)))
        print("acked", n, "received", bytes(buf[:got[0]]) == bytes(range(40)), ends[0])
    """,
    )
    assert "acked 40 received True 1" in out, out


def test_controller_errors_follow_the_rp2_port(bus):
    out = run_mpy(
        bus,
        """
        import machine, errno
        c = machine.I2C(1, scl=3, sda=2)
        try:
            c.writeto(0x50, b"x")
        except OSError as e:
            print("absent", e.errno == errno.EIO)       # rp2 hardware block
        try:
            c.readfrom(0x50, 2)
        except OSError as e:
            print("absent read", e.errno == errno.EIO)
        try:
            c.writeto(0x50, b"")
        except OSError as e:
            print("absent probe", e.errno == errno.ENODEV)  # zero-length: bit-banged path
        try:
            machine.SoftI2C(scl=5, sda=4).writeto(0x50, b"x")
        except OSError as e:
            print("absent soft", e.errno == errno.ENODEV)
        mem = bytearray(b"0123456789abcdef")
        t = machine.I2CTarget(0, 0x44, scl=1, sda=0, mem=mem)
        print("scan", c.scan())
        print("mem", c.readfrom_mem(0x44, 4, 3))
        c.writeto_mem(0x44, 14, b"XYZ")          # wraps at the end of mem
        print("next", c.readfrom(0x44, 2), c.readfrom(0x44, 2))  # each read fetches one more
        print("wrapped", bytes(mem))
        try:
            machine.I2C(0, scl=1, sda=0)
        except ValueError as e:
            print("block", "target" in str(e))
        try:
            t.irq(lambda t: None, machine.I2CTarget.IRQ_READ_REQ)
        except ValueError as e:
            print("hard only", "hard IRQ required" in str(e))
        s = machine.SoftI2C(scl=5, sda=4)
        print("private bus empty", s.scan())
        s.deinit()
    """,
    )
    assert "absent True" in out and "absent read True" in out, out
    assert "absent probe True" in out and "absent soft True" in out
    assert "scan [68]" in out
    assert "mem b'456'" in out
    assert "next b'12' b'45'" in out
    assert "wrapped b'Z123456789abcdXY'" in out
    assert "block True" in out and "hard only True" in out
    assert "private bus empty []" in out


def test_unwired_pins_and_missing_bus_are_clear_errors(bus, tmp_path):
    out = run_mpy(
        bus,
        """
        import machine
        try:
            machine.I2C(1, scl=9, sda=8)
        except ValueError as e:
            print("unwired:", e)
    """,
    )
    assert "unwired: pins 9/8 are not wired to one bus" in out
    env_bus = BusServer(str(tmp_path / "other.sock"), buses=["x"]).start()
    try:
        out = run_mpy(
            env_bus,
            """
            import machine
            try:
                machine.I2C(1, scl=3, sda=2)
            except OSError as e:
                print("nobus:", e)
        """,
        )
    finally:
        env_bus.close()
    assert "virtual bus has no bus named 'ipmb'" in out


def test_bus_thread_cannot_allocate_beside_the_firmware(bus):
    # The firmware's heap figures are gc.mem_alloc() deltas: any allocation on the bus
    # thread meanwhile counted as the firmware's (the intermittent 256 bytes of
    # test_read_fru_data_allocates_nothing). Every socket operation the bus thread makes
    # must run with its heap locked.
    out = run_mpy(
        bus,
        """
        import _thread, machine
        main = _thread.get_ident()
        seen = [0, 0]                          # [locked, unlocked] bus-thread socket calls

        def probe():
            if _thread.get_ident() == main:
                return
            try:
                bytearray(1)
                seen[1] += 1
            except MemoryError:
                seen[0] += 1

        class Probed:
            def __init__(self, sock):
                self.sock = sock
            def readinto(self, buf, n=-1):
                probe()
                return self.sock.readinto(buf) if n < 0 else self.sock.readinto(buf, n)
            def write(self, buf, off=0, n=-1):
                probe()
                return self.sock.write(buf) if n < 0 else self.sock.write(buf, off, n)
            def recv(self, n):
                probe()
                return self.sock.recv(n)
            def sendall(self, buf):
                probe()
                return self.sock.sendall(buf)
            def close(self):
                self.sock.close()

        real = machine._connect
        machine._connect = lambda role, name: Probed(real(role, name))
        buf = bytearray(8)
        t = machine.I2CTarget(0, 0x40, scl=1, sda=0)
        def handler(tgt):
            if tgt.irq().flags() & tgt.IRQ_WRITE_REQ:
                tgt.readinto(buf)
            else:
                tgt.write(buf)
        t.irq(handler, t.IRQ_WRITE_REQ | t.IRQ_READ_REQ, hard=True)
        machine._connect = real
        c = machine.I2C(1, scl=3, sda=2)
        for i in range(20):
            c.writeto(0x40, b"abcd")
            c.readfrom(0x40, 4)
        print("locked", seen[0] > 0, "unlocked", seen[1])
    """,
    )
    assert "locked True unlocked 0" in out, out
