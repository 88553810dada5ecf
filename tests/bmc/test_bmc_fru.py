"""FRU 0 of the bench BMC (built with frugy), and a satellite's FRU reached by bridging
through its MC Device Locator."""

from __future__ import annotations

import struct

from pyipmi.interfaces.ipmb import IpmbHeaderReq, encode_ipmb_msg

from satmc.bmc.api import OPERATOR
from satmc.fru import image
from satmc.ipmi import codes

T, A = codes.NETFN_STORAGE, codes.NETFN_APP


def read_fru(session, chunk=16) -> bytes:
    cc, d = session.call(T, codes.CMD_GET_FRU_INVENTORY_AREA_INFO, b"\x00")
    assert cc == 0 and d[2] == 0  # accessed by bytes
    size, out = struct.unpack("<H", d[:2])[0], b""
    while len(out) < size:
        n = min(chunk, size - len(out))
        cc, d = session.call(T, codes.CMD_READ_FRU_DATA, struct.pack("<BHB", 0, len(out), n))
        assert cc == 0 and d[0] == len(d) - 1 == n
        out += d[1:]
    return out


def test_fru0_is_the_frugy_image_and_checks(session, bmc):
    img = read_fru(session)
    assert img == bmc.fru
    image.check(img)
    text = "\n".join(image.describe(img, 0))
    assert "Bench BMC" in text and "satmc" in text


def test_fru_reads_out_of_bounds(session, bmc):
    call = session.call
    assert call(T, codes.CMD_GET_FRU_INVENTORY_AREA_INFO, b"\x01")[0] == codes.CC_NOT_PRESENT
    assert call(T, codes.CMD_READ_FRU_DATA, struct.pack("<BHB", 0, len(bmc.fru), 1))[0] == (
        codes.CC_OUT_OF_RANGE
    )
    assert call(T, codes.CMD_READ_FRU_DATA, struct.pack("<BHB", 0, 0, 200))[0] == (
        codes.CC_CANNOT_RETURN
    )
    cc, d = call(T, codes.CMD_READ_FRU_DATA, struct.pack("<BHB", 0, len(bmc.fru) - 3, 10))
    assert (cc, d) == (0, b"\x03" + bmc.fru[-3:])  # the end: fewer bytes


def test_fru_writes_need_admin_and_fru0_is_write_protected(session, session_as, bmc):
    before = bytes(bmc.fru)
    write = struct.pack("<BH", 0, 8) + b"XY"
    assert session_as(OPERATOR).call(T, codes.CMD_WRITE_FRU_DATA, write) == (
        codes.CC_PRIVILEGE,
        b"",
    )
    assert session.call(T, codes.CMD_WRITE_FRU_DATA, write)[0] == codes.CC_FRU_WRITE_PROTECTED
    assert read_fru(session) == before


def test_a_satellites_fru_through_its_locator_and_bridging(session, bmc, sat):
    locators = [r for r in bmc.sdr.records[2:] if r[3] == codes.SDR_TYPE_MC_LOCATOR]
    assert [(r[5], bool(r[8] & codes.SUPPORT_FRU)) for r in locators] == [(sat.address, True)]
    h = IpmbHeaderReq()
    h.rs_sa, h.netfn, h.rs_lun, h.rq_sa, h.rq_seq, h.rq_lun, h.cmdid = (
        sat.address, T, 0, 0x81, 3, 0, codes.CMD_READ_FRU_DATA,
    )  # fmt: skip
    frame = encode_ipmb_msg(h, struct.pack("<BHB", 0, 0, 8))
    assert session.call(A, codes.CMD_SEND_MESSAGE, b"\x40" + frame) == (0, b"")
    msg = session.wait_emitted(1)[0]
    assert msg[6] == 0 and msg[7:-1] == sat.raw(T, codes.CMD_READ_FRU_DATA, b"\x00\x00\x00\x08")[1]
