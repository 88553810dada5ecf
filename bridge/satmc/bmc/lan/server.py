"""The bench BMC's UDP server on asyncio: datagrams through `session.Endpoint`, requests
to the chassis side's `Responder`: answered at once when the responder can answer
without waiting (its `answer_now`), else each in a task of its own so one slow satellite
stalls no other session.

    transport, server = await serve(endpoint, responder, "127.0.0.1", 623)

Messages a responder emits while its request is still being handled are held until
the request's own response is out (Send Message answers first, then the bridged
response: ipmitool needs that order).
"""

from __future__ import annotations

import asyncio
import logging

from ...ipmi import codes
from .session import Dispatch, Endpoint

log = logging.getLogger("satmc.bmc.lan")

REQUEST_TIMEOUT = 10.0  # a responder taking longer is answered with C3 (timeout)
MAX_IN_FLIGHT = 64  # requests being handled at once, over all sessions
MAX_IN_FLIGHT_PER_SESSION = 8
EXPIRE_EVERY = 1.0


class LanServer(asyncio.DatagramProtocol):
    def __init__(self, endpoint: Endpoint, responder):
        self.endpoint = endpoint
        self.responder = responder
        self.transport: asyncio.DatagramTransport | None = None
        self.tasks: set[asyncio.Task] = set()
        self._per_session: dict[int, int] = {}
        self._expirer: asyncio.Task | None = None
        # a responder's answer_now(request) -> (cc, data), or None when it must wait
        self._answer_now = getattr(responder, "answer_now", None)

    def connection_made(self, transport):
        self.transport = transport
        self._expirer = asyncio.get_running_loop().create_task(self._expire())

    def connection_lost(self, exc):
        if self._expirer:
            self._expirer.cancel()
        for t in self.tasks:
            t.cancel()

    async def _expire(self):
        while True:
            await asyncio.sleep(EXPIRE_EVERY)
            self.endpoint.expire()

    def datagram_received(self, data: bytes, addr) -> None:
        try:
            replies, dispatch = self.endpoint.receive(data, addr[:2])
        except Exception:  # a bug must not stop the server: count it, log it, go on
            self.endpoint.refuse("internal_error", addr[:2])
            log.exception("datagram from %s", addr)
            return
        for r in replies:
            self.transport.sendto(r, addr)
        if dispatch is None:
            return
        now = self._answer_now(dispatch.request) if self._answer_now else None
        if now is not None:  # answered without waiting: no task, no timeout
            cc, data = now
            self._send(dispatch, addr, self.endpoint.answer(dispatch, cc, bytes(data)))
            return
        sid = dispatch.session.bmc_sid
        if (
            len(self.tasks) >= MAX_IN_FLIGHT
            or self._per_session.get(sid, 0) >= MAX_IN_FLIGHT_PER_SESSION
        ):
            self.endpoint.refuse("busy", addr[:2])
            self._send(dispatch, addr, self.endpoint.answer(dispatch, codes.CC_BUSY, b""))
            return
        self._per_session[sid] = self._per_session.get(sid, 0) + 1
        task = asyncio.get_running_loop().create_task(self._handle(dispatch, addr))
        self.tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, sid))

    def _done(self, task, sid):
        self.tasks.discard(task)
        n = self._per_session.get(sid, 1) - 1
        if n:
            self._per_session[sid] = n
        else:
            self._per_session.pop(sid, None)

    def _send(self, dispatch: Dispatch, addr, datagram: bytes | None) -> None:
        if datagram is not None and self.transport is not None:
            self.transport.sendto(datagram, addr)

    async def _handle(self, dispatch: Dispatch, addr) -> None:
        held: list[bytes] = []
        answered = False

        def emit(message: bytes) -> None:
            if answered:
                self._send(dispatch, addr, self.endpoint.frame(dispatch, message))
            else:
                held.append(message)

        dispatch.request.emit = emit
        dispatch.request.drop_sessions = self.endpoint.close_all
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):  # no task of its own, as wait_for
                cc, data = await self.responder.handle(dispatch.request)
        except TimeoutError:
            cc, data = codes.CC_TIMEOUT, b""
        except Exception:
            log.exception("responder failed on %s", dispatch.request)
            self.endpoint.stats["responder_errors"] += 1
            cc, data = codes.CC_UNSPECIFIED, b""
        self._send(dispatch, addr, self.endpoint.answer(dispatch, cc, bytes(data)))
        answered = True
        for message in held:
            self._send(dispatch, addr, self.endpoint.frame(dispatch, message))


async def serve(endpoint: Endpoint, responder, host: str = "127.0.0.1", port: int = 623):
    """Bind and start serving; -> (transport, LanServer)."""
    loop = asyncio.get_running_loop()
    return await loop.create_datagram_endpoint(
        lambda: LanServer(endpoint, responder), local_addr=(host, port)
    )
