"""`satmc bmc`: the bench BMC's LAN side in front of a chassis side, until interrupted.

    run(Config(users_file="bmc-users.toml", bind="0.0.0.0", port=623), responder)

Loopback by default. Another address needs a users file; without one, on loopback,
a login is made up for this run: user `admin` with a random password, written to a
private file in the runtime directory and printed, never a built-in password.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import ipaddress
import logging
import os
import secrets
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import SatmcError, UsersFileError
from .lan import Endpoint, Options, crypto, users
from .lan.server import serve

log = logging.getLogger("satmc.bmc")
COUNTS = {
    "sessions_opened",
    "sessions_closed",
    "sessions_expired",
    "requests",
    "refused",
    "asf_pings",
    "failed_logins",
    "answers_after_close",
}  # not refusal reasons


@dataclass
class Config:
    users_file: str | None = None
    bind: str = "127.0.0.1"
    port: int = 623
    allow_auth_none: bool = False
    max_sessions: int = 16
    cipher_suites: tuple = (3, 17)  # RMCP+ suites offered (crypto.SUITES)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def runtime_users_file(port: int) -> tuple[Path, str]:
    """A one-run login on loopback: -> (its private users file, the password)."""
    base = (
        Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"satmc-{os.getuid()}"
    )
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)[:16]
    path = base / f"bmc-users-{port}.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(
            f'[[user]]\nname = "admin"\npassword = "{password}"\nprivilege = "administrator"\n'
        )
    return path, password


def load_users(config: Config) -> users.Users:
    if config.users_file:
        return users.load(config.users_file)
    if not _loopback(config.bind):
        raise UsersFileError(
            f"--bind {config.bind} reaches beyond this host: it needs --users FILE "
            "(see README, Bench BMC)"
        )
    path, password = runtime_users_file(config.port)
    print(f"bench BMC login for this run: -U admin -P {password} (in {path})", flush=True)
    return users.load(path)


async def serve_until_stopped(config: Config, responder, users_obj=None, ready=None):
    """Serve until SIGINT/SIGTERM; a responder with start()/close() (BenchBmc) is started
    first and closed last. -> the Endpoint (its stats)."""
    ep = Endpoint(
        users_obj or load_users(config),
        Options(
            allow_auth_none=config.allow_auth_none,
            max_sessions=config.max_sessions,
            cipher_suites=config.cipher_suites,
        ),
    )
    if hasattr(responder, "start"):
        await responder.start()
        for note in getattr(responder, "notes", []):
            print(f"bench BMC: {note}", flush=True)
    _settle()
    try:
        await _serve(ep, config, responder, ready)
    finally:
        if hasattr(responder, "close"):
            await responder.close()
    return ep


def _settle() -> None:
    """Before the first datagram: AES once (cryptography loads its backend on first use,
    about a millisecond), and what the start made moved out of the garbage collector's
    way (gc.freeze), so the first requests pay for neither a backend load nor a full
    collection of the start's objects."""
    crypto.aes_decrypt(bytes(16), crypto.aes_encrypt(bytes(16), b""))
    gc.collect()
    gc.freeze()


async def _serve(ep, config, responder, ready):
    try:
        transport, _server = await serve(ep, responder, config.bind, config.port)
    except OSError as e:
        if e.errno == errno.EACCES:
            raise SatmcError(
                f"UDP port {config.port} needs root or CAP_NET_BIND_SERVICE; "
                "use --port 6230 (and ipmitool -p 6230)"
            ) from None
        raise SatmcError(f"cannot bind {config.bind}:{config.port}: {e.strerror}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    suites = " and ".join(str(n) for n in config.cipher_suites)
    print(f"bench BMC on {config.bind}:{config.port} (RMCP, RMCP+ suites {suites})", flush=True)
    if ready:
        ready()
    try:
        await stop.wait()
    finally:
        transport.close()
        reasons = {k: v for k, v in sorted(ep.stats.items()) if k not in COUNTS}
        print(
            f"bench BMC stopped: {ep.stats['sessions_opened']} sessions, "
            f"{ep.stats['requests']} requests, {ep.stats['refused']} refused"
            + (f" ({', '.join(f'{k} {v}' for k, v in reasons.items())})" if reasons else ""),
            flush=True,
        )


def run(config: Config, responder, users_obj=None) -> None:
    asyncio.run(serve_until_stopped(config, responder, users_obj))
