"""The virtual I2C bus: byte-level semantics, serialisation, wire time, trace, faults, pcap."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from satmc.errors import BusError, BusNackError, SimNotRunningError
from satmc.vbus import wire as w
from satmc.vbus.bus import Bus, Target
from satmc.vbus.client import BusControl, BusController, BusTarget
from satmc.vbus.pcap import write_pcap
from satmc.vbus.server import BusServer


class Register(Target):
    """A register file that NACKs data once `limit` bytes were written in one transfer."""

    general_call = False

    def __init__(self, limit: int = 100):
        self.limit = limit
        self.mem = bytearray(16)
        self.ptr = 0
        self.count = 0
        self.events: list[str] = []

    def addressed(self, addr7, read):
        self.events.append("R" if read else "W")
        self.count = 0
        return True

    def written(self, data):
        n = min(len(data), self.limit - self.count)
        for b in data[:n]:
            if self.count == 0:
                self.ptr = b % 16
            else:
                self.mem[self.ptr] = b
                self.ptr = (self.ptr + 1) % 16
            self.count += 1
        return n

    def read(self, n, last_nack):
        out = bytes(self.mem[(self.ptr + i) % 16] for i in range(n))
        self.ptr = (self.ptr + n) % 16
        return out

    def ended(self):
        self.events.append("P")


@pytest.fixture
def server(tmp_path):
    s = BusServer(str(tmp_path / "bus.sock"), buses=["ipmb", "board"]).start()
    yield s
    s.close()


def test_per_byte_nack_and_repeated_start(server):
    reg = Register(limit=3)
    server.buses["board"].attach(0x50, reg)
    c = BusController(server.path, "board")
    assert c.write(0x50, b"\x02\xaa\xbb\xcc\xdd") == 3  # the 4th byte was NACKed
    assert reg.mem[2:4] == b"\xaa\xbb"
    c.write(0x50, b"\x02", stop=False)  # set the pointer, then repeated START to read
    assert c.read(0x50, 2) == b"\xaa\xbb"
    assert reg.events == ["W", "P", "W", "P", "R", "P"]
    trace = server.control({"op": "trace", "bus": "board"})["records"]
    assert [(r["read"], r["data"], r["acked"], r["nacked_at"]) for r in trace] == [
        (False, "02aabbccdd"[:8], 3, 3),  # the NACKed byte was clocked, nothing after it
        (False, "02", 1, None),
        (True, "aabb", 0, None),
    ]
    with pytest.raises(BusNackError, match="no ACK at 0x51"):
        c.write(0x51, b"\x00")


def test_wire_time_counts_bits_at_the_bus_frequency(server):
    server.buses["board"].attach(0x50, Register())
    c = BusController(server.path, "board")
    c.write(0x50, b"\x00" * 9)  # START + 10 bytes x 9 bits + STOP = 92 bits
    stats = server.control({"op": "stats", "bus": "board"})
    assert stats["wire_time"] == pytest.approx(92 / 100_000)
    assert stats["transactions"] == 1 and stats["bytes"] == 9


def test_pacing_holds_real_time_to_wire_time(server):
    server.buses["board"].attach(0x50, Register())
    server.control({"op": "pacing", "on": True})
    c = BusController(server.path, "board")
    t0 = time.monotonic()
    for _ in range(10):
        c.write(0x50, b"\x00" * 31)  # 10 x 290 bits = 29 ms of wire at 100 kHz
    assert time.monotonic() - t0 >= 0.029


def test_one_transaction_at_a_time(server):
    bus: Bus = server.buses["board"]
    reg = Register()
    bus.attach(0x50, reg)
    a, b = object(), object()
    assert bus.start(a, 0x50, False) == w.ST_ACK
    got = []
    t = threading.Thread(target=lambda: got.append(bus.start(b, 0x50, False)))
    t.start()
    time.sleep(0.1)
    assert got == []  # b waits while a holds the bus
    bus.stop(a)
    t.join(2)
    assert got == [w.ST_ACK]
    bus.stop(b)
    bus.busy_timeout = 0.05
    bus.start(a, 0x50, False)
    assert bus.start(b, 0x50, False) == w.ST_TIMEOUT
    bus.stop(a)


def test_remote_target_receives_messages_and_general_calls_reach_everyone(server):
    got = []
    t = BusTarget(server.path, "ipmb", [0x10], lambda a, d: got.append((a, d)))
    c = BusController(server.path, "ipmb")
    try:
        c.write(0x10, b"hello")
        c.write(0x00, b"all")
        deadline = time.monotonic() + 2
        while len(got) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert got == [(0x10, b"hello"), (0x00, b"all")]
    finally:
        t.close()
        c.close()


def _wait_for(cond, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.01)
    return cond()


def test_listeners_at_one_address_each_see_every_frame_and_one_claims_it(server):
    got_a, got_b = [], []
    a = BusTarget(server.path, "ipmb", [0x10], lambda *m: got_a.append(m), listen=True)
    b = BusTarget(server.path, "ipmb", [0x10], lambda *m: got_b.append(m), listen=True)
    c = BusController(server.path, "ipmb")
    try:
        assert c.write(0x10, b"one") == 3 and c.write(0x10, b"two") == 3
        assert _wait_for(lambda: len(got_a) == 2 and len(got_b) == 2)
        assert [m[:2] for m in got_a] == [(0x10, b"one"), (0x10, b"two")] == [m[:2] for m in got_b]
        assert got_a[0][2] == got_b[0][2] != got_a[1][2]  # one number per frame
        assert c.claim(got_a[0][2]) and not c.claim(got_b[0][2])  # first claim only
        assert c.read(0x10, 2) == b"\xff\xff"
        with pytest.raises(BusError, match="taken"):  # nobody owns a listened address
            BusTarget(server.path, "ipmb", [0x10], lambda a, d: None)
        b.close()  # a listener that hangs up leaves the others listening
        assert _wait_for(lambda: len(server.buses["ipmb"].listeners_at(0x10)) == 1)
        c.write(0x10, b"three")
        assert _wait_for(lambda: len(got_a) == 3) and len(got_b) == 2
    finally:
        a.close()
        c.close()


def test_a_live_target_keeps_its_address_after_bus_traffic(server):
    # The bus asked the owner something (its socket has a timeout since): a second
    # process asking for the address must be refused, not given it.
    got = []
    owner = BusTarget(server.path, "ipmb", [0x39], lambda a, d: got.append(d))
    c = BusController(server.path, "ipmb")
    try:
        c.write(0x39, b"x")
        t0 = time.monotonic()
        with pytest.raises(BusError, match="taken"):
            BusTarget(server.path, "ipmb", [0x39], lambda a, d: None)
        assert time.monotonic() - t0 < 1.0
        c.write(0x39, b"y")
        assert _wait_for(lambda: got == [b"x", b"y"])
    finally:
        owner.close()
        c.close()


def test_hang_up_checks_never_take_a_busy_live_target_for_gone(server):
    owner = BusTarget(server.path, "ipmb", [0x39], lambda a, d: None)
    c = BusController(server.path, "ipmb")
    remote = server.buses["ipmb"].targets[0x39]
    busy = threading.Event()

    def traffic():
        while not busy.is_set():
            c.write(0x39, b"12345678")

    t = threading.Thread(target=traffic)
    t.start()
    try:
        assert not any(remote.hung_up() for _ in range(3000))
    finally:
        busy.set()
        t.join(5)
        owner.close()
        c.close()
    assert _wait_for(remote.hung_up)  # and a target that did hang up is found so


def test_sequence_numbers_come_from_one_counter_per_requester(server):
    a, b = BusController(server.path, "ipmb"), BusController(server.path, "ipmb")
    try:
        seqs = [x.next_seq(0x20) for _ in range(40) for x in (a, b)]
        assert len(set(seqs[:64])) == 64 and seqs[64] == seqs[0]
        assert a.next_seq(0x22) == 1
    finally:
        a.close()
        b.close()


def test_faults_nack_corrupt_and_stuck(server):
    reg = Register()
    server.buses["board"].attach(0x50, reg)
    ctl = BusControl(server.path)
    c = BusController(server.path, "board")
    ctl.call("fault", bus="board", rule={"kind": "nack", "addr": 0x50, "count": 2})
    for _ in range(2):
        with pytest.raises(BusNackError):
            c.write(0x50, b"\x00\x01")
    c.write(0x50, b"\x00\x01")
    ctl.call("fault", bus="board", rule={"kind": "corrupt", "addr": 0x50, "index": 1, "xor": 0xF0})
    c.write(0x00 | 0x50, b"\x04\x0f")
    assert reg.mem[4] == 0xFF
    ctl.call("fault", bus="board", rule={"kind": "stuck", "seconds": 0.2})
    with pytest.raises(Exception, match="busy or stuck"):
        c.write(0x50, b"\x00")
    time.sleep(0.25)
    c.write(0x50, b"\x00")
    assert ctl.call("stats", bus="board")["fired"] == {
        "nack": 2,
        "corrupt": 1,
        "arb_lost": 0,
        "stuck": 1,
        "slow": 0,
        "stretch": 0,
    }
    with pytest.raises(Exception, match="unknown fault kind"):
        ctl.call("fault", bus="board", rule={"kind": "gremlins"})


def test_no_simulator_is_a_clear_error(tmp_path):
    with pytest.raises(SimNotRunningError, match="no virtual bus at .* start one with 'make sim'"):
        BusController(str(tmp_path / "nothing.sock"))


def test_pcap_trace_decodes_as_ipmb_in_tshark(server, tmp_path, tshark):
    got = []
    t = BusTarget(server.path, "ipmb", [0x39], lambda a, d: got.append(d))
    c = BusController(server.path, "ipmb")
    c.write(0x39, bytes.fromhex("18762004 01db".replace(" ", "")))
    t.close()
    _, records = server.buses["ipmb"].records_since(0)
    pcap = tmp_path / "trace.pcap"
    assert write_pcap(str(pcap), records) == 1
    out = subprocess.run(
        [
            tshark,
            "-r",
            str(pcap),
            "-d",
            "i2c.message,ipmi",
            "-o",
            "ipmi.dissect_bus_commands:TRUE",
            "-V",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "Get Device ID" in out
    assert "0x72" in out.lower() or "72" in out


class _ByteLevelTarget:
    """A target that never says T_CAPS (as the rp2emu port's): driven byte by byte."""

    def __init__(self, path: str, addr7: int):
        from satmc.vbus.client import connect
        from satmc.vbus.wire import recv_msg, send_msg

        self.got: list[bytes] = []
        self.kinds: list[int] = []
        self._sock = connect(path, w.ROLE_TARGET, "ipmb")
        self._sock.settimeout(None)
        send_msg(self._sock, w.ATTACH, bytes((addr7,)))
        assert recv_msg(self._sock)[1] == bytes((w.ST_ACK,))

        def serve():
            buf = bytearray()
            try:
                while True:
                    kind, p = recv_msg(self._sock)
                    self.kinds.append(kind)
                    if kind == w.T_ADDR:
                        send_msg(self._sock, w.T_ACK, b"\x01")
                    elif kind == w.T_WRITE:
                        buf += p
                        send_msg(self._sock, w.T_WROTE, bytes((len(p),)))
                    elif kind == w.T_END:
                        send_msg(self._sock, w.T_DONE)
                        self.got.append(bytes(buf))
                        buf = bytearray()
            except OSError:
                pass

        threading.Thread(target=serve, daemon=True).start()

    def close(self):
        self._sock.close()


def test_a_whole_write_reaches_a_target_in_one_message_with_the_same_accounting(server):
    bus = server.buses["ipmb"]
    whole, byte_level = [], _ByteLevelTarget(server.path, 0x11)
    t = BusTarget(server.path, "ipmb", [0x10], lambda a, d: whole.append(d))
    c = BusController(server.path, "ipmb")
    try:
        assert bus.targets[0x10].takes_transfers and not bus.targets[0x11].takes_transfers
        seen = {}
        for addr in (0x10, 0x11):
            bus.faults.add({"kind": "corrupt", "addr": addr, "index": 2, "xor": 0x0F})
            bus.faults.add({"kind": "nack", "addr": addr})
            before, mark = dict(bus.stats), bus.trace_seq
            with pytest.raises(BusNackError):
                c.write(addr, b"\x01\x02\x03")
            assert c.write(addr, b"\x01\x02\x03") == 3
            assert c.write(addr, b"") == 0  # a probe
            recs = bus.records_since(mark)[1]
            stats = {k: round(bus.stats[k] - before[k], 9) for k in before}
            seen[addr] = stats, [(r.status, bytes(r.data), r.acked, r.nacked_at) for r in recs]
        assert seen[0x10] == seen[0x11]
        assert seen[0x10][1][1] == (w.ST_ACK, b"\x01\x02\x0c", 3, None)  # corrupted, as seen
        assert _wait_for(lambda: whole == [b"\x01\x02\x0c"])
        assert _wait_for(lambda: byte_level.got == [b"\x01\x02\x0c", b""])
        assert w.T_XFER not in byte_level.kinds
        server.buses["ipmb"].pacing = True  # paced: byte by byte to every target
        c.write(0x10, b"\x05")
        assert _wait_for(lambda: whole[-1:] == [b"\x05"])
    finally:
        t.close()
        byte_level.close()
        c.close()


def test_sequence_numbers_in_blocks_are_the_requesters_alone(server):
    a, b = BusController(server.path, "ipmb"), BusController(server.path, "ipmb")
    try:
        first = a.next_seq(0x20, 8)
        assert b.next_seq(0x20) == (first + 8) % 64
        assert a.next_seq(0x20, 63) == (first + 9) % 64
    finally:
        a.close()
        b.close()
