"""The MPSSE engine of an FT232H, wired as an I2C controller on a virtual bus.

    engine = MPSSE(BusController(path, "ipmb", name="ftdi:SATMC01"))
    reply = engine.execute(commands)     # bytes the chip queues for the host

Wiring modelled (the FT232H I2C hookup pyftdi documents): ADBUS0 (TCK) and ADBUS7
(clock-stretching feedback) on the SCL net, ADBUS1 (DO) and ADBUS2 (DI) on the SDA
net; every other pin on a net of its own with the chip's pull-up. A net is low when
any pin on it drives low (or, for SDA, when the addressed target does).

Commands: 0x80/0x82 set pins, 0x81/0x83 get pins, clocked data (0x10..0x3F: bytes
or bits, out and/or in, MSB or LSB first), 0x8E/0x8F clocks without data, 0x86
divisor, 0x8A/0x8B divide-by-5, 0x8C/0x8D three-phase clocking, 0x84/0x85
loopback, 0x87 send immediate, 0x96/0x97 adaptive clocking, 0x9E drive-zero.
Anything else (JTAG TMS shifts, wait-on-GPIO) is answered 0xFA + opcode, as the chip
answers an opcode it does not know.

START and STOP are SDA edges while SCL is high, made by 0x80. Each clocked bit is
one SCL pulse given to the I2C decoder, which turns bits into byte-level bus
operations: the address byte -> `start()`, each written byte -> `write_bytes()`,
each read byte -> `read_bytes(1, last_nack)` at its first bit, STOP -> `stop()`.
On a wire the target learns of the controller's NACK only at the ninth bit; the bus
wants it with the byte, so the engine looks it up in the commands already received
(pyftdi always sends a read byte and its ACK/NACK bit in the same batch).

Clock stretching: the bus says how long the target held SCL low before it supplied a
read byte (vbus read_stretched(); the firmware's I2CTarget holds it while its READ_REQ
handler runs, as rp2 does, and a `stretch` fault holds it on purpose). With adaptive
clocking on (0x96) each clock waits for SCL to read high on AD7, so nothing is lost.
Without it (0x97, the power-on state) the MPSSE clocks on regardless: every clock
whose rising edge falls while SCL is held never reaches the wire, and the engine
samples SDA there as the target leaves it (released: 1). The target's bits then come
that many clocks late, so the bytes read are shifted, and the target, out of step,
takes the controller's released SDA at its ninth clock for a NACK and sends nothing
more: the rest reads 0xFF. A clock is lost when the hold outlasts the half bit to its
rising edge: ceil(held x bit rate - 1/2) clocks.
"""

from __future__ import annotations

import math

from ..vbus import wire as w

BAD_COMMAND = 0xFA

SCL_NET = 0x0081  # AD0 (TCK), AD7 (feedback for adaptive clocking)
SDA_NET = 0x0006  # AD1 (DO), AD2 (DI)
DO_BIT = 0x0002

MASTER_CLOCK_HZ = 60_000_000


class I2CDecoder:
    """Bit-level I2C seen from the controller's pins, as byte-level bus operations."""

    IDLE, ADDRESS, WRITE, TARGET_ACK, READ, MASTER_ACK, IGNORED = range(7)

    def __init__(self, bus, master_nack_ahead, lost_clocks):
        self.bus = bus
        self._master_nack_ahead = master_nack_ahead  # () -> bool, see MPSSE
        self._lost_clocks = lost_clocks  # (seconds SCL held) -> clocks lost, see MPSSE
        self.phase = self.IDLE
        self._fetched = False  # the read byte being clocked out came from the bus
        self._held = 0  # clocks still to give while the target holds SCL low
        self.owns_bus = False
        self._byte = 0
        self._bits = 0
        self._ack_level = 1
        self._after_ack = self.IGNORED

    def start(self) -> None:
        """START or repeated START: the next 8 bits are an address byte."""
        self.phase = self.ADDRESS
        self._byte = self._bits = self._held = 0
        self._fetched = False

    def stop(self) -> None:
        if self.owns_bus:
            self.bus.stop()
            self.owns_bus = False
        self.phase = self.IDLE
        self._held = 0
        self._fetched = False

    def clock(self, master_sda: int) -> int:
        """One SCL pulse with the controller's SDA level; returns the SDA line level."""
        phase = self.phase
        if phase in (self.ADDRESS, self.WRITE):
            self._byte = (self._byte << 1) | master_sda
            self._bits += 1
            if self._bits == 8:
                self._byte_written(self._byte, phase == self.ADDRESS)
            return master_sda
        if phase == self.TARGET_ACK:
            self.phase = self._after_ack
            self._byte = self._bits = 0
            return master_sda & self._ack_level
        if phase == self.READ:
            if not self._fetched:
                st, data, held = self.bus.read_bytes_stretched(1, self._master_nack_ahead())
                self._byte = data[0] if st == w.ST_ACK and data else 0xFF
                self._fetched = True
                self._held = self._lost_clocks(held)
            if self._held:  # SCL held low by the target: this clock never reaches the wire
                self._held -= 1
                return master_sda
            level = master_sda & (self._byte >> (7 - self._bits)) & 1
            self._bits += 1
            if self._bits == 8:
                self.phase = self.MASTER_ACK
                self._fetched = False
            return level
        if phase == self.MASTER_ACK:
            self.phase = self.READ if master_sda == 0 else self.IGNORED
            self._bits = 0
            return master_sda
        return master_sda

    def _byte_written(self, byte: int, is_address: bool) -> None:
        self.phase = self.TARGET_ACK
        if is_address:
            st = self.bus.start(byte >> 1, bool(byte & 1))
            # a NACKed address keeps the bus until STOP; arbitration loss or timeout free it
            self.owns_bus = st in (w.ST_ACK, w.ST_NACK)
            acked = st == w.ST_ACK
            self._after_ack = (self.READ if byte & 1 else self.WRITE) if acked else self.IGNORED
        else:
            st, n = self.bus.write_bytes(bytes((byte,)))
            acked = st == w.ST_ACK and n == 1
            self._after_ack = self.WRITE
        self._ack_level = 0 if acked else 1


class MPSSE:
    """Pins, clock settings and the command interpreter of one MPSSE port."""

    def __init__(self, bus):
        self.decoder = I2CDecoder(bus, self._master_nack_ahead, self._lost_clocks)
        self._buf = bytearray()  # the commands being executed
        self._next = 0  # where the command after the running one starts
        self._stream: list[int | None] = []  # DO per clock of the running command
        self._at_clock = 0
        self.reset()

    def reset(self) -> None:
        """Leave MPSSE mode: pins released, settings back to their power-on values."""
        if self.decoder.phase != I2CDecoder.IDLE:
            self.decoder.stop()
        self.out = 0x0000
        self.dir = 0x0000
        self.drive_zero = 0x0000
        self.divisor = 0xFFFF
        self.divide_by_5 = True
        self.three_phase = False
        self.adaptive = False
        self.loopback = False
        self._pending = bytearray()

    def purge(self) -> None:
        """Drop a command cut short by a purge of the chip's receive buffer."""
        self._pending = bytearray()

    @property
    def clock_hz(self) -> float:
        """TCK frequency; the I2C bit rate is 2/3 of it with three-phase clocking."""
        base = MASTER_CLOCK_HZ / (5 if self.divide_by_5 else 1)
        return base / ((1 + self.divisor) * 2)

    @property
    def scl_hz(self) -> float:
        return self.clock_hz * (2 / 3 if self.three_phase else 1)

    def _lost_clocks(self, held: float) -> int:
        """Clocks given while a target held SCL low for `held` seconds: none with
        adaptive clocking (each clock waits for SCL on AD7), else those whose rising
        edge, half a bit after SCL went low, comes before the target lets go."""
        if self.adaptive or held <= 0:
            return 0
        return max(0, math.ceil(round(held * self.scl_hz - 0.5, 6)))  # 2.5 bits: 2, not 3

    # --- pins -----------------------------------------------------------------------------

    def _level(self, net: int) -> int:
        """1 unless a pin on the net drives low (a pin driving 1 with drive-zero on is
        released; either way the net reads high unless something pulls it down)."""
        return 0 if self.dir & net & ~self.out else 1

    def pins(self) -> int:
        """What 0x81/0x83 read: every pin's level (released pins read their pull-up)."""
        value = (self.out | ~self.dir) & 0xFFFF
        for net in (SCL_NET, SDA_NET):
            value = value | net if self._level(net) else value & ~net
        return value

    def _set_pins(self, shift: int, value: int, direction: int) -> None:
        before_scl, before_sda = self._level(SCL_NET), self._level(SDA_NET)
        mask = 0xFF << shift
        self.out = self.out & ~mask | value << shift
        self.dir = self.dir & ~mask | direction << shift
        scl, sda = self._level(SCL_NET), self._level(SDA_NET)
        if before_scl and scl and before_sda != sda:
            if sda:
                self.decoder.stop()
            else:
                self.decoder.start()

    # --- clocking -------------------------------------------------------------------------

    def _clock(self, stream: list[int | None], lsb_first: bool, reply: bytearray | None) -> None:
        """One SCL pulse per entry, driving DO with it (None: DO keeps its level); the
        bits read from DI go to reply, packed as the chip shifts them in (MSB first:
        in at bit 0, moving up), a byte per 8 clocks and one for a remainder."""
        self._stream = stream
        got = 0
        for i, bit in enumerate(stream):
            self._at_clock = i
            if bit is not None:
                self.out = self.out | DO_BIT if bit else self.out & ~DO_BIT
            master_sda = self._level(SDA_NET)
            line = master_sda if self.loopback else self.decoder.clock(master_sda)
            got = (got >> 1) | (line << 7) if lsb_first else ((got << 1) | line) & 0xFF
            if reply is not None and (i % 8 == 7 or i == len(stream) - 1):
                reply.append(got)
                got = 0

    def _master_nack_ahead(self) -> bool:
        """Whether the controller NACKs the byte whose first bit is being clocked: its
        SDA at the ninth clock from here, found in the commands the chip already holds
        (a target on the wire learns it only then). ACK when they do not reach it."""
        skip = self._at_clock + 8
        stream, out, direction = self._stream, self.out, self.dir
        at = self._next
        while True:
            if skip < len(stream):
                done = [b for b in stream[: skip + 1] if b is not None]
                do = done[-1] if done else out & DO_BIT
                return bool(do) or not direction & DO_BIT
            done = [b for b in stream if b is not None]
            if done:
                out = out | DO_BIT if done[-1] else out & ~DO_BIT
            skip -= len(stream)
            stream = []
            while not stream:
                n = self._length(self._buf[at], self._buf, at) if at < len(self._buf) else None
                if n is None or at + n > len(self._buf):
                    return False
                op, args = self._buf[at], self._buf[at + 1 : at + n]
                at += n
                if op == 0x80:
                    out, direction = out & ~0xFF | args[0], direction & ~0xFF | args[1]
                elif op in (0x8E, 0x8F) or _is_shift(op):
                    stream = _do_stream(op, args)

    # --- the interpreter ------------------------------------------------------------------

    def _length(self, op: int, buf: bytearray, at: int) -> int | None:
        """Bytes taken by the command at buf[at] (opcode included); None if incomplete."""
        if op < 0x80:
            if op & 0x40:  # TMS shifts: length and data byte (answered 0xFA here)
                return 3 if op & 0x02 else 1
            if not op & 0x30:
                return 1
            if op & 0x02:
                return 3 if op & 0x10 else 2
            if not op & 0x10:
                return 3
            if len(buf) < at + 3:
                return None
            return 3 + (buf[at + 1] | buf[at + 2] << 8) + 1
        return _FIXED_LENGTHS.get(op, 1)

    def execute(self, data: bytes) -> bytes:
        """Run the commands in data (a command cut by the USB packet waits for the rest)."""
        buf = self._pending + data
        self._buf = buf
        reply = bytearray()
        at = 0
        while at < len(buf):
            op = buf[at]
            n = self._length(op, buf, at)
            if n is None or at + n > len(buf):
                break
            self._next = at + n
            self._run(op, buf[at + 1 : at + n], reply)
            at += n
        self._pending = buf[at:]
        return bytes(reply)

    def _run(self, op: int, args: bytes, reply: bytearray) -> None:
        if op in (0x8E, 0x8F) or _is_shift(op):
            self._clock(_do_stream(op, args), bool(op & 0x08), reply if op & 0x20 else None)
        elif op == 0x80:
            self._set_pins(0, args[0], args[1])
        elif op == 0x82:
            self._set_pins(8, args[0], args[1])
        elif op == 0x81:
            reply.append(self.pins() & 0xFF)
        elif op == 0x83:
            reply.append(self.pins() >> 8)
        elif op in (0x84, 0x85):
            self.loopback = op == 0x84
        elif op == 0x86:
            self.divisor = args[0] | args[1] << 8
        elif op in (0x8A, 0x8B):
            self.divide_by_5 = op == 0x8B
        elif op in (0x8C, 0x8D):
            self.three_phase = op == 0x8C
        elif op in (0x96, 0x97):
            self.adaptive = op == 0x96
        elif op == 0x9E:
            self.drive_zero = args[0] | args[1] << 8
        elif op != 0x87:  # send immediate: the emulation never holds replies back
            reply += bytes((BAD_COMMAND, op))


def _is_shift(op: int) -> bool:
    """Clocked data: bytes or bits, out (bit 4) and/or in (bit 5); TMS shifts excluded."""
    return op < 0x80 and not op & 0x40 and bool(op & 0x30)


def _do_stream(op: int, args: bytes) -> list[int | None]:
    """DO level per clock of a clocking command (None where DO keeps its level)."""
    if op == 0x8E:
        return [None] * (args[0] + 1)
    if op == 0x8F:
        return [None] * ((args[0] | args[1] << 8) + 1) * 8
    if op & 0x02:
        nbits, data = args[0] + 1, args[1:2]
    else:
        nbits, data = ((args[0] | args[1] << 8) + 1) * 8, args[2:]
    if not op & 0x10:
        return [None] * nbits
    lsb_first = op & 0x08
    return [(data[j // 8] >> (j % 8 if lsb_first else 7 - j % 8)) & 1 for j in range(nbits)]


# Bytes per command, opcode included (1 when absent: a lone opcode answered 0xFA)
_FIXED_LENGTHS = {
    0x80: 3, 0x82: 3, 0x81: 1, 0x83: 1, 0x84: 1, 0x85: 1, 0x86: 3, 0x87: 1,
    0x8A: 1, 0x8B: 1, 0x8C: 1, 0x8D: 1, 0x8E: 2, 0x8F: 3, 0x96: 1, 0x97: 1, 0x9E: 3,
    0x9C: 3, 0x9D: 3,  # clock bytes until GPIOL1: not emulated, answered 0xFA
}  # fmt: skip
