"""The bench BMC on a master-only adapter (ftdi://, here the FT232H twin on the
simulator): bridging, the SDR repository and events fetched by readback."""

from __future__ import annotations

import struct
import time

import pytest
from pyipmi.interfaces.ipmb import IpmbHeaderReq, encode_ipmb_msg

from satmc import twin
from satmc.ipmi import codes


@pytest.fixture
def ftdi(sim, another_bmc):
    try:
        yield another_bmc([sim.address], url="ftdi://ftdi:232h/1", capacity=64,
                          twin=sim.socket_path)  # fmt: skip
    finally:
        twin.uninstall()


def test_bridging_sdrs_and_events_over_a_master_only_adapter(sim, ftdi):
    h = IpmbHeaderReq()
    h.rs_sa, h.netfn, h.rs_lun, h.rq_sa, h.rq_seq, h.rq_lun, h.cmdid = (
        sim.address, codes.NETFN_APP, 0, 0x81, 4, 0, codes.CMD_GET_DEVICE_ID,
    )  # fmt: skip
    frame = b"\x40" + encode_ipmb_msg(h, None)
    assert ftdi.call(codes.NETFN_APP, codes.CMD_SEND_MESSAGE, frame) == (0, b"")
    msg = ftdi.wait_emitted(1)[0]
    assert msg[3] == sim.address and msg[6] == 0
    assert len(ftdi.bmc.sdr.records) > 2 and ftdi.bmc.present[sim.address]

    sim.control("device", name="temp0", set={"temperature": 65.0})
    try:
        deadline = time.monotonic() + 15
        while True:
            cc, d = ftdi.call(codes.NETFN_STORAGE, codes.CMD_GET_SEL_INFO)
            if struct.unpack("<H", d[1:3])[0] and any(
                ev.sensor == 1 and ev.generator == sim.address for ev in ftdi.bmc.log.events()
            ):
                break
            assert time.monotonic() < deadline, "no event fetched by readback"
            time.sleep(0.05)
    finally:
        sim.control("device", name="temp0", set={"temperature": 25.0})
