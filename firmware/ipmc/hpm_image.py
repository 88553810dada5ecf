"""The staged HPM.1 upload's checks and unpacking (ipmc.hpm loads this while it needs it).

The archive format is ipmc.hpm's docstring. Everything reads through the caller's
buffer, a chunk at a time: memory stays bounded whatever the bundle's size. check() and
unpack() are generators that yield after each chunk (Finish Firmware Upload steps them
while the firmware goes on serving); their value is the outcome:

    ok = yield from check(stage, size, buf)
    yield from unpack(stage, into, buf)
"""

import os

try:
    import satboot
except ImportError:
    satboot = None

MAGIC = b"SATMCBA1"


def rmtree(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        p = path + "/" + n
        try:
            os.remove(p)
        except OSError:
            rmtree(p)
    try:
        os.rmdir(path)
    except OSError:
        pass


def mkdirs(path):
    at = ""
    for part in path.split("/"):
        at = part if not at else at + "/" + part
        try:
            os.mkdir(at)
        except OSError:
            pass


def version_of(slot):
    """(major, minor) of the bundle in a slot, from its manifest, or None."""
    if satboot is None or not satboot.present(slot):
        return None
    import json

    d = satboot.slot_dir(slot)
    try:
        with open((d + "/" if d else "") + "manifest.json") as f:
            v = json.load(f)["firmware_version"].split(".")
        return int(v[0]), int(v[1])
    except (OSError, ValueError, KeyError, IndexError):
        return None


def check(stage, size, buf):
    """True when the staged archive's SHA-256 matches and its entries are well formed."""
    import hashlib

    if size < len(MAGIC) + 1 + 32:
        return False
    yield
    h = hashlib.sha256()
    body = size - 32
    with open(stage, "rb") as f:
        at = 0
        while at < body:
            k = f.readinto(buf)
            if not k:
                return False
            if at + k > body:
                k = body - at
            h.update(memoryview(buf)[:k])
            at += k
            yield
        f.seek(body)
        want = f.read(32)
        if h.digest() != want:
            return False
        f.seek(0)
        if f.read(8) != MAGIC:
            return False
        last = None
        while True:
            b = f.read(1)
            if not b:
                return False
            k = b[0]
            if k == 0:
                break
            name = f.read(k)
            if len(name) != k or name.startswith(b"/") or b".." in name or b"\\" in name:
                return False
            n = int.from_bytes(f.read(4), "little")
            f.seek(f.tell() + n)
            last = name
            yield
        if f.tell() != body or last != b"manifest.json":
            return False
    return True


def unpack(stage, into, buf):
    """Copy every entry of the staged archive below `into` (manifest.json last)."""
    yield
    with open(stage, "rb") as f:
        f.seek(len(MAGIC))
        while True:
            k = f.read(1)[0]
            if k == 0:
                return
            name = f.read(k).decode()
            n = int.from_bytes(f.read(4), "little")
            path = into + "/" + name
            if "/" in name:
                mkdirs(path.rsplit("/", 1)[0])
            with open(path, "wb") as out:
                while n:
                    m = f.readinto(memoryview(buf)[: min(n, len(buf))])
                    if not m:
                        raise OSError(5)  # EIO: the staged file ended early
                    out.write(memoryview(buf)[:m])
                    n -= m
                    yield


def _names(d):
    """The archive's entries of the bundle whose manifest is in d: its files under ipmc/
    and board_config.mpy, sorted, then manifest.json (what satmc.hpm.slot_files picks)."""
    import json

    with open((d + "/" if d else "") + "manifest.json") as f:
        files = json.load(f)["files"]
    names = sorted(n for n in files if n.startswith("ipmc/") or n == "board_config.mpy")
    del files
    names.append("manifest.json")
    return names


def _chunks(d, buf):
    """The bundle archive of the bundle installed in d, a chunk (memoryview) at a time."""
    import hashlib

    h = hashlib.sha256()
    yield from _hashed(h, MAGIC)
    for name in _names(d):
        raw = name.encode()
        path = (d + "/" if d else "") + name
        n = os.stat(path)[6]
        yield from _hashed(h, bytes((len(raw),)) + raw + n.to_bytes(4, "little"))
        with open(path, "rb") as f:
            while True:
                k = f.readinto(buf)
                if not k:
                    break
                yield from _hashed(h, memoryview(buf)[:k])
    yield from _hashed(h, b"\x00")
    yield h.digest()


def _hashed(h, chunk):
    h.update(chunk)
    yield chunk


class Installed:
    """The installed bundle's archive as a stream to compare uploaded blocks with
    (Initiate Upgrade Action 03h, upload for compare): a chunk in memory at a time."""

    def __init__(self, slot, buf):
        self._gen = _chunks(satboot.slot_dir(slot), buf)
        self._cur = b""
        self._at = 0
        self.same = True

    def compare(self, data):
        """The next len(data) bytes of the stream against data (same stays False after
        the first difference, or when the stream ends first)."""
        i = 0
        while i < len(data) and self.same:
            if self._at == len(self._cur):
                try:
                    self._cur = next(self._gen)
                except StopIteration:
                    self.same = False
                    break
                self._at = 0
            k = min(len(data) - i, len(self._cur) - self._at)
            if bytes(self._cur[self._at : self._at + k]) != bytes(data[i : i + k]):
                self.same = False
            self._at += k
            i += k

    def ended(self):
        """True when every byte of the stream was compared."""
        if self._at < len(self._cur):
            return False
        for chunk in self._gen:
            if len(chunk):
                self._cur, self._at = chunk, 0
                return False
        return True
