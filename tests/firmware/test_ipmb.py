"""IPMB framing: checksums, validation, response building (ipmc.ipmb)."""

from fakes import frame

from ipmc.ipmb import Request, Response, checksum, frame_request


def _request(raw):
    rq = Request()
    rq.buf[: len(raw)] = raw
    rq.length = len(raw)
    return rq


def test_worked_example_from_the_notes():
    raw = bytes((0x72, 0x18, 0x76, 0x20, 0x04, 0x01, 0xDB))
    assert checksum(raw, 0, 2) == 0x76
    assert checksum(raw, 3, 6) == 0xDB
    rq = _request(raw)
    assert rq.valid()
    assert (rq.rs_sa, rq.netfn, rq.rs_lun, rq.rq_sa, rq.seq, rq.cmd) == (0x72, 6, 0, 0x20, 1, 1)
    assert rq.data_len == 0


def test_bad_checksums_and_lengths_are_invalid():
    good = frame(0x72, 6, 1, b"\x01\x02")
    assert _request(good).valid()
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x01
        assert not _request(bad).valid(), "flipped a bit of byte " + str(i)
    assert not _request(good[:6]).valid()
    assert not _request(frame(0x72, 6, 1, bytes(26))).valid()  # 33 bytes > 32
    assert _request(frame(0x72, 6, 1, bytes(25))).valid()  # exactly 32


def test_response_swaps_addresses_echoes_seq_cmd_and_luns():
    rq = _request(
        frame(0x72, 0x0A, 0x11, b"\x00\x00\x00\x08", rq_sa=0x20, seq=0x2A, rs_lun=1, rq_lun=2)
    )
    rs = Response()
    rs.data[0] = 0xAB
    n = rs.build(rq, rs.ok(1))
    out = bytes(rs.buf[:n])
    assert out[0] == 0x20 and out[3] == 0x72
    assert out[1] == (0x0B << 2 | 2)  # netFn+1 | rqLUN
    assert out[4] == (0x2A << 2 | 1)  # seq | rsLUN
    assert out[5] == 0x11 and out[6] == 0x00 and out[7] == 0xAB
    assert sum(out[0:3]) & 0xFF == 0 and sum(out[3:]) & 0xFF == 0


def test_error_response_carries_only_the_completion_code():
    rq = _request(frame(0x72, 6, 1))
    rs = Response()
    rs.data[0] = 0x99
    n = rs.build(rq, rs.fail(0xC7))
    assert n == 8 and rs.buf[6] == 0xC7


def test_frame_request_round_trips_through_request():
    buf = bytearray(32)
    buf[6] = 0x04
    n = frame_request(buf, 0x20, 0x04, 0, 0x72, 0x45, 0, 0x02, 1)
    rq = _request(buf[:n])
    assert rq.valid() and rq.seq == 0x05 and rq.data[0] == 0x04
