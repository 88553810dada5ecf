"""The bench BMC in front of a simulated chassis (chassis/bench2.yaml: two sim boards
and a Pico on one IPMB): every satellite's SDRs in one repository, bridging to each,
events from each attributed to it, and one held satellite stalling nobody else."""

from __future__ import annotations

import os
import struct
import time

import pytest
from pyipmi.interfaces.ipmb import IpmbHeaderReq, encode_ipmb_msg

from satmc.bmc.api import USER
from satmc.bmc.chassis import mc_locator, presence_record
from satmc.errors import CompletionCodeError
from satmc.ipmi import client, codes
from satmc.sensors import SensorClient, SensorError
from satmc.transports import connect

chassis_sim = pytest.importorskip("satmc.sim.chassis", reason="the chassis simulator")

A, S, T = codes.NETFN_APP, codes.NETFN_SENSOR, codes.NETFN_STORAGE


@pytest.fixture(scope="module")
def bench(sim_dir):
    c = chassis_sim.ChassisSimulator(
        "bench2",
        socket_path=os.path.join(sim_dir, "bmc-bench2.sock"),
        build_dir=os.path.join(sim_dir, "build-bmc-chassis"),
    )
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def front(bench, loop, tmp_path_factory, session_for):
    """A session with a bench BMC in front of every satellite of the chassis."""
    from satmc.bmc.chassis import BenchBmc
    from satmc.eventlog import EventLog

    d = tmp_path_factory.mktemp("bmc-chassis")
    b = BenchBmc(bench.url, bench.addresses, log=EventLog(d / "e.sqlite", 256), cache_dir=d)
    loop.run(b.start())
    yield session_for(b)
    loop.run(b.close())


def inner(rs_sa, netfn, cmd, data=b"", seq=5) -> bytes:
    h = IpmbHeaderReq()
    h.rs_sa, h.netfn, h.rs_lun, h.rq_sa, h.rq_seq, h.rq_lun, h.cmdid = (
        rs_sa, netfn, 0, 0x81, seq, 0, cmd,
    )  # fmt: skip
    return b"\x40" + encode_ipmb_msg(h, bytes(data) or None)


def test_the_repository_holds_every_satellites_device_sdrs(bench, front, tmp_path):
    records = front.bmc.sdr.records
    n = len(bench.addresses)
    assert all(front.bmc.present.get(a) for a in bench.addresses), front.bmc.notes
    assert [r[2:] for r in records[1 : 1 + n]] == [
        presence_record(i, a)[2:] for i, a in enumerate(bench.addresses, 1)
    ]
    expected = []
    for a in bench.addresses:
        with connect(bench.url, address=a) as sat:
            try:
                expected += SensorClient(sat, tmp_path / f"{a:02x}").read_raw_records()
            except (CompletionCodeError, SensorError):  # no device SDRs: the BMC's locator
                expected.append(
                    mc_locator(a, client.get_device_id(sat)["support"], f"Sat {a:02X}")
                )
    assert [r[2:] for r in records[1 + n :]] == [r[2:] for r in expected]
    owners = [r[5] for r in records[1 + n :] if r[3] == codes.SDR_TYPE_MC_LOCATOR]
    assert owners == bench.addresses  # one MC locator per satellite, in slot order


def test_each_satellite_is_reached_by_bridging(bench, front):
    for i, a in enumerate(bench.addresses):
        assert (
            front.call(A, codes.CMD_SEND_MESSAGE, inner(a, A, codes.CMD_GET_DEVICE_ID, seq=i))[0]
            == codes.CC_OK
        )
    got = front.wait_emitted(len(bench.addresses))
    assert [(m[3], m[6]) for m in got] == [(a, 0) for a in bench.addresses]


def test_events_of_two_satellites_carry_their_own_generator(bench, front):
    sims = [a for a in bench.addresses if bench.satellite(a).board.name == "sim"]
    for a in sims:
        bench.control("device", address=a, name="temp0", set={"temperature": 65.0})
    try:
        deadline = time.monotonic() + 20
        while {ev.generator for ev in front.bmc.log.events() if ev.sensor == 1} != set(sims):
            assert time.monotonic() < deadline, "an event is missing"
            time.sleep(0.05)
    finally:
        for a in sims:
            bench.control("device", address=a, name="temp0", set={"temperature": 25.0})
    cc, d = front.call(T, codes.CMD_GET_SEL_ENTRY, struct.pack("<HHBB", 0, 0, 0, 0xFF))
    assert cc == 0 and len(d) == 18


def test_one_held_satellite_stalls_neither_the_others_nor_the_bmc(bench, front, slow_satellite):
    slow, *others = bench.addresses
    with slow_satellite(front, slow, inner(slow, A, codes.CMD_GET_DEVICE_ID)) as pending:
        for a in others:
            cc, _ = front.call(A, codes.CMD_SEND_MESSAGE, inner(a, A, codes.CMD_GET_DEVICE_ID))
            assert cc == codes.CC_OK
        assert front.call(A, codes.CMD_GET_DEVICE_ID)[0] == codes.CC_OK
        assert not pending.done()


def test_a_user_reads_every_satellites_sensors_through_the_repository(bench, front, session_for):
    user = session_for(front.bmc, USER, 9)
    sensors = [r for r in front.bmc.sdr.records if r[3] == codes.SDR_TYPE_FULL_SENSOR]
    for i, r in enumerate(sensors):
        owner, number = r[5], r[7]
        user.call(A, codes.CMD_SEND_MESSAGE, inner(owner, S, codes.CMD_GET_SENSOR_READING,
                                                   bytes((number,)), seq=i % 64))  # fmt: skip
    got = user.wait_emitted(len(sensors))
    assert all(m[6] == 0 for m in got) and {m[3] for m in got} == {
        r[5] for r in sensors
    }  # fmt: skip
