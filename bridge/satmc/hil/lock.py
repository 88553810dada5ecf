"""One HIL run per rig: an exclusive lock per adapter or serial port on this host.

    with RigLock("ftdi://ftdi:232h/1"):      # RigBusyError if another run holds it
        ...

The lock is fcntl.flock on a file named after the transport URL without its options
(ftdi://ftdi:232h/1?freq=400000 and ftdi://ftdi:232h/1 are one adapter), in
$SATMC_LOCK_DIR if set, else /run/lock when it is writable (shared by every user of
the host), else the temp directory. The kernel drops it when the holder exits, however
it exits, so a killed run never leaves a stale lock. The holder writes its pid and
command line into the file, which the refused run names. Caveat: two spellings of one adapter
(ftdi://ftdi:232h/1 and ftdi://ftdi:232h:SERIAL/1) are two locks.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import SatmcError


class RigBusyError(SatmcError):
    """Another process on this host drives the same adapter or serial port."""


def lock_key(url: str) -> str:
    """What identifies the hardware: the URL without its query options."""
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))


def lock_dir() -> Path:
    """$SATMC_LOCK_DIR, else /run/lock where writable, else the temp directory."""
    if os.environ.get("SATMC_LOCK_DIR"):
        return Path(os.environ["SATMC_LOCK_DIR"])
    run = Path("/run/lock")
    if run.is_dir() and os.access(run, os.W_OK | os.X_OK):
        return run
    return Path(tempfile.gettempdir())


class RigLock:
    def __init__(self, url: str, directory: Path | None = None):
        self.key = lock_key(url)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", self.key).strip("_")
        self.path = Path(directory or lock_dir()) / f"satmc-hil-{name}.lock"
        self._fd: int | None = None

    def acquire(self) -> RigLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            os.fchmod(fd, 0o666)  # every user's runs share it (umask aside)
        except PermissionError:
            pass  # another user's file: already shared
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise RigBusyError(
                f"{self.key} is in use by another HIL run on this host "
                f"({holder or 'holder unknown'}); wait for it to end or stop it"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {' '.join(sys.argv)}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> RigLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
