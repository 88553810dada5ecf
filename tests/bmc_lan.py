"""Test helpers for the bench BMC's LAN side: a server on a free loopback port in a
thread of its own, a users file, a UDP relay that records what a real client sends."""

from __future__ import annotations

import asyncio
import collections
import os
import socket
import subprocess
import threading

from satmc.bmc.lan import Endpoint, Options, users
from satmc.bmc.lan.server import serve

USERS_TOML = """\
[[user]]
name = "admin"
password = "adminpw"
privilege = "administrator"
[[user]]
name = "operator"
password = "operatorpw"
privilege = "operator"
[[user]]
name = "alice"
password = "alicepw"
privilege = "user"
"""

DEVICE_ID = bytes((0x20, 0x81, 0x01, 0x02, 0x02, 0xBF, 0, 0, 0, 0, 0))


class LanOnly:
    """Stands in for the chassis side in the LAN-side tests: Get Device ID, the rest C1."""

    async def handle(self, req):
        if (req.netfn, req.cmd) == (0x06, 0x01):
            return 0, DEVICE_ID
        return 0xC1, b""


class Clock:
    """A clock the test moves (idle timeouts without waiting)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def users_file(tmp_path, text=USERS_TOML, mode=0o600):
    path = tmp_path / "users.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


class Server:
    """The LAN server on 127.0.0.1, a free port, its own event loop in a thread."""

    def __init__(self, users_obj, responder=None, clock=None, **options):
        kw = {"clock": clock} if clock else {}
        self.endpoint = Endpoint(users_obj, Options(**options), **kw)
        self.responder = responder or LanOnly()
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10)
        self.port = self.transport.get_extra_info("sockname")[1]

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def start():
            if hasattr(self.responder, "start"):
                await self.responder.start()
            self.transport, self.protocol = await serve(
                self.endpoint, self.responder, "127.0.0.1", 0
            )
            self._ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def call(self, fn):
        """Run fn() on the server's loop (the endpoint is not shared across threads)."""
        done = threading.Event()
        out = {}

        def step():
            out["v"] = fn()
            done.set()

        self.loop.call_soon_threadsafe(step)
        assert done.wait(10)
        return out["v"]

    def stats(self):
        return self.call(lambda: collections.Counter(self.endpoint.stats))

    def close(self):
        async def stop():
            self.transport.close()
            await asyncio.sleep(0)  # let the cancelled tasks finish
            if hasattr(self.responder, "close"):
                await self.responder.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def ipmitool(
    exe, port, *args, interface="lanplus", user="admin", password="adminpw", extra=(), timeout=120
):
    cmd = [exe, "-I", interface, "-H", "127.0.0.1", "-p", str(port), "-N", "2", "-R", "3"]
    if user is not None:
        cmd += ["-U", user]
    if password is not None:
        cmd += ["-P", password]
    return subprocess.run(
        cmd + list(extra) + list(args), capture_output=True, text=True, timeout=timeout
    )


class Relay:
    """A UDP relay between one client and the BMC that records the client's datagrams and
    can send more from the same source address (replays, tampered copies); with `drop`
    set, what the client sends goes nowhere (a BMC gone silent)."""

    def __init__(self, port):
        self.bmc = ("127.0.0.1", port)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.sent: list[bytes] = []
        self.client = None
        self.drop = False
        self._stop = False
        self._threads = [threading.Thread(target=f, daemon=True) for f in (self._up, self._down)]
        for t in self._threads:
            t.start()

    def _up(self):
        self.front.settimeout(0.2)
        while not self._stop:
            try:
                data, self.client = self.front.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            self.sent.append(data)
            if not self.drop:
                self.back.sendto(data, self.bmc)

    def _down(self):
        self.back.settimeout(0.2)
        while not self._stop:
            try:
                data, _ = self.back.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            if self.client:
                self.front.sendto(data, self.client)

    def inject(self, data: bytes):
        self.back.sendto(data, self.bmc)

    def close(self):
        self._stop = True
        for t in self._threads:
            t.join(2)
        self.front.close()
        self.back.close()


def load(path):
    return users.load(os.fspath(path))
