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


@command(0x3E, 0x12, 2, subfn_at=0)
def _with_subfunctions(mc, rq, rs):
    return rs.ok(0)


def _run(raw, channel=dispatch.CHANNEL_IPMB):
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    rq.channel = channel
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


def test_disabled_command_is_d4_on_its_channel_and_served_on_the_other():
    assert dispatch.set_enabled(0x3E, 0x10, False, dispatch.CHANNEL_IPMB)
    assert _run(frame(0x72, 0x3E, 0x10, b"\x01"))[0] == 0xD4
    assert _run(frame(0x72, 0x3E, 0x10, b"\x01"), dispatch.CHANNEL_SERIAL)[0] == 0
    assert dispatch.enables(0x3E, 0x10) == 1 << dispatch.CHANNEL_SERIAL
    dispatch.set_enabled(0x3E, 0x10, True)
    assert _run(frame(0x72, 0x3E, 0x10, b"\x01"))[0] == 0
    assert not dispatch.set_enabled(0x3E, 0x7F, False)


def test_disabled_subfunction_is_d6_and_the_others_are_served():
    dispatch.declare_subfunctions(0x3E, 0x12, (0, 1, 31))
    off = bytearray(4)
    off[0] = 0b10 | 0b100  # 2 is not offered: dropped
    dispatch.set_subfunction_disabled(0x3E, 0x12, dispatch.CHANNEL_SERIAL, off)
    assert dispatch.subfunctions(0x3E, 0x12)[8] == 0b10
    serial = dispatch.CHANNEL_SERIAL
    assert _run(frame(0x72, 0x3E, 0x12, b"\x01\x00"), serial)[0] == 0xD6
    assert _run(frame(0x72, 0x3E, 0x12, b"\x00\x00"), serial)[0] == 0
    assert _run(frame(0x72, 0x3E, 0x12, b"\x01\x00"))[0] == 0  # IPMB: all on
    assert _run(frame(0x72, 0x3E, 0x12, b"\x01"), serial)[0] == 0xC7  # length first
    dispatch.set_subfunction_disabled(0x3E, 0x12, serial, bytearray(4))
    assert _run(frame(0x72, 0x3E, 0x12, b"\x01\x00"), serial)[0] == 0


def test_fixed_commands_cannot_be_disabled():
    @command(0x3E, 0x13, fixed=True)
    def _fixed(mc, rq, rs):
        return rs.ok(0)

    assert not dispatch.configurable(0x3E, 0x13) and dispatch.configurable(0x3E, 0x10)
    assert not dispatch.set_enabled(0x3E, 0x13, False)
    assert dispatch.set_enabled(0x3E, 0x13, True)  # no change: fine
    assert _run(frame(0x72, 0x3E, 0x13))[0] == 0


def test_the_dispatcher_checks_allocate_nothing():
    import micropython

    dispatch.set_enabled(0x3E, 0x10, False, dispatch.CHANNEL_IPMB)
    rq = Request()
    raw = frame(0x72, 0x3E, 0x12, b"\x01\x00")
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    rs = Response()
    m = _MC()
    micropython.heap_lock()
    try:
        dispatch.dispatch(m, rq, rs)
    finally:
        micropython.heap_unlock()
    dispatch.set_enabled(0x3E, 0x10, True)
    assert rs.cc == 0


def test_handler_that_forgets_to_finish_answers_ff():
    assert _run(frame(0x72, 0x3E, 0x11))[0] == 0xFF


def test_registering_twice_fails_at_import_time():
    try:
        command(0x3E, 0x10)(_echo)
    except ValueError as e:
        assert "twice" in str(e)
    else:
        raise AssertionError("duplicate registration accepted")
