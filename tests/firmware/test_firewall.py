"""The Firmware Firewall: discovery from the command table, per-channel enables, the policy
on flash (saved atomically, a torn file falls back to the board file's, counted)."""

import os
import time

from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, ask

from ipmc import app, dispatch, firewall, fru  # noqa: F401  (register their commands)
from ipmc.ipmb import Request, Response
from ipmc.link import IPMBLink
from ipmc.mc import MC
from ipmc.serial_basic import MAX_MESSAGE

_DIR = f"/tmp/satmc-unit-firewall-{time.time_ns()}"  # apart from parallel runs
_POLICY = _DIR + "/firewall.pol"
_IPMB = 0
_SERIAL = 1
_PRESENT = 0x0E
_APP = 0x06
_STORAGE = 0x0A
_COLD_RESET = 0x02


def _rm(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _fresh_dir():
    try:
        os.mkdir(_DIR)
    except OSError:
        pass
    _rm(_POLICY)
    _rm(_POLICY + ".tmp")


def _mc(disabled=(), keep=False):
    """A controller with one file FRU (id 1) after boot with the board policy `disabled`."""
    if not keep:
        _fresh_dir()
    mc = MC(CONFIG)
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    if not fru._devices:
        fru.setup(mc, [(1, fru.FileStore(_DIR + "/fru1.bin", 64), 64)])
    firewall.setup(mc, list(disabled), _POLICY)
    return mc


def _serial(mc, netfn, cmd, data=b""):
    """One request as it arrives on the serial line (channel 1): (cc, data)."""
    from fakes import frame

    raw = frame(0x72, netfn, cmd, data)
    rq = Request(MAX_MESSAGE)
    rq.channel = _SERIAL
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    rs = Response(MAX_MESSAGE)
    n = mc.answer(rq, rs)
    return rs.buf[6], bytes(rs.buf[7 : n - 1])


def _bits(mask, first=0):
    return {first + i for i in range(8 * len(mask)) if mask[i >> 3] >> (i & 7) & 1}


def _enables(mc, ch, netfn, half=0):
    cc, d = ask(mc, _APP, 0x61, bytes((ch, half << 6 | netfn, 0)))
    assert cc == 0, cc
    return _bits(d, half * 128)


def _set_enables(mc, ch, netfn, on, half=0, via=ask):
    mask = bytearray(16)
    for c in on:
        if half * 128 <= c < half * 128 + 128:
            i = c - half * 128
            mask[i >> 3] |= 1 << (i & 7)
    return via(mc, _APP, 0x60, bytes((ch, half << 6 | netfn, 0)) + mask)


def test_every_registered_command_is_supported_and_no_other():
    mc = _mc()
    for netfn in range(0, 0x40, 2):
        registered = {k & 0xFF for k in dispatch.keys() if k >> 8 == netfn}
        # Group Extension: the defining body (PICMG); OEM/Group: an IANA (none here)
        data = {0x2C: b"\x00", 0x2E: b"\x00\x00\x00"}.get(netfn, b"")
        for half in (0, 1):
            cc, d = ask(mc, _APP, 0x0A, bytes((_PRESENT, half << 6 | netfn, 0)) + data)
            assert cc == 0 and len(d) == 16
            unsupported = _bits(d, half * 128)
            every = set(range(half * 128, half * 128 + 128))
            assert every - unsupported == {c for c in registered if c in every}, netfn


def test_netfn_support_sets_the_pairs_with_commands_on_lun_0():
    mc = _mc()
    cc, d = ask(mc, _APP, 0x09, bytes((_IPMB,)))
    assert cc == 0 and len(d) == 17
    assert d[0] & 3 == 0b01 and d[0] >> 2 == 0  # LUN 0 only, nothing disabled
    pairs = _bits(d[1:5])
    assert pairs == {k >> 9 for k in dispatch.keys()}
    assert _bits(d[5:]) == set()  # LUNs 1-3: nothing


def test_firewall_commands_are_supported_but_not_configurable():
    mc = _mc()
    cc, d = ask(mc, _APP, 0x0C, bytes((_IPMB, _APP, 0)))
    configurable = _bits(d)
    for cmd in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x60, 0x61, 0x62, 0x63, 0x64):
        assert dispatch.luns(_APP, cmd) == 1 and cmd not in configurable
    assert {0x01, _COLD_RESET, 0x04, 0x08, 0x34} <= configurable


def test_a_disabled_command_is_d4_on_its_channel_and_served_on_the_other():
    mc = _mc()
    on = _enables(mc, _IPMB, _APP) - {_COLD_RESET}
    assert _set_enables(mc, _IPMB, _APP, on) == (0, b"")
    assert ask(mc, _APP, _COLD_RESET) == (0xD4, b"")
    assert mc.reset_requested is None  # refused: nothing happened
    assert _COLD_RESET not in _enables(mc, _IPMB, _APP)
    assert _COLD_RESET in _enables(mc, _SERIAL, _APP)
    assert _serial(mc, _APP, _COLD_RESET)[0] == 0 and mc.reset_requested is not None
    cc, d = ask(mc, _APP, 0x09, bytes((_PRESENT,)))
    assert d[0] & 3 == 0b10  # LUN 0: commands exist, some restricted


def test_present_channel_is_the_one_asked_on():
    mc = _mc()
    on = _enables(mc, _IPMB, _APP) - {0x08}
    assert _set_enables(mc, _PRESENT, _APP, on, via=_serial)[0] == 0  # from serial: serial
    assert 0x08 not in _enables(mc, _SERIAL, _APP) and 0x08 in _enables(mc, _IPMB, _APP)
    assert _serial(mc, _APP, 0x08)[0] == 0xD4 and ask(mc, _APP, 0x08)[0] == 0


def test_send_message_is_judged_by_the_channel_it_came_on():
    from fakes import frame

    mc = _mc()
    on = _enables(mc, _IPMB, _APP) - {0x01}
    _set_enables(mc, _IPMB, _APP, on)
    inner = frame(0x72, _APP, 0x01, rq_sa=0x81)  # Get Device ID, encapsulated
    cc, d = ask(mc, _APP, 0x34, b"\x00" + inner)
    assert cc == 0 and d[6] == 0xD4  # the inner response: refused on IPMB
    cc, d = _serial(mc, _APP, 0x34, b"\x00" + inner)
    assert cc == 0 and d[6] == 0  # from serial: served


def test_a_set_that_would_switch_a_firewall_command_off_is_refused_and_changes_nothing():
    mc = _mc()
    before = _enables(mc, _IPMB, _APP)
    on = before - {_COLD_RESET, 0x60}  # Cold Reset could go, Set Command Enables cannot
    assert _set_enables(mc, _IPMB, _APP, on)[0] == 0xCC
    assert _enables(mc, _IPMB, _APP) == before
    assert ask(mc, _APP, _COLD_RESET)[0] == 0
    assert not _exists(_POLICY)
    assert _set_enables(mc, _IPMB, _APP, before | {0x55})[0] == 0  # unknown bits: ignored
    assert 0x55 not in _enables(mc, _IPMB, _APP)


def test_bad_requests_are_refused():
    mc = _mc()
    assert ask(mc, _APP, 0x61, bytes((0x05, _APP, 0)))[0] == 0xCC  # no channel 5
    assert ask(mc, _APP, 0x61, bytes((_IPMB, 0x80 | _APP, 0)))[0] == 0xCC  # op 2
    assert ask(mc, _APP, 0x61, bytes((_IPMB, 0x2C, 0)))[0] == 0xC7  # 2Ch: body missing
    assert ask(mc, _APP, 0x0B, bytes((_IPMB, _APP, 0, 0x55)))[0] == 0xCC  # not a command
    assert ask(mc, _APP, 0x64, bytes((_IPMB, 0x2E, 0)))[0] == 0xCB  # no OEM groups


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _subfn_enables(mc, ch, cmd):
    cc, d = ask(mc, _APP, 0x63, bytes((ch, _STORAGE, 0, cmd)))
    assert cc == 0, cc
    return _bits(d)


def test_fru_devices_are_the_sub_functions_of_fru_commands():
    mc = _mc()
    cc, d = ask(mc, _APP, 0x0B, bytes((_IPMB, _STORAGE, 0, 0x11)))
    assert cc == 0 and d[:3] == b"\x00\x02\x00"
    assert set(range(32)) - _bits(d[3:]) == {1}  # 0b = supported: FRU 1
    assert _bits(ask(mc, _APP, 0x0D, bytes((_IPMB, _STORAGE, 0, 0x11)))[1]) == {1}
    assert _subfn_enables(mc, _IPMB, 0x11) == {1}
    cc, d = ask(mc, _APP, 0x0B, bytes((_IPMB, _APP, 0, 0x01)))  # Get Device ID: none
    assert cc == 0 and d[3:] == b"\xff\xff\xff\xff"


def test_a_disabled_sub_function_is_d6_on_its_channel():
    mc = _mc()
    read = bytes((1, 0, 0, 8))
    assert ask(mc, _STORAGE, 0x11, read)[0] == 0
    rq = bytes((_IPMB, _STORAGE, 0, 0x11, 0, 0, 0, 0))  # every sub-function off
    assert ask(mc, _APP, 0x62, rq) == (0, b"")
    assert _subfn_enables(mc, _IPMB, 0x11) == set()
    assert ask(mc, _STORAGE, 0x11, read)[0] == 0xD6
    assert _serial(mc, _STORAGE, 0x11, read)[0] == 0
    assert ask(mc, _STORAGE, 0x10, b"\x01")[0] == 0  # another command: still on
    assert ask(mc, _STORAGE, 0x11, bytes((7, 0, 0, 8)))[0] == 0xCB  # not a FRU: its own cc


def test_changes_are_saved_and_come_back_after_a_reset():
    mc = _mc()
    on = _enables(mc, _IPMB, _APP) - {_COLD_RESET}
    _set_enables(mc, _IPMB, _APP, on)
    ask(mc, _APP, 0x62, bytes((_SERIAL, _STORAGE, 0, 0x12, 0, 0, 0, 0)))
    assert _exists(_POLICY) and not _exists(_POLICY + ".tmp")
    firewall.reset()  # what a reset forgets
    mc = _mc(keep=True)
    assert ask(mc, _APP, _COLD_RESET)[0] == 0xD4
    assert _serial(mc, _STORAGE, 0x12, bytes((1, 0, 0, 0xFF)))[0] == 0xD6
    assert mc.stats["firewall_fallbacks"] == 0
    _set_enables(mc, _IPMB, _APP, on | {_COLD_RESET})  # on again: saved as well
    firewall.reset()
    mc = _mc(keep=True)
    assert ask(mc, _APP, _COLD_RESET)[0] == 0


def test_the_saved_policy_replaces_the_board_files():
    board = [{"channel": _IPMB, "netfn": _APP, "cmd": _COLD_RESET, "subfn": None}]
    mc = _mc(board)
    assert ask(mc, _APP, _COLD_RESET)[0] == 0xD4
    _set_enables(mc, _IPMB, _APP, _enables(mc, _IPMB, _APP) | {_COLD_RESET})
    mc = _mc(board, keep=True)
    assert ask(mc, _APP, _COLD_RESET)[0] == 0


def test_a_torn_policy_file_falls_back_to_the_board_policy_and_is_counted():
    board = [
        {"channel": _IPMB, "netfn": _APP, "cmd": _COLD_RESET, "subfn": None},
        {"channel": _SERIAL, "netfn": _STORAGE, "cmd": 0x11, "subfn": 1},
        {"channel": _IPMB, "netfn": 0x2C, "cmd": 0x32, "subfn": None},  # not here: skipped
    ]
    mc = _mc(board)
    _set_enables(mc, _IPMB, _APP, _enables(mc, _IPMB, _APP) - {0x08})
    with open(_POLICY, "rb") as f:
        whole = f.read()
    for cut in (len(whole) - 1, 6, 0):
        with open(_POLICY, "wb") as f:
            f.write(whole[:cut])
        mc = _mc(board, keep=True)
        assert mc.stats["firewall_fallbacks"] == 1
        assert ask(mc, _APP, 0x08)[0] == 0  # the saved change is gone
        assert ask(mc, _APP, _COLD_RESET)[0] == 0xD4  # the board file's policy
        assert _serial(mc, _STORAGE, 0x11, bytes((1, 0, 0, 8)))[0] == 0xD6
    flipped = bytearray(whole)
    flipped[7] ^= 0x01
    with open(_POLICY, "wb") as f:
        f.write(flipped)
    assert _mc(board, keep=True).stats["firewall_fallbacks"] == 1


def test_a_save_that_fails_undoes_the_change():
    mc = _mc()
    before = _enables(mc, _IPMB, _APP)
    firewall._files[0] = "/nonexistent-dir/firewall.pol"
    firewall._files[1] = "/nonexistent-dir/firewall.pol.tmp"
    try:
        assert _set_enables(mc, _IPMB, _APP, before - {_COLD_RESET})[0] == 0xFF
        assert _enables(mc, _IPMB, _APP) == before and mc.stats["handler_errors"] == 1
        rq = bytes((_IPMB, _STORAGE, 0, 0x11, 0, 0, 0, 0))
        assert ask(mc, _APP, 0x62, rq)[0] == 0xFF
        assert _subfn_enables(mc, _IPMB, 0x11) == {1}
    finally:
        firewall._files[0] = _POLICY
        firewall._files[1] = _POLICY + ".tmp"
