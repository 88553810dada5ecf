"""The command table: registration, enable/disable, and the checks before a handler."""

from fakes import frame

from ipmc import dispatch
from ipmc.dispatch import command
from ipmc.ipmb import Request, Response


class _MC:
    pass


@command(0x3E, 0x10, 1, 3)
def _echo(mc, rq, rs):
    for i in range(rq.data_len):
        rs.data[i] = rq.data[i]
    return rs.ok(rq.data_len)


@command(0x3E, 0x11)
def _forgets_to_finish(mc, rq, rs):
    return 0


def _run(raw):
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    rs = Response()
    n = dispatch.dispatch(_MC(), rq, rs)
    return rs.cc, bytes(rs.data[:n])


def test_known_command_runs_its_handler():
    assert _run(frame(0x72, 0x3E, 0x10, b"\x01\x02")) == (0, b"\x01\x02")


def test_unknown_command_is_c1():
    assert _run(frame(0x72, 0x3E, 0x7F))[0] == 0xC1


def test_length_is_checked_before_the_handler():
    assert _run(frame(0x72, 0x3E, 0x10, b""))[0] == 0xC7
    assert _run(frame(0x72, 0x3E, 0x10, b"\x01\x02\x03\x04"))[0] == 0xC7


def test_lun_other_than_declared_is_c2():
    assert _run(frame(0x72, 0x3E, 0x10, b"\x01", rs_lun=2))[0] == 0xC2


def test_disabled_command_is_c1_until_enabled_again():
    assert dispatch.set_enabled(0x3E, 0x10, False)
    assert _run(frame(0x72, 0x3E, 0x10, b"\x01"))[0] == 0xC1
    assert not dispatch.is_enabled(0x3E, 0x10)
    dispatch.set_enabled(0x3E, 0x10, True)
    assert _run(frame(0x72, 0x3E, 0x10, b"\x01"))[0] == 0
    assert not dispatch.set_enabled(0x3E, 0x7F, False)


def test_handler_that_forgets_to_finish_answers_ff():
    assert _run(frame(0x72, 0x3E, 0x11))[0] == 0xFF


def test_registering_twice_fails_at_import_time():
    try:
        command(0x3E, 0x10)(_echo)
    except ValueError as e:
        assert "twice" in str(e)
    else:
        raise AssertionError("duplicate registration accepted")
