"""The virtual I2C bus server: named buses behind one Unix socket.

    server = BusServer("/tmp/satmc.sock", buses=["ipmb", "board"], freq_hz=100_000)
    server.start()            # serves in background threads
    server.buses["board"].attach(0x48, LM75Model())
    ...
    server.close()

Each connection says HELLO (role, bus name) and is then a controller, a target or a
control client (the protocol: satmc.vbus.wire). Targets may attach several addresses.
Control requests are JSON objects with an "op"; `handlers` maps extra ops (device
stimulus, for instance) to callables(request) -> reply dict.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import select
import socket
import socketserver
import struct
import threading

from ..errors import SimAlreadyRunningError
from . import wire as w
from .bus import Bus, Target, TargetGone
from .faults import FaultError
from .pcap import PcapWriter
from .wire import recv_msg, send_msg

log = logging.getLogger(__name__)


_HUNG_UP = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0)


class ProtocolError(Exception):
    """A peer broke the bus wire format."""


class RemoteTarget(Target):
    """A target living in another process (the firmware's I2CTarget, a host's target).

    SCL counts as stretched while it answers a read: on rp2 the hardware holds SCL low
    until the firmware's READ_REQ handler has supplied the byte."""

    stretches_scl = True

    def __init__(self, sock: socket.socket, name: str, stretch_timeout: float, caps: int = 0):
        self.sock = sock
        self.name = name
        self.stretch_timeout = stretch_timeout
        self.gone = threading.Event()
        self.takes_transfers = bool(caps & w.CAP_XFER)  # it said T_CAPS CAP_XFER

    def hung_up(self) -> bool:
        """True when the peer has closed its end (checked without blocking)."""
        if self.gone.is_set():
            return True
        # poll for the hang-up itself, reading nothing: a recv would wait the socket's
        # timeout for a live but quiet peer (Python waits before any recv on a socket
        # with a timeout), or take a reply from a controller thread's exchange
        try:
            p = select.poll()
            p.register(self.sock, _HUNG_UP)
            if any(ev & _HUNG_UP for _, ev in p.poll(0)):
                self.gone.set()
        except (OSError, ValueError):
            self.gone.set()
        return self.gone.is_set()

    def _ask(self, kind: int, payload: bytes, want: int) -> bytes:
        if self.gone.is_set():
            raise TargetGone(self.name)
        try:
            self.sock.settimeout(self.stretch_timeout)
            send_msg(self.sock, kind, payload)
            got, reply = recv_msg(self.sock)
        except (OSError, ConnectionError) as e:
            self.gone.set()
            log.debug("target %s stopped answering (%s)", self.name, e)
            raise TargetGone(self.name) from e
        if got != want:
            self.gone.set()
            raise TargetGone(f"{self.name}: expected reply 0x{want:02x}, got 0x{got:02x}")
        return reply

    def addressed(self, addr7: int, read: bool) -> bool:
        return self._ask(w.T_ADDR, bytes((addr7, int(read))), w.T_ACK)[:1] == b"\x01"

    def written(self, data: bytes) -> int:
        return self._ask(w.T_WRITE, data, w.T_WROTE)[0]

    def read(self, n: int, last_nack: bool) -> bytes:
        return self._ask(w.T_READ, bytes((n, int(last_nack))), w.T_DATA)

    def ended(self) -> None:
        self._ask(w.T_END, b"", w.T_DONE)

    def listened(self, delivery: int) -> None:
        self._ask(w.T_END, struct.pack("<I", delivery), w.T_DONE)

    def transfer(self, addr7: int, data: bytes, delivery: int | None) -> tuple[bool, int]:
        if not self.takes_transfers:
            return super().transfer(addr7, data, delivery)
        head = bytes((addr7,)) + struct.pack("<I", delivery or 0)
        p = self._ask(w.T_XFER, head + bytes(data), w.T_XFERRED)
        if len(p) != 2:
            self.gone.set()
            raise TargetGone(f"{self.name}: T_XFERRED of {len(p)} bytes")
        return p[0] == 1, p[1]


class _Handler(socketserver.BaseRequestHandler):
    server: _UnixServer

    def handle(self) -> None:
        owner = self.server.owner
        sock: socket.socket = self.request
        try:
            kind, payload = recv_msg(sock)
            if kind != w.HELLO or len(payload) < 1:
                raise ProtocolError("first message must be HELLO")
            role, bus_name = payload[0], payload[1:].decode()
            if role == w.ROLE_CONTROL:
                send_msg(sock, w.STATUS, bytes((w.ST_ACK,)))
                self._control(sock)
                return
            bus = owner.buses.get(bus_name)
            if bus is None:
                send_msg(sock, w.STATUS, bytes((w.ST_NO_BUS,)))
                return
            send_msg(sock, w.STATUS, bytes((w.ST_ACK,)))
            if role == w.ROLE_CONTROLLER:
                self._controller(sock, bus)
            elif role == w.ROLE_TARGET:
                self._target(sock, bus)
            else:
                raise ProtocolError(f"unknown role {role}")
        except (ConnectionError, ProtocolError, OSError) as e:
            log.debug("bus connection ended: %s", e)

    def _controller(self, sock: socket.socket, bus: Bus) -> None:
        me = object()
        name = f"controller-{sock.fileno()}"
        try:
            while True:
                kind, p = recv_msg(sock)
                if kind == w.START:
                    send_msg(sock, w.STATUS, bytes((bus.start(me, p[0], bool(p[1]), name),)))
                elif kind == w.WRITE:
                    st, n = bus.write(me, p)
                    send_msg(sock, w.WROTE, bytes((st, n)))
                elif kind == w.READ and len(p) > 2 and p[2]:  # and how long SCL was held
                    st, data, held = bus.read_stretched(me, p[0], bool(p[1]))
                    us = min(round(held * 1e6), 0xFFFFFFFF).to_bytes(4, "little")
                    send_msg(sock, w.DATA, bytes((st,)) + us + data)
                elif kind == w.READ:
                    st, data = bus.read(me, p[0], bool(p[1]))
                    send_msg(sock, w.DATA, bytes((st,)) + data)
                elif kind == w.STOP:
                    send_msg(sock, w.STATUS, bytes((bus.stop(me),)))
                elif kind == w.XFER_W and p[1]:  # a whole write: the target told at once
                    st, n = bus.write_transfer(me, p[0], p[2:], name)
                    send_msg(sock, w.WROTE, bytes((st, n)))
                elif kind == w.XFER_W:
                    st, n = bus.start(me, p[0], False, name), 0
                    if st == w.ST_ACK:
                        st, n = bus.write(me, p[2:])
                    if p[1] or st != w.ST_ACK:
                        bus.stop(me)
                    send_msg(sock, w.WROTE, bytes((st, n)))
                elif kind == w.XFER_R:
                    st, data = bus.start(me, p[0], True, name), b""
                    if st == w.ST_ACK:
                        st, data = bus.read(me, p[1], True)
                    if p[2] or st != w.ST_ACK:
                        bus.stop(me)
                    send_msg(sock, w.DATA, bytes((st,)) + data)
                elif kind == w.SEQ:
                    n = p[1] if len(p) > 1 else 1
                    if not 1 <= n <= 63:
                        raise ProtocolError(f"SEQ for {n} numbers")
                    send_msg(sock, w.DATA, bytes((w.ST_ACK, bus.next_seq(p[0], n))))
                elif kind == w.CLAIM:
                    won = bus.claim(struct.unpack("<I", p)[0])
                    send_msg(sock, w.STATUS, bytes((w.ST_ACK if won else w.ST_NACK,)))
                elif kind == w.HELLO:
                    name = p[1:].decode() or name
                else:
                    raise ProtocolError(f"controller sent message 0x{kind:02x}")
        finally:
            bus.abandon(me)

    def _target(self, sock: socket.socket, bus: Bus) -> None:
        kind, p = recv_msg(sock)
        caps = 0
        if kind == w.T_CAPS and len(p) == 1:
            caps = p[0]
            send_msg(sock, w.STATUS, bytes((w.ST_ACK,)))
            kind, p = recv_msg(sock)
        if kind not in (w.ATTACH, w.LISTEN) or not p:
            raise ProtocolError("a target must ATTACH (or LISTEN at) its addresses")
        owner = self.server.owner
        target = RemoteTarget(sock, f"target@{bus.name}:{p.hex()}", owner.stretch_timeout, caps)
        for addr in p:
            for old in [bus.targets.get(addr), *bus.listeners_at(addr)]:
                if isinstance(old, RemoteTarget) and old.hung_up():
                    bus.detach(old)  # a restarted process takes its address back
        try:
            for addr in p:
                bus.attach(addr, target, shared=kind == w.LISTEN)
        except ValueError:
            bus.detach(target)
            send_msg(sock, w.STATUS, bytes((w.ST_NACK,)))
            return
        send_msg(sock, w.STATUS, bytes((w.ST_ACK,)))
        # From now on the bus drives this socket from controller threads; this thread
        # only waits until the target is gone (hung up, a failed exchange) or the server ends.
        owner.remote_targets.add(target)
        try:
            while not target.gone.wait(0.5):
                target.hung_up()  # a process that ended frees its address soon
        finally:
            owner.remote_targets.discard(target)
            bus.detach(target)

    def _control(self, sock: socket.socket) -> None:
        while True:
            kind, p = recv_msg(sock)
            if kind != w.CTRL:
                raise ProtocolError("control connections send CTRL only")
            try:
                reply = self.server.owner.control(json.loads(p))
            except (FaultError, ValueError, KeyError, TypeError) as e:
                reply = {"error": str(e)}
            except Exception as e:  # a device model's bug: one error reply, the bus serves on
                log.exception("control request failed")
                reply = {"error": f"{type(e).__name__}: {e}"}
            send_msg(sock, w.CTRL_OK, json.dumps(reply).encode())
            if reply.get("shutdown"):
                threading.Thread(target=self.server.owner.close, daemon=True).start()
                return


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, path: str, owner: BusServer):
        self.owner = owner
        super().__init__(path, _Handler)


def _claim_socket(path: str) -> int:
    """Make `path` ours: refuse a live server there, remove a stale socket.

    The server holds an flock on `path.lock` for its lifetime; the kernel drops it when
    the process ends, even by SIGKILL, so a socket whose lock is free is stale (its
    server died) unless something still answers on it. Returns the lock's descriptor.
    """
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if _answers(path):
            raise BlockingIOError
    except BlockingIOError:
        os.close(fd)
        raise SimAlreadyRunningError(
            f"a simulator already runs at {path}; use --socket to start another"
        ) from None
    if os.path.exists(path):
        os.unlink(path)  # stale: nobody listens on it
    return fd


def _answers(path: str) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


class BusServer:
    """Named buses served on one Unix socket, with a JSON control channel."""

    def __init__(
        self,
        path: str,
        buses: list[str],
        freq_hz: int = 100_000,
        pacing: bool = False,
        stretch_timeout: float = 2.0,
        pcap_path: str | None = None,
    ):
        self.path = path
        self._lock = _claim_socket(path)
        self.buses = {
            name: Bus(name, index=i, freq_hz=freq_hz, pacing=pacing)
            for i, name in enumerate(buses)
        }
        self.stretch_timeout = stretch_timeout
        self.handlers: dict = {}
        self.remote_targets: set[RemoteTarget] = set()
        self._pcap = None
        if pcap_path:
            self._pcap = PcapWriter(open(pcap_path, "wb"))
            for bus in self.buses.values():
                bus.listeners.append(self._pcap.record)
        try:
            self._server = _UnixServer(path, self)
        except BaseException:
            os.close(self._lock)
            raise
        self._thread: threading.Thread | None = None
        self.stopped = threading.Event()

    def start(self) -> BusServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="vbus", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
        for target in list(self.remote_targets):
            target.gone.set()
        if self._pcap:
            self._pcap.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self._lock)  # the next server at this path may start

    def _bus(self, req: dict) -> Bus:
        name = req.get("bus", "ipmb")
        if name not in self.buses:
            raise ValueError(f"no bus named {name!r}; buses: {', '.join(self.buses)}")
        return self.buses[name]

    def control(self, req: dict) -> dict:
        op = req.get("op")
        if op == "ping":
            return {"buses": list(self.buses)}
        if op == "stats":
            bus = self._bus(req)
            return {
                **bus.stats,
                "fired": dict(bus.faults.fired),
                "freq_hz": bus.freq_hz,
                "last_target_error": bus.last_target_error,
            }
        if op == "reset_stats":
            bus = self._bus(req)
            for k in bus.stats:
                bus.stats[k] = 0.0 if k == "wire_time" else 0
            return {}
        if op == "trace":
            nxt, recs = self._bus(req).records_since(int(req.get("since", 0)))
            return {"next": nxt, "records": [r.as_dict() for r in recs]}
        if op == "pacing":
            for bus in self.buses.values():
                bus.pacing = bool(req["on"])
            return {}
        if op == "fault":
            self._bus(req).faults.add(req["rule"])
            return {}
        if op == "clear_faults":
            self._bus(req).faults.clear()
            return {}
        if op == "shutdown":
            return {"shutdown": True}
        handler = self.handlers.get(op)
        if handler is None:
            known = ["ping", "stats", "reset_stats", "trace", "pacing", "fault", "clear_faults"]
            raise ValueError(
                f"unknown control op {op!r}; known: {', '.join(known + list(self.handlers))}"
            )
        return handler(req)
