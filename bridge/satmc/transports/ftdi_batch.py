"""Whole I2C transactions in one USB round trip each, on pyftdi's I2cController.

    write_frame(i2c, 0x39, frame[1:])      # START, address, bytes, STOP
    data = read_frame(i2c, 0x39, 1 + n)    # START, address (read), n bytes, STOP

Stock pyftdi checks the ACK of every written byte with a USB round trip of its own
(an OUT with the byte, an IN with its ACK bit), so an IPMB frame costs 2 + length
round trips. Here the transaction is one MPSSE command batch in which every ACK bit
is read back into the reply, and one USB read collects them all; a NACK is found
afterwards. The batch always runs to its STOP, so a frame NACKed mid-way is clocked
to the end into a target that ignores it: the caller retries it whole, which is what
IPMB does anyway. A read costs the same single batch instead of three round trips.

Built on I2cController's command tuples and internals (pyftdi 0.57; pyproject caps
pyftdi to that minor version, and check_pyftdi() refuses another one that lacks them):
the pin sequences are pyftdi's own, only their grouping into USB transfers differs.
Clock stretching is pyftdi's too: each batch goes out through `_i2c_write_data`, which
with clockstretching on puts adaptive clocking on (0x96) before the batch and off
(0x97) after it, exactly as pyftdi frames each of its own transfers, so every clock of
the batch waits for SCL to read high on AD7 while a target stretches it.
"""

from __future__ import annotations

from ..errors import AdapterError, BusError, BusNackError

TESTED_PYFTDI = "0.57"
# What the batch takes from pyftdi's I2cController (and its Ftdi) beyond the public API
_INTERNALS = (
    "_ftdi", "_lock", "_i2c_write_data", "_i2c_read_data_bytes", "_clkstrch", "_fake_tristate",
    "_ck_delay", "_rx_size", "_idle", "_start", "_stop", "_immediate", "_write_byte",
    "_read_byte", "_read_bit", "_ack", "_nack", "_clk_lo_data_hi", "_clk_lo_data_lo",
    "_clk_lo_data_input", "_clk_input_data_input",
)  # fmt: skip


def check_pyftdi(i2c) -> None:
    """AdapterError unless this pyftdi has what the batch uses (feature test at open)."""
    missing = [name for name in _INTERNALS if not hasattr(i2c, name)]
    ftdi = getattr(i2c, "_ftdi", None)
    adaptive = (
        getattr(ftdi, "ENABLE_CLK_ADAPTIVE", None),
        getattr(ftdi, "DISABLE_CLK_ADAPTIVE", None),
    )
    if adaptive != (0x96, 0x97):
        missing.append("Ftdi.ENABLE_CLK_ADAPTIVE/DISABLE_CLK_ADAPTIVE")
    if missing:
        from importlib.metadata import version

        raise AdapterError(
            f"pyftdi {version('pyftdi')} lacks what satmc's batched FTDI path uses "
            f"({', '.join(missing)}); it is tested with pyftdi {TESTED_PYFTDI}: "
            f"pip install 'pyftdi~={TESTED_PYFTDI}.0'"
        )


def _ack_probe(i2c) -> bytes:
    """Release SDA and clock in the target's ACK bit (one reply byte, bit 0)."""
    release = i2c._clk_lo_data_input if i2c._fake_tristate else i2c._clk_lo_data_hi
    return bytes(release + i2c._read_bit)


def _prolog(i2c, address_byte: int) -> bytearray:
    cmd = bytearray(i2c._idle * i2c._ck_delay)
    cmd += bytes(i2c._start + i2c._write_byte)
    cmd.append(address_byte)
    cmd += _ack_probe(i2c)
    return cmd


def _epilog(i2c) -> bytes:
    stop = i2c._stop + (i2c._clk_input_data_input if i2c._fake_tristate else ())
    return bytes(stop + i2c._immediate)


def _run(i2c, cmd: bytearray, reply_len: int) -> bytes:
    if not i2c.configured:
        raise BusError("the FTDI adapter is not open")
    if reply_len > i2c._rx_size - 2:
        raise ValueError(f"{reply_len} reply bytes do not fit the adapter's FIFO")
    with i2c._lock:
        i2c._i2c_write_data(cmd)
        reply = i2c._i2c_read_data_bytes(reply_len, 4)
    if len(reply) != reply_len:
        raise BusError(f"the FTDI adapter answered {len(reply)} of {reply_len} bytes")
    return bytes(reply)


def write_frame(i2c, addr7: int, data: bytes) -> None:
    """Write data to addr7 in one transaction; BusNackError if any byte was NACKed."""
    cmd = _prolog(i2c, addr7 << 1)
    restore_sda = bytes(i2c._clk_lo_data_hi) if i2c._fake_tristate else b""
    probe = _ack_probe(i2c)
    for byte in data:
        cmd += restore_sda + bytes(i2c._write_byte)
        cmd.append(byte)
        cmd += probe
    cmd += _epilog(i2c)
    acks = _run(i2c, cmd, 1 + len(data))
    if any(a & 1 for a in acks):
        raise BusNackError(addr7)


def read_frame(i2c, addr7: int, n: int) -> bytes:
    """Read n bytes from addr7 in one transaction (the last one NACKed, then STOP)."""
    if i2c._fake_tristate:
        byte_in = i2c._clk_lo_data_input + i2c._read_byte + i2c._clk_lo_data_hi
        ack = byte_in + i2c._ack + i2c._clk_lo_data_lo * i2c._ck_delay
        nack = byte_in + i2c._nack + i2c._clk_lo_data_hi * i2c._ck_delay
    else:
        ack = i2c._read_byte + i2c._ack + i2c._clk_lo_data_hi * i2c._ck_delay
        nack = i2c._read_byte + i2c._nack + i2c._clk_lo_data_hi * i2c._ck_delay
    cmd = _prolog(i2c, addr7 << 1 | 1)
    cmd += bytes(ack * (n - 1) + nack) if n else b""
    cmd += _epilog(i2c)
    reply = _run(i2c, cmd, 1 + n)
    if reply[0] & 1:
        raise BusNackError(addr7)
    return reply[1:]
