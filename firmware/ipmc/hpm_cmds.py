"""The HPM.1 command handlers, loaded by ipmc.hpm at the first PICMG request.

What each command does, the bundle archive's format and the completion codes:
ipmc.hpm's docstring. Kept out of the heap until an HPM.1 request comes.
"""

from micropython import const

from .dispatch import (
    CC_INVALID_DATA,
    CC_NOT_IN_STATE,
    CC_NOT_PRESENT,
    CC_OUT_OF_SPACE,
)
from .hpm import LAST as _LAST  # the last long-duration command and its code

try:
    import satboot
except ImportError:  # a frozen or older image without the boot selector
    satboot = None

_PICMG = const(0x00)
_IN_PROGRESS = const(0x80)
_CC_81 = const(0x81)
_CC_82 = const(0x82)
_CC_83 = const(0x83)

_CMD_INITIATE = const(0x31)
_CMD_UPLOAD = const(0x32)
_CMD_FINISH = const(0x33)
_CMD_ACTIVATE = const(0x35)
_CMD_ROLLBACK = const(0x38)

_CAPS = const(0x07)  # [0] self test, [1] automatic rollback, [2] manual rollback
_GENERAL = const(0x0D)  # [1:0] 01b rollback, [2] preparation, [3] comparison supported
_EXTENSION = const(0x14)  # PICMG extension 4.1 (AMC.0)

STAGE = "hpm/stage"
_CHUNK = const(256)
_STEP_MS = const(10)  # Finish's steps in the background: this long between other tasks

_IDLE = const(0)
_UPLOADING = const(1)
_FINISHING = const(3)  # Finish's steps run (_finish_steps)
_COMPARING = const(4)  # upload for compare: blocks are compared, never stored
_UPLOADED = const(2)


class _State:
    def __init__(self):
        self.phase = _IDLE
        self.file = None
        self.block = 0  # the next block number (mod 256)
        self.size = 0
        self.slot = None  # the slot the last finished upload went to
        self.work = None  # Finish's steps while they run (a generator)
        self.installed = None  # upload for compare: hpm_image.Installed
        self.buf = bytearray(_CHUNK)


_st = _State()
FINISH_BUDGET_MS = 50  # Finish answers its outcome when its work takes no longer
HANDLERS = {}  # cmd -> handler; ipmc.hpm registers the commands and calls these


def _handler(cmd):
    def put(fn):
        HANDLERS[cmd] = fn
        return fn

    return put


def _record():
    return satboot.read() if satboot else ["-", "x", "ok", 0, "none", 0]


def _picmg(rq, rs):
    """True when the defining body byte is PICMG's; otherwise rs says CC."""
    if rq.data[0] != _PICMG:
        rs.fail(CC_INVALID_DATA)
        return False
    rs.data[0] = _PICMG
    return True


def _done(cmd, cc, rs, n=1):
    _LAST[0] = cmd
    _LAST[1] = cc
    return rs.ok(n) if cc == 0 else rs.fail(cc)


def _drop_stage():
    _stop_work()
    _forget_stage()


def _forget_stage():
    if _st.installed is not None:  # a compare ends: its stream and module go
        _st.installed = None
        _unload()
    if _st.file is not None:
        try:
            _st.file.close()
        except OSError:
            pass
        _st.file = None
    import os

    try:
        os.remove(STAGE)
    except OSError:
        pass
    _st.phase = _IDLE


def _put_version(d, major, minor, aux):
    m = minor % 100
    d[1] = major & 0x7F
    d[2] = (m // 10) << 4 | m % 10
    for i in range(4):
        d[3 + i] = aux[i]


@_handler(0x00)
def get_picmg_properties(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    rs.data[1] = _EXTENSION
    from . import fru

    top = 0
    for dev in fru._devices:
        if dev.id > top:
            top = dev.id
    rs.data[2] = top  # the highest FRU device ID
    rs.data[3] = 0  # the controller's own FRU device
    return rs.ok(4)


@_handler(0x2E)
def get_target_upgrade_capabilities(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    t = mc.config["hpm_timeouts"]  # seconds (board file), sent in 5 s units
    d = rs.data
    d[1] = 0x00  # HPM.1 version
    d[2] = _CAPS if satboot else 0x01
    d[3] = (t["upgrade_s"] + 4) // 5  # the longest a long-duration command takes
    d[4] = (t["self_test_s"] + 4) // 5
    d[5] = (t["rollback_s"] + 4) // 5
    d[6] = (t["inaccessibility_s"] + 4) // 5  # a reset into a bundle, until it answers
    d[7] = 0x01  # components present: 0
    return rs.ok(8)


@_handler(0x2F)
def get_component_properties(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    if rq.data[1] != 0:
        return rs.fail(_CC_82)
    sel = rq.data[2]
    d = rs.data
    if sel == 0:
        d[1] = _GENERAL if satboot else 0
        return rs.ok(2)
    if sel == 1:
        _put_version(d, mc.firmware[0], mc.firmware[1], mc.aux_revision)
        return rs.ok(7)
    if sel == 2:
        text = ("satmc " + mc.config["name"]).encode()
        for i in range(12):
            d[1 + i] = text[i] if i < len(text) and i < 11 else 0
        return rs.ok(13)
    if sel == 3:
        r = _record()
        v = None
        if r[2] == "ok":
            v = _image().version_of(r[1])
            _unload()
        if v is None:
            return rs.fail(CC_NOT_PRESENT)  # no bundle to roll back to
        _put_version(d, v[0], v[1], mc.aux_revision)
        return rs.ok(7)
    return rs.fail(_CC_83)


@_handler(0x30)
def abort_firmware_upgrade(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    _drop_stage()
    _st.slot = None
    return rs.ok(1)


@_handler(_CMD_INITIATE)
def initiate_upgrade_action(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    mask, action = rq.data[1], rq.data[2]
    if mask != 0x01:
        return rs.fail(_CC_81)
    if action > 3 or (satboot is None and action != 2):
        return rs.fail(_CC_82)
    if action == 3:  # upload for compare, with the bundle that runs
        _drop_stage()
        try:
            _st.installed = _image().Installed(satboot.read()[0], _st.buf)
        except (OSError, ValueError, KeyError):
            _unload()
            return _done(_CMD_INITIATE, CC_NOT_PRESENT, rs)  # no manifest to compare with
        _st.phase = _COMPARING
        _st.block = 0
        _st.size = 0
    elif action == 2:
        _drop_stage()
        try:
            import os

            os.mkdir("hpm")
        except OSError:
            pass
        try:
            _st.file = open(STAGE, "wb")
        except OSError:
            return _done(_CMD_INITIATE, CC_OUT_OF_SPACE, rs)
        _st.phase = _UPLOADING
        _st.block = 0
        _st.size = 0
        _st.slot = None
    elif action == 1:  # prepare: nothing staged any more
        _drop_stage()
    return _done(_CMD_INITIATE, 0, rs)


@_handler(_CMD_UPLOAD)
def upload_firmware_block(mc, rq, rs):
    """Block numbers count up mod 256; the block just taken again (its response was
    lost) is answered without writing it twice."""
    if not _picmg(rq, rs):
        return 0
    st = _st
    if st.phase != _UPLOADING and st.phase != _COMPARING:
        return rs.fail(CC_NOT_IN_STATE)
    n = rq.data[1]
    if n == (st.block - 1) & 0xFF and st.size:
        return rs.ok(1)
    if n != st.block:
        return rs.fail(CC_INVALID_DATA)
    if st.phase == _COMPARING:
        st.installed.compare(memoryview(rq.data)[2 : rq.data_len])
        st.size += rq.data_len - 2
        st.block = (n + 1) & 0xFF
        return _done(_CMD_UPLOAD, 0, rs)
    try:
        st.file.write(rq.data[2 : rq.data_len])
    except OSError:
        _drop_stage()
        return _done(_CMD_UPLOAD, CC_OUT_OF_SPACE, rs)
    st.size += rq.data_len - 2
    st.block = (n + 1) & 0xFF
    _LAST[0] = _CMD_UPLOAD
    _LAST[1] = 0
    return rs.ok(1)


@_handler(_CMD_FINISH)
def finish_firmware_upload(mc, rq, rs):
    """The check and the unpacking run as steps (_finish_steps): within FINISH_BUDGET_MS
    the answer is their outcome; a slower flash gets 80h, the steps go on in a task and
    Get Upgrade Status reports the outcome (HPM.1 3.3: a long-duration command)."""
    if not _picmg(rq, rs):
        return 0
    st = _st
    if rq.data[1] != 0:
        return rs.fail(_CC_82)
    if st.phase == _FINISHING:  # the same request again (its answer was lost)
        return rs.fail(_IN_PROGRESS)
    if st.phase == _UPLOADED and _LAST[0] == _CMD_FINISH:
        return rs.ok(1)  # ... after its work was done
    d = rq.data
    length = d[2] | d[3] << 8 | d[4] << 16 | d[5] << 24
    if st.phase == _COMPARING:
        if length != st.size:
            return rs.fail(_CC_81)
        same = st.installed.same and st.installed.ended()
        _drop_stage()
        return _done(_CMD_FINISH, 0 if same else _CC_83, rs)  # 83h: the images differ
    if st.phase != _UPLOADING or satboot is None:
        return rs.fail(CC_NOT_IN_STATE)
    if length != st.size:
        return rs.fail(_CC_81)  # the upload stays open: blocks can still come
    st.file.close()
    st.file = None
    st.phase = _FINISHING
    _LAST[0] = _CMD_FINISH
    _LAST[1] = _IN_PROGRESS
    st.work = _finish_steps()
    cc = _run(st.work, FINISH_BUDGET_MS)
    if cc is None:
        import asyncio

        asyncio.create_task(_finish_later())
        return rs.fail(_IN_PROGRESS)
    return rs.ok(1) if cc == 0 else rs.fail(cc)


def _run(work, budget_ms):
    """Step `work` for up to budget_ms: its completion code, or None while it goes on."""
    import time

    t0 = time.ticks_ms()
    try:
        while time.ticks_diff(time.ticks_ms(), t0) < budget_ms:
            next(work)
    except StopIteration as e:
        _st.work = None
        return e.value
    except Exception:  # a fault in the steps: nothing half done stays (see _finish_steps)
        _st.work = None
        _forget_stage()
        _LAST[1] = 0xFF
        return 0xFF
    return None


async def _finish_later():
    import asyncio

    while _st.work is not None:
        await asyncio.sleep_ms(0)  # the link and the serial line are served in between
        work = _st.work
        if work is not None:
            _run(work, _STEP_MS)


def _stop_work():
    """Abort or a new upload while Finish's steps run: they stop where they are."""
    if _st.work is not None:
        work, _st.work = _st.work, None
        work.close()  # its finally closes the files; a slot without manifest counts as none


def _finish_steps():
    """Check the staged archive and unpack it into the free slot, a chunk per step;
    returns the completion code (also in Get Upgrade Status)."""
    st = _st
    img = _image()
    try:
        ok = yield from img.check(STAGE, st.size, st.buf)
        if not ok:
            _forget_stage()
            return _end(_CC_82)
        r = satboot.read()
        slot = "b" if r[0] == "a" else "a"
        if r[1] == slot:  # the rollback bundle is about to be overwritten: no rollback then
            r[1] = satboot.NONE
            satboot.write(r)
        into = satboot.slot_dir(slot)
        img.rmtree(into)
        img.mkdirs(into)
        try:
            yield from img.unpack(STAGE, into, st.buf)
        except (OSError, IndexError):
            img.rmtree(into)
            _forget_stage()
            return _end(CC_OUT_OF_SPACE)
        _forget_stage()
        st.phase = _UPLOADED
        st.slot = slot
        return _end(0)
    finally:
        del img
        _unload()


def _end(cc):
    _LAST[0] = _CMD_FINISH
    _LAST[1] = cc
    return cc


def _image():
    """ipmc.hpm_image: the staged archive's checks and unpacking, loaded while needed."""
    import gc

    gc.collect()
    from . import hpm_image

    return hpm_image


def _unload():
    from . import main

    main._unload("hpm_image")


@_handler(0x34)
def get_upgrade_status(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    rs.data[1] = _LAST[0]
    rs.data[2] = _LAST[1]
    return rs.ok(3)


@_handler(_CMD_ACTIVATE)
def activate_firmware(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    if rq.data_len == 2 and rq.data[1] not in (0, 0xFF):
        return rs.fail(_CC_82)  # no override of the automatic rollback
    st = _st
    if st.phase != _UPLOADED or not satboot.present(st.slot):
        return rs.fail(CC_NOT_IN_STATE)
    r = satboot.read()
    satboot.write([st.slot, r[0], "new", mc.config["upgrade_deadline_ms"], "none", 0])
    st.phase = _IDLE
    mc.request_reset()  # after this response has gone out
    return _done(_CMD_ACTIVATE, 0, rs)


@_handler(0x36)
def query_self_test_results(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    r = _record()
    if r[2] != "ok":
        return rs.fail(_IN_PROGRESS)
    d = rs.data
    if r[4] == "fail":  # the last activated bundle failed: this is the one that came back
        d[1], d[2] = 0x57, 0x01  # [0] operational firmware corrupted
    elif mc.self_test_bits:
        d[1], d[2] = 0x57, mc.self_test_bits
    else:
        d[1], d[2] = 0x55, 0x00
    return rs.ok(3)


@_handler(0x37)
def query_rollback_status(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    r = _record()
    if r[2] != "ok":
        return rs.fail(_IN_PROGRESS)
    rs.data[1] = r[5]
    return rs.ok(2)


@_handler(_CMD_ROLLBACK)
def initiate_manual_rollback(mc, rq, rs):
    if not _picmg(rq, rs):
        return 0
    if satboot is None:
        return rs.fail(CC_NOT_IN_STATE)
    r = satboot.read()
    if r[2] != "ok" or not satboot.present(r[1]):
        return rs.fail(CC_NOT_IN_STATE)  # no bundle to go back to
    satboot.write([r[1], r[0], "back", 0, r[4], 1])  # "ok" again once the old one boots
    mc.request_reset()
    return _done(_CMD_ROLLBACK, 0, rs)
