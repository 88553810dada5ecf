"""The `serial` transport: IPMI Serial Basic Mode over a serial line (pyserial).

    intf = SerialInterface("/dev/ttyACM0")                    # a board's USB serial
    intf = SerialInterface("socket://127.0.0.1:5000")         # the simulator's serial line

Frames are A0, the escaped IPMB-format message, A5 (A0, A5, A6, AA and 1B travel as
AA followed by B0, B5, B6, BA, 3B); A6 alone is a handshake. Responses arrive on the
same line, so no readback is needed. The requester address defaults to 0x81 (remote
software ID), as ipmitool uses. A try that timed out holds its rqSeq back for IPMB's 5 s
(satmc.transports.sequence): a stalled board may still answer it.
"""

from __future__ import annotations

import threading

from pyipmi.interfaces.ipmb import IpmbInterface

from ..errors import AdapterError
from .sequence import HoldsSequences

START, STOP, HANDSHAKE, ESCAPE = 0xA0, 0xA5, 0xA6, 0xAA
ESCAPES = {0xA0: 0xB0, 0xA5: 0xB5, 0xA6: 0xB6, 0xAA: 0xBA, 0x1B: 0x3B}
UNESCAPES = {v: k for k, v in ESCAPES.items()}
MAX_MESSAGE = 64


def encode_basic_mode(message: bytes) -> bytes:
    out = bytearray((START,))
    for b in message:
        out += bytes((ESCAPE, ESCAPES[b])) if b in ESCAPES else bytes((b,))
    out.append(STOP)
    return bytes(out)


class BasicModeDecoder:
    """Byte stream in, messages out; garbage between frames and broken frames are skipped."""

    def __init__(self):
        self.msg: bytearray | None = None
        self.escaped = False
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        out = []
        for b in data:
            if b == START:
                self.msg, self.escaped = bytearray(), False
            elif self.msg is None or b == HANDSHAKE:
                continue
            elif self.escaped:
                self.escaped = False
                if b not in UNESCAPES:
                    self.msg, self.dropped = None, self.dropped + 1
                else:
                    self.msg.append(UNESCAPES[b])
            elif b == ESCAPE:
                self.escaped = True
            elif b == STOP:
                out.append(bytes(self.msg))
                self.msg = None
            else:
                self.msg.append(b)
            if self.msg is not None and len(self.msg) > MAX_MESSAGE:
                self.msg, self.dropped = None, self.dropped + 1
        return out


def serial_device(url: str) -> str:
    """pyserial's name for a satmc serial URL: serial:///dev/X -> /dev/X; socket://HOST:PORT
    as is, without satmc's options (pyserial's socket:// reads options of its own)."""
    if url.startswith("serial://"):
        return url[len("serial://") :].split("?", 1)[0]
    return url.split("?", 1)[0]


def _open_failure(url: str, e: Exception) -> str:
    """Why a serial line would not open, and what to do about it."""
    import errno

    if not url.startswith("serial://"):
        return str(e)
    device = serial_device(url)
    if getattr(e, "errno", None) == errno.ENOENT:
        from serial.tools.list_ports import comports

        present = sorted(p.device for p in comports())
        return f"no serial port {device}; " + (
            f"ports present: {', '.join(present)}"
            if present
            else "no serial ports are present (is the board plugged in?)"
        )
    if getattr(e, "errno", None) == errno.EACCES:
        return (
            f"no permission to open {device}; join the group that owns it "
            f"(Debian/Ubuntu: sudo usermod -aG dialout $USER, then log in again)"
        )
    if getattr(e, "errno", None) == errno.EBUSY:
        return f"{device} is busy: another program (a terminal, mpremote) holds it"
    return str(e)


class SerialInterface(HoldsSequences, IpmbInterface):
    NAME = "serial"

    def __init__(self, url: str, baudrate: int = 115200, slave_address: int = 0x81, router=None):
        super().__init__(slave_address=slave_address, router=router)
        self.url = url
        self.baudrate = baudrate
        self.port = None
        self._decoder = BasicModeDecoder()
        self._pending: list[bytes] = []
        self._write_lock = threading.Lock()

    def open(self) -> None:
        if self.port is not None:
            return
        import serial

        try:
            self.port = serial.serial_for_url(
                serial_device(self.url), baudrate=self.baudrate, timeout=0.05
            )
        except (serial.SerialException, ValueError) as e:
            raise AdapterError(f"{self.url}: {_open_failure(self.url, e)}") from e
        self.port.reset_input_buffer()
        self._start_receiver()

    def send_frame(self, frame: bytes) -> None:
        self._logger.debug("IPMB TX [%s]", bytes(frame).hex(" "))
        if self.port is None:
            self.open()
        with self._write_lock:
            self.port.write(encode_basic_mode(frame))
            self.port.flush()

    def _read_frame(self, timeout: float) -> bytes | None:
        if not self._pending:
            data = self.port.read(max(1, self.port.in_waiting))
            self._pending.extend(self._decoder.feed(data))
        return self._pending.pop(0) if self._pending else None

    def _wakeup_receiver(self) -> None:
        if self.port is not None and hasattr(self.port, "cancel_read"):
            self.port.cancel_read()  # close at once instead of after the read timeout

    def close(self) -> None:
        self._stop_receiver()
        if self.port is not None:
            self.port.close()
            self.port = None
        super().close()
