"""CPython clients of the virtual bus: controller, target and control connections.

ctl = BusController("/tmp/satmc.sock", "ipmb", name="bmc")
n = ctl.write(0x39, frame)           # raises BusNackError on an address NACK
data = ctl.read(0x39, 33)

tgt = BusTarget("/tmp/satmc.sock", "ipmb", [0x10], on_message=frames.put)
tgt = BusTarget(path, "ipmb", [0x10], on_frame, listen=True)   # beside other listeners

with BusControl("/tmp/satmc.sock") as c:
    c.call("stats", bus="ipmb")
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable

from ..errors import BusError, BusNackError, BusTimeoutError, SimNotRunningError
from . import wire as w
from .wire import recv_msg, send_msg


def connect(path: str, role: int, bus: str, timeout: float = 5.0) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        sock.close()
        raise SimNotRunningError(
            f"no virtual bus at {path} ({e.strerror}); start one with 'make sim'"
        ) from e
    send_msg(sock, w.HELLO, bytes((role,)) + bus.encode())
    kind, p = recv_msg(sock)
    if kind != w.STATUS or p[:1] != bytes((w.ST_ACK,)):
        sock.close()
        raise BusError(f"the virtual bus at {path} has no bus named {bus!r}")
    return sock


def _raise_for(st: int, addr7: int) -> None:
    if st == w.ST_NACK:
        raise BusNackError(addr7)
    if st == w.ST_TIMEOUT:
        raise BusTimeoutError(f"bus busy or stuck while addressing 0x{addr7:02x}")
    if st == w.ST_ARB_LOST:
        raise BusError(f"arbitration lost while addressing 0x{addr7:02x}")
    if st != w.ST_ACK:
        raise BusError(f"bus error {w.STATUS_NAMES[st]} at 0x{addr7:02x}")


class BusController:
    """An I2C controller on a virtual bus (thread-safe; one transfer at a time)."""

    def __init__(self, path: str, bus: str = "ipmb", name: str = "host", timeout: float = 5.0):
        self.path = path
        self.bus = bus
        self._sock = connect(path, w.ROLE_CONTROLLER, bus, timeout)
        send_msg(self._sock, w.HELLO, bytes((w.ROLE_CONTROLLER,)) + name.encode())
        self._lock = threading.Lock()

    def _ask(self, kind: int, payload: bytes) -> tuple[int, bytes]:
        with self._lock:
            send_msg(self._sock, kind, payload)
            return recv_msg(self._sock)

    def write(self, addr7: int, data: bytes, stop: bool = True) -> int:
        """START, address, data, STOP. Returns the bytes ACKed; raises on address NACK."""
        _, p = self._ask(w.XFER_W, bytes((addr7, int(stop))) + bytes(data))
        _raise_for(p[0], addr7)
        return p[1]

    def read(self, addr7: int, n: int, stop: bool = True) -> bytes:
        """START, address (read), n bytes (last one NACKed), STOP."""
        _, p = self._ask(w.XFER_R, bytes((addr7, n, int(stop))))
        _raise_for(p[0], addr7)
        return p[1:]

    # byte-level operations, for callers that build transactions themselves
    def start(self, addr7: int, read: bool) -> int:
        return self._ask(w.START, bytes((addr7, int(read))))[1][0]

    def write_bytes(self, data: bytes) -> tuple[int, int]:
        p = self._ask(w.WRITE, bytes(data))[1]
        return p[0], p[1]

    def read_bytes(self, n: int, last_nack: bool = True) -> tuple[int, bytes]:
        p = self._ask(w.READ, bytes((n, int(last_nack))))[1]
        return p[0], p[1:]

    def read_bytes_stretched(self, n: int, last_nack: bool = True) -> tuple[int, bytes, float]:
        """read_bytes(), and the seconds the target held SCL low before its bytes."""
        p = self._ask(w.READ, bytes((n, int(last_nack), 1)))[1]
        return p[0], p[5:], int.from_bytes(p[1:5], "little") / 1e6

    def stop(self) -> int:
        return self._ask(w.STOP, b"")[1][0]

    # several host processes at one address (see BusTarget(listen=True))
    def next_seq(self, rq_sa: int, n: int = 1) -> int:
        """The bus's next IPMB sequence number for requests from rq_sa (shared by all);
        with n > 1 the first of n consecutive ones (modulo 64), all this host's."""
        return self._ask(w.SEQ, bytes((rq_sa, n)))[1][1]

    def claim(self, delivery: int) -> bool:
        """True when this host is the one to answer the frame numbered `delivery`."""
        return self._ask(w.CLAIM, struct.pack("<I", delivery))[1][0] == w.ST_ACK

    def close(self) -> None:
        self._sock.close()


class BusTarget:
    """An I2C target on a virtual bus that collects what controllers write to it.

    `on_message(addr7, data)` is called from the target's thread at each STOP or
    repeated START that ends a write. Reads are answered by `on_read(addr7, n)`
    (default: 0xFF, as an idle bus reads).

    With listen=True the addresses are shared with any other listeners there (host
    processes at the BMC's address): each sees every frame, and `on_message(addr7,
    data, delivery)` gets the frame's number on the bus, for BusController.claim.
    """

    def __init__(
        self,
        path: str,
        bus: str,
        addresses: list[int],
        on_message: Callable[[int, bytes], None],
        on_read: Callable[[int, int], bytes] | None = None,
        listen: bool = False,
    ):
        self._sock = connect(path, w.ROLE_TARGET, bus)
        send_msg(self._sock, w.T_CAPS, bytes((w.CAP_XFER,)))  # whole writes in one message
        if recv_msg(self._sock)[1][:1] != bytes((w.ST_ACK,)):
            self._sock.close()
            raise BusError(f"the virtual bus at {path} refused T_CAPS")
        send_msg(self._sock, w.LISTEN if listen else w.ATTACH, bytes(addresses))
        kind, p = recv_msg(self._sock)
        if p[:1] != bytes((w.ST_ACK,)):
            self._sock.close()
            raise BusError(f"address {', '.join(hex(a) for a in addresses)} is taken on {bus}")
        self._sock.settimeout(None)
        self.on_message = on_message
        self.on_read = on_read
        self.lost: str | None = None  # why the bus stopped talking to this target
        self._thread = threading.Thread(target=self._serve, name="bus-target", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        addr, writing, buf = 0, False, bytearray()
        try:
            while True:
                kind, p = recv_msg(self._sock)
                if kind == w.T_ADDR:
                    addr, writing, buf = p[0], not p[1], bytearray()
                    send_msg(self._sock, w.T_ACK, b"\x01")
                elif kind == w.T_WRITE:
                    buf += p
                    send_msg(self._sock, w.T_WROTE, bytes((len(p),)))
                elif kind == w.T_READ:
                    data = self.on_read(addr, p[0]) if self.on_read else b""
                    send_msg(self._sock, w.T_DATA, (bytes(data) + b"\xff" * p[0])[: p[0]])
                elif kind == w.T_END:
                    send_msg(self._sock, w.T_DONE)
                    if writing and buf:
                        self._deliver(addr, bytes(buf), p)
                    buf = bytearray()
                elif kind == w.T_XFER:  # a whole write: address, bytes and STOP
                    send_msg(self._sock, w.T_XFERRED, bytes((1, len(p) - 5)))
                    if len(p) > 5:
                        self._deliver(p[0], p[5:], p[1:5] if p[1:5] != bytes(4) else b"")
        except (ConnectionError, OSError) as e:
            self.lost = str(e) or type(e).__name__

    def _deliver(self, addr: int, data: bytes, delivery: bytes) -> None:
        if delivery:  # a listener's frame, numbered
            self.on_message(addr, data, struct.unpack("<I", delivery)[0])
        else:
            self.on_message(addr, data)

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


class BusControl:
    """The JSON control channel: stats, traces, faults, pacing, device stimulus."""

    def __init__(self, path: str, timeout: float = 10.0):
        self._sock = connect(path, w.ROLE_CONTROL, "", timeout)
        self._lock = threading.Lock()

    def call(self, op: str, **args) -> dict:
        with self._lock:
            send_msg(self._sock, w.CTRL, json.dumps({"op": op, **args}).encode())
            kind, p = recv_msg(self._sock)
        reply = json.loads(p)
        if "error" in reply:
            raise BusError(reply["error"])
        return reply

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> BusControl:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
