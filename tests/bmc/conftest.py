"""The bench BMC's chassis side in process, in front of a real simulated satellite.

`bmc` runs a BenchBmc on an asyncio loop of its own thread (as the LAN side would) and
offers `call`: one request as a session would send it, the response and then every
message the BMC emitted after it, in the order they came.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from satmc.bmc.api import ADMINISTRATOR, BmcRequest
from satmc.bmc.chassis import BenchBmc
from satmc.eventlog import EventLog


class Loop:
    """An asyncio loop on a thread; run(coro) from the test's thread."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Session:
    """Requests as one LAN session sends them; what came back, in order."""

    def __init__(self, loop: Loop, bmc: BenchBmc, privilege=ADMINISTRATOR, session_id=1):
        self.loop, self.bmc = loop, bmc
        self.privilege, self.session_id = privilege, session_id
        self.seq = 0
        self.out: list[tuple] = []  # ("response", cc, data) and ("emit", message)
        self._cond = threading.Condition()

    def _emit(self, msg: bytes) -> None:
        with self._cond:
            self.out.append(("emit", bytes(msg)))
            self._cond.notify_all()

    def request(self, netfn, cmd, data=b"", **kw) -> BmcRequest:
        self.seq = (self.seq + 1) % 64
        fields = dict(privilege=self.privilege, session_id=self.session_id, rq_seq=self.seq)
        fields.update(kw)
        return BmcRequest(netfn, cmd, bytes(data), emit=self._emit, **fields)

    def call(self, netfn, cmd, data=b"", **kw) -> tuple[int, bytes]:
        req = self.request(netfn, cmd, data, **kw)

        async def go():
            cc, rsp = await self.bmc.handle(req)
            with self._cond:  # as the LAN side sends it: at once, before awaiting again
                self.out.append(("response", cc, rsp))
            return cc, rsp

        return self.loop.run(go())

    def wait_emitted(self, n: int, timeout: float = 10.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while sum(1 for o in self.out if o[0] == "emit") < n:
                left = deadline - time.monotonic()
                assert left > 0, f"{n} messages expected after the response, got {self.out}"
                self._cond.wait(left)
            return [o[1] for o in self.out if o[0] == "emit"]


@pytest.fixture(scope="module")
def loop():
    lp = Loop()
    yield lp
    lp.close()


@pytest.fixture(scope="module")
def bmc(sim, loop, tmp_path_factory):
    d = tmp_path_factory.mktemp("bmc")
    b = BenchBmc(sim.url, [sim.address], log=EventLog(d / "events.sqlite", 64), cache_dir=d)
    loop.run(b.start())
    yield b
    loop.run(b.close())


@pytest.fixture
def session(loop, bmc):
    return Session(loop, bmc)


@pytest.fixture
def session_as(loop, bmc):
    def make(privilege, session_id=2):
        return Session(loop, bmc, privilege, session_id)

    return make


@pytest.fixture
def another_bmc(sim, loop, tmp_path):
    """make(addresses) -> a Session with a BenchBmc of its own in front of them."""
    made = []

    def make(addresses, url=None, capacity=8, **kw):
        b = BenchBmc(
            url or sim.url, addresses, log=EventLog(tmp_path / f"e{len(made)}.sqlite", capacity),
            cache_dir=tmp_path, **kw,
        )  # fmt: skip
        loop.run(b.start())
        made.append(b)
        return Session(loop, b)

    yield make
    for b in made:
        loop.run(b.close())


@pytest.fixture(scope="module")
def session_for(loop):
    """session_for(bmc, privilege=ADMINISTRATOR, session_id=1) -> a Session on that BMC."""
    return lambda b, privilege=ADMINISTRATOR, session_id=1: Session(loop, b, privilege, session_id)


@pytest.fixture
def slow_satellite(loop):
    """slow_satellite(session, address, frame) as a context: that satellite's worker is
    held (a satellite taking its time) while a Send Message carrying `frame` to it waits;
    on leaving, the worker goes on and the request must complete: (cc, data)."""
    import contextlib

    @contextlib.contextmanager
    def hold(session, address, frame):
        held = threading.Event()
        busy = session.bmc.links.get(address).worker.submit(held.wait, 20)
        req = session.request(0x06, 0x34, frame)  # Send Message
        pending = asyncio.run_coroutine_threadsafe(session.bmc.handle(req), loop.loop)
        try:
            yield pending
        finally:
            held.set()
        busy.result(5)
        assert pending.result(10) == (0, b"")

    return hold
