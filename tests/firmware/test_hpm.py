"""HPM.1 Finish Firmware Upload as a long-duration command: 80h when its work outlasts
the budget, the outcome in Get Upgrade Status, a repeated request answered, not redone."""

import asyncio
import hashlib
import json
import os
import time

from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, ask

from ipmc import hpm  # noqa: F401  (registers the PICMG commands)
from ipmc.link import IPMBLink
from ipmc.mc import MC

_DIR = f"/tmp/satmc-unit-hpm-{time.time_ns()}"
_PICMG = 0x2C
_INITIATE, _UPLOAD, _FINISH, _STATUS, _ACTIVATE, _ABORT = 0x31, 0x32, 0x33, 0x34, 0x35, 0x30
_IN_PROGRESS = 0x80
_BLOCK = 23  # image bytes an IPMB frame carries


def _archive(files, damage=False):
    """A bundle archive (format: ipmc.hpm's docstring), manifest.json last."""
    out = bytearray(b"SATMCBA1")
    for name, data in files:
        out += bytes((len(name),)) + name + len(data).to_bytes(4, "little") + data
    out.append(0)
    out += hashlib.sha256(out).digest()
    if damage:
        out[12] ^= 0xFF
    return bytes(out)


_FILES = [
    (b"ipmc/x.mpy", bytes(range(256)) * 8),
    (b"board_config.mpy", b"c" * 300),
    (b"manifest.json", b'{"firmware_version": "7.42.0"}'),
]


def _fresh(name):
    d = _DIR + "-" + name
    os.mkdir(d)
    os.chdir(d)
    from ipmc import hpm_cmds

    hpm_cmds._drop_stage()  # what an earlier test left
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    mc.request_reset = lambda: None
    return mc, hpm_cmds


def _upload(mc, data):
    assert ask(mc, _PICMG, _INITIATE, b"\x00\x01\x02")[0] == 0
    for n, at in enumerate(range(0, len(data), _BLOCK)):
        assert ask(mc, _PICMG, _UPLOAD, bytes((0, n & 0xFF)) + data[at : at + _BLOCK])[0] == 0


def _finish(mc, data):
    return ask(mc, _PICMG, _FINISH, b"\x00\x00" + len(data).to_bytes(4, "little"))


def _status(mc):
    cc, d = ask(mc, _PICMG, _STATUS, b"\x00")
    assert cc == 0
    return d[1], d[2]


async def _settled(mc):
    for _ in range(10000):
        cmd, cc = _status(mc)
        if cc != _IN_PROGRESS:
            return cmd, cc
        await asyncio.sleep_ms(0)
    raise AssertionError("Finish never settled")


def test_a_slow_finish_answers_in_progress_and_get_upgrade_status_tells_the_outcome():
    mc, cmds = _fresh("slow")
    data = _archive(_FILES)
    _upload(mc, data)
    cmds.FINISH_BUDGET_MS = 0  # a flash slower than any budget

    async def run():
        assert _finish(mc, data)[0] == _IN_PROGRESS
        assert _status(mc) == (_FINISH, _IN_PROGRESS)
        assert _finish(mc, data)[0] == _IN_PROGRESS  # its answer was lost: asked again
        assert ask(mc, _PICMG, _ACTIVATE, b"\x00")[0] == 0xD5  # nothing to activate yet
        assert await _settled(mc) == (_FINISH, 0)

    try:
        asyncio.run(run())
    finally:
        cmds.FINISH_BUDGET_MS = 50
    assert _finish(mc, data)[0] == 0  # asked again once done: the outcome, not the work again
    with open("hpm/a/ipmc/x.mpy", "rb") as f:
        assert f.read() == _FILES[0][1]
    assert ask(mc, _PICMG, _ACTIVATE, b"\x00")[0] == 0


def test_a_damaged_image_is_refused_through_get_upgrade_status():
    mc, cmds = _fresh("damaged")
    data = _archive(_FILES, damage=True)
    _upload(mc, data)
    cmds.FINISH_BUDGET_MS = 0

    async def run():
        assert _finish(mc, data)[0] == _IN_PROGRESS
        assert await _settled(mc) == (_FINISH, 0x82)

    try:
        asyncio.run(run())
    finally:
        cmds.FINISH_BUDGET_MS = 50
    assert ask(mc, _PICMG, _ACTIVATE, b"\x00")[0] == 0xD5
    assert "a" not in os.listdir("hpm")  # nothing unpacked


def test_abort_stops_a_running_finish_and_leaves_no_bundle():
    mc, cmds = _fresh("abort")
    data = _archive(_FILES)
    _upload(mc, data)
    cmds.FINISH_BUDGET_MS = 0
    try:
        assert _finish(mc, data)[0] == _IN_PROGRESS
        assert ask(mc, _PICMG, _ABORT, b"\x00")[0] == 0
    finally:
        cmds.FINISH_BUDGET_MS = 50
    assert cmds._st.work is None
    assert not _exists("hpm/a/manifest.json") and not _exists("hpm/stage")
    assert ask(mc, _PICMG, _ACTIVATE, b"\x00")[0] == 0xD5


def test_a_quick_finish_answers_its_outcome():
    mc, cmds = _fresh("quick")
    data = _archive(_FILES)
    _upload(mc, data)
    cmds.FINISH_BUDGET_MS = 60000  # the unix port's filesystem is fast enough for anything
    try:
        assert _finish(mc, data)[0] == 0
    finally:
        cmds.FINISH_BUDGET_MS = 50
    assert _status(mc) == (_FINISH, 0)


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _install_root(files):
    """A root bundle on the board's filesystem: the files and a manifest naming them."""
    os.mkdir("ipmc")
    names = [n for n, _ in files] + [b"main.py"]  # main.py stays out of an archive
    manifest = json.dumps({"files": {n.decode(): {} for n in names}})
    for name, data in files + [(b"main.py", b"import satboot\n")]:
        with open(name, "wb") as f:
            f.write(data)
    with open("manifest.json", "w") as f:
        f.write(manifest)
    return files + [(b"manifest.json", manifest.encode())]


def _compare(mc, data):
    assert ask(mc, _PICMG, _INITIATE, b"\x00\x01\x03")[0] == 0  # upload for compare
    for n, at in enumerate(range(0, len(data), _BLOCK)):
        assert ask(mc, _PICMG, _UPLOAD, bytes((0, n & 0xFF)) + data[at : at + _BLOCK])[0] == 0
    return _finish(mc, data)[0]


def test_upload_for_compare_tells_whether_the_image_is_the_installed_bundle():
    mc, cmds = _fresh("compare")
    files = _install_root([(b"board_config.mpy", b"c" * 300), (b"ipmc/x.mpy", b"x" * 700)])
    assert _compare(mc, _archive(files)) == 0  # the same bytes
    other = list(files)
    other[1] = (b"ipmc/x.mpy", b"x" * 699 + b"y")
    assert _compare(mc, _archive(other)) == 0x83  # one byte differs
    assert _compare(mc, _archive(files)[:-1]) == 0x83  # one byte short
    assert ask(mc, _PICMG, _ACTIVATE, b"\x00")[0] == 0xD5  # a compare stages nothing
    assert not _exists("hpm/stage") and not _exists("hpm/a")
    assert cmds._st.installed is None


def test_the_advertised_timeouts_are_the_board_files():
    mc, _ = _fresh("caps")
    mc.config = dict(mc.config)
    mc.config["hpm_timeouts"] = {
        "upgrade_s": 300,
        "self_test_s": 61,
        "rollback_s": 65,
        "inaccessibility_s": 1275,
    }
    cc, d = ask(mc, _PICMG, 0x2E, b"\x00")
    assert cc == 0
    assert tuple(d[3:7]) == (60, 13, 13, 255)  # 5 s units, rounded up
