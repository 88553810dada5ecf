"""The FTDI path without hardware: unmodified pyftdi on the FT232H twin, against the
simulated satellite (IPMB 0x72, I2C 0x39). USB transfer counts are asserted exactly,
so a change in how many round trips a request costs shows up here."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest
from pyftdi.i2c import I2cController, I2cNackError

from satmc import twin
from satmc.errors import AdapterError, BusNackError, NoResponseError
from satmc.ipmi.client import events_open, read_counters
from satmc.ipmi.codes import CMD_GET_DEVICE_ID, CMD_GET_SENSOR_READING, NETFN_APP, NETFN_SENSOR
from satmc.transports import connect
from satmc.transports.ftdi import FtdiInterface, open_i2c
from satmc.transports.ftdi_batch import check_pyftdi, read_frame, write_frame
from satmc.transports.sequence import SEQUENCES
from satmc.twin.mpsse import MPSSE
from satmc.vbus import wire as w
from satmc.vbus.bus import Target
from satmc.vbus.server import BusServer

URL = "ftdi://ftdi:232h/1"
SAT = 0x39
ABSENT = 0x2A
GET_DEVICE_ID = bytes.fromhex("1876200401DB")  # 72 | 18 76 20 04 01 DB, seq 1


@pytest.fixture(scope="module")
def quiet_sim(sim, scanned_sim):
    """`sim` once its boot has nothing more to say: every sensor scanned and every event
    that raised settled. On a loaded host the first scan can come late, and its event
    (Module Present) would be the frame a readback finds instead of the response."""
    deadline = time.monotonic() + 30
    with connect(sim.url, address=sim.address) as sat:
        while events_open(read_counters(sat)):
            assert time.monotonic() < deadline, "the satellite's boot events never settled"
            time.sleep(0.05)
    return sim


@pytest.fixture
def chip(sim, quiet_sim):
    backend = twin.install(sim.socket_path, serials=["SATMC01"])
    yield backend.chip("SATMC01")
    twin.uninstall()


@pytest.fixture
def twin_socket(sim, quiet_sim):
    """For the transport, which installs the twin itself on open."""
    yield sim.socket_path
    twin.uninstall()


@pytest.fixture
def i2c(chip):
    ctrl = I2cController()
    ctrl.configure(URL, clockstretching=True)  # AD7 wired to SCL, as boards/README says
    yield ctrl
    ctrl.close()


def fetch(chip, read) -> tuple[bytes, dict]:
    """Readback of one frame: peek the length, then read it whole, until that works.
    Returns the frame and the USB counts of the successful peek + read alone: while
    the satellite makes its master-write attempt the frame is not offered, so a peek
    can see 0, or the frame can go between the peek and the read."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        chip.reset_counters()
        n = read(1)[0]
        if n:
            data = read(2 + n)  # one byte past the frame: delivered
            if data[0] == n:
                return data[1 : 1 + n], counts(chip)
        time.sleep(0.002)
    raise AssertionError("no response waiting at the satellite")


def check_device_id_response(frame: bytes) -> None:
    assert frame[:3] == bytes.fromhex("201CC4")  # rqSA, netFn 07 << 2, cs1
    assert frame[3:7] == bytes.fromhex("72040100")  # rsSA, seq 1, Get Device ID, cc 00
    assert sum(frame[3:]) & 0xFF == 0


def counts(chip) -> dict:
    return {k: chip.counters[k] for k in ("bulk_out", "bulk_in", "round_trips")}


def test_pyftdi_opens_the_twin_as_an_I2C_master(chip, i2c):
    assert chip.bitmode == 0x02  # MPSSE
    assert chip.latency == 16
    assert chip.mpsse.scl_hz == pytest.approx(100_000)
    assert chip.mpsse.three_phase
    assert chip.mpsse.drive_zero == 0x0007  # SCL, SDA out, SDA in open-drain
    assert i2c.frequency == pytest.approx(100_000)
    i2c.close()
    assert chip.bitmode == 0 and chip.latency == 255


def test_get_device_id_with_stock_pyftdi(chip, i2c):
    port = i2c.get_port(SAT)
    chip.reset_counters()
    port.write(GET_DEVICE_ID)
    # START + address, one round trip per byte for its ACK, STOP
    assert counts(chip) == {"bulk_out": 8, "bulk_in": 8, "round_trips": 8}
    frame, used = fetch(chip, lambda n: bytes(port.read(n)))
    # each read: address, data, STOP; a peek, then the whole frame
    assert used == {"bulk_out": 6, "bulk_in": 6, "round_trips": 6}
    check_device_id_response(frame)
    assert port.read(1) == b"\x00"  # delivered: nothing waiting any more


def test_get_device_id_batched(chip, i2c):
    chip.reset_counters()
    write_frame(i2c, SAT, GET_DEVICE_ID)
    assert counts(chip) == {"bulk_out": 1, "bulk_in": 1, "round_trips": 1}
    frame, used = fetch(chip, lambda n: read_frame(i2c, SAT, n))
    # the 25-byte read's commands exceed the 1 KiB FIFO: pyftdi sends them as two OUTs
    assert used == {"bulk_out": 3, "bulk_in": 2, "round_trips": 2}
    check_device_id_response(frame)
    assert read_frame(i2c, SAT, 1) == b"\x00"


def test_batched_with_clock_stretching(chip):
    i2c = I2cController()
    i2c.configure(URL, clockstretching=True)
    try:
        write_frame(i2c, SAT, GET_DEVICE_ID)
        check_device_id_response(fetch(chip, lambda n: read_frame(i2c, SAT, n))[0])
        assert not chip.mpsse.adaptive  # 0x96 ... 0x97 around every batch
    finally:
        i2c.close()


def test_absent_address_nacks(chip, i2c):
    with pytest.raises(I2cNackError):
        i2c.get_port(ABSENT).write(b"\x01")
    with pytest.raises(BusNackError, match="no ACK at 0x2a"):
        write_frame(i2c, ABSENT, GET_DEVICE_ID)
    with pytest.raises(BusNackError, match="no ACK at 0x2a"):
        read_frame(i2c, ABSENT, 1)
    assert chip.mpsse.decoder.phase == chip.mpsse.decoder.IDLE


def test_ftdi_transport_on_the_twin(sim, twin_socket):
    with connect(URL, address=sim.address, twin=twin_socket) as sat:
        cc, data = sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)
        assert cc == 0 and len(data) >= 11
        assert sat.ipmi.get_device_id().device_id == data[0]
        assert sat.raw(NETFN_APP, 0x7F)[0] == 0xC1  # an unknown command: invalid command


def test_ftdi_transport_stock_pyftdi_path(sim, twin_socket):
    # Stock pyftdi costs a USB round trip per written byte and three per read, each one a
    # socket exchange with the twin here: a try takes tens of them. The satellite is not
    # slow (the unix port has no time factor, unlike rp2emu); a loaded host is, so the
    # default 250 ms per try (a real adapter's round trip is well under a millisecond)
    # is too short here: 5 s still fails a path that does not answer.
    with connect(URL, address=sim.address, twin=twin_socket, timeout=5.0) as sat:
        sat.interface.batched = False
        assert sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)[0] == 0


def test_ftdi_transport_absent_satellite(twin_socket):
    sat = connect(URL, address=ABSENT << 1, twin=twin_socket)
    with sat, pytest.raises(BusNackError, match=r"no ACK at 0x2a \(IPMB 0x54\)"):
        sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)


def test_wrong_url_names_the_adapters_present(chip):
    with pytest.raises(AdapterError, match="No USB device matches URL") as e:
        open_i2c("ftdi://ftdi:9999/1")
    assert "Adapters present: ftdi://ftdi:232h:SATMC01/1" in str(e.value)


def test_missing_serial_names_the_adapters_present(chip):
    with pytest.raises(AdapterError, match="No USB device with S/N NOPE") as e:
        open_i2c("ftdi://ftdi:232h:NOPE/1")
    assert "Adapters present: ftdi://ftdi:232h:SATMC01/1" in str(e.value)


def test_two_adapters_by_serial(sim):
    backend = twin.install(sim.socket_path, serials=["SATMC01", "SATMC02"])
    try:
        with pytest.raises(AdapterError, match="2 USB devices match"):
            open_i2c(URL)
        i2c = open_i2c("ftdi://ftdi:232h:SATMC02/1")
        try:
            first = backend.chip("SATMC01").counters["bulk_out"]
            write_frame(i2c, SAT, GET_DEVICE_ID)
            assert backend.chip("SATMC01").counters["bulk_out"] == first
            assert backend.chip("SATMC02").counters["bulk_out"] > 0
        finally:
            i2c.close()
    finally:
        twin.uninstall()


def test_gpio_pins_beside_I2C(chip, i2c):
    gpio = i2c.get_gpio()
    gpio.set_direction(0xFF00, 0xFF00)  # ACBUS outputs
    gpio.write(0x5A00)
    assert gpio.read(with_output=True) & 0xFF00 == 0x5A00
    gpio.set_direction(0x0070, 0x0000)  # AD4..AD6 inputs, pulled up
    assert gpio.read() & 0x0070 == 0x0070


def test_install_without_simulator(tmp_path):
    from satmc.errors import SimNotRunningError

    with pytest.raises(SimNotRunningError):
        twin.install(str(tmp_path / "none.sock"))
    assert twin.installed() is None


class FakeBus:
    """Records the byte-level bus operations the decoder makes."""

    def __init__(self, acked_address: int):
        self.ops: list[tuple] = []
        self.acked_address = acked_address

    def start(self, addr7, read):
        self.ops.append(("start", addr7, read))
        return w.ST_ACK if addr7 == self.acked_address else w.ST_NACK

    def write_bytes(self, data):
        self.ops.append(("write", bytes(data)))
        return w.ST_ACK, len(data)

    def read_bytes_stretched(self, n, last_nack):
        self.ops.append(("read", n, last_nack))
        return w.ST_ACK, b"\xa5" * n, 0.0

    def stop(self):
        self.ops.append(("stop",))
        return w.ST_ACK


IDLE = bytes((0x80, 0x03, 0x03))  # SCL, SDA high (released)
START = bytes((0x80, 0x01, 0x03, 0x80, 0x00, 0x03))  # SDA low under SCL high, SCL low
RELEASE_SDA = bytes((0x80, 0x02, 0x03))  # SCL low, SDA released
STOP = bytes((0x80, 0x00, 0x03, 0x80, 0x01, 0x03, 0x80, 0x03, 0x03))
ACK_BIT = bytes((0x22, 0x00))


def test_decoder_write_transaction():
    bus = FakeBus(0x39)
    engine = MPSSE(bus)
    cmds = IDLE + START + bytes((0x11, 0, 0, 0x72)) + RELEASE_SDA + ACK_BIT
    cmds += bytes((0x11, 0, 0, 0x18)) + RELEASE_SDA + ACK_BIT + STOP
    assert engine.execute(cmds) == b"\x00\x00"  # ACK, ACK
    assert bus.ops == [("start", 0x39, False), ("write", b"\x18"), ("stop",)]


def test_decoder_read_transaction_and_nack():
    bus = FakeBus(0x39)
    engine = MPSSE(bus)
    read_byte = bytes((0x20, 0, 0, 0x13, 0, 0x00)) + RELEASE_SDA  # byte in, master ACK
    last_byte = bytes((0x20, 0, 0, 0x13, 0, 0xFF)) + RELEASE_SDA  # byte in, master NACK
    cmds = IDLE + START + bytes((0x11, 0, 0, 0x73)) + RELEASE_SDA + ACK_BIT
    assert engine.execute(cmds + read_byte + last_byte + STOP) == b"\x00\xa5\xa5"
    assert bus.ops == [("start", 0x39, True), ("read", 1, False), ("read", 1, True), ("stop",)]
    bus.ops.clear()
    cmds = START + bytes((0x11, 0, 0, 0x54)) + RELEASE_SDA + ACK_BIT
    cmds += bytes((0x11, 0, 0, 0x01)) + RELEASE_SDA + ACK_BIT + STOP
    assert engine.execute(cmds) == b"\x01\x01"  # nobody at 0x2a: both bits read high
    assert bus.ops == [("start", 0x2A, False), ("stop",)]


def test_commands_cut_between_transfers_and_unknown_opcodes():
    engine = MPSSE(FakeBus(0x39))
    assert engine.execute(bytes((0x80, 0x00))) == b""
    assert engine.execute(bytes((0x10, 0x81))) == b"\xef"  # AD4 driven low, others pulled up
    assert engine.execute(bytes((0xAB, 0x87))) == b"\xfa\xab"
    assert engine.execute(bytes((0x4A, 0x00, 0x01, 0x81))) == b"\xfa\x4a\xef"


# --- clock stretching -------------------------------------------------------------------


class Register(Target):
    """A target answering reads with fixed bytes, in this process (it stretches only
    by a `stretch` fault)."""

    def __init__(self, data: bytes):
        self.data = data
        self.at = 0

    def addressed(self, addr7, read):
        self.at = 0
        return True

    def written(self, data):
        return len(data)

    def read(self, n, last_nack):
        self.at += n
        return self.data[self.at - n : self.at]


@pytest.fixture
def stretch_bus(tmp_path):
    server = BusServer(str(tmp_path / "bus.sock"), buses=["ipmb"]).start()
    server.buses["ipmb"].attach(0x50, Register(bytes((0xA5, 0x3C, 0x81))))
    twin.install(server.path)
    yield server
    twin.uninstall()
    server.close()


def _read_with(clockstretching: bool, n: int = 3) -> bytes:
    i2c = open_i2c(URL, clockstretching=clockstretching)
    try:
        return read_frame(i2c, 0x50, n)
    finally:
        i2c.close()


def test_a_stretching_target_reads_wrong_without_adaptive_clocking(stretch_bus):
    """The target holds SCL low 25 us before each byte (2.5 bit times at 100 kHz). The
    MPSSE clocks on regardless: its first two clocks never reach the wire and read SDA
    released (1), the target's bits come two clocks late, and the target, out of step,
    sees a NACK at its ninth clock: the rest reads 0xFF."""
    stretch_bus.buses["ipmb"].faults.add({"kind": "stretch", "addr": 0x50, "us": 25, "count": -1})
    assert _read_with(clockstretching=True) == bytes((0xA5, 0x3C, 0x81))
    assert _read_with(clockstretching=False) == bytes((0b11_101001, 0xFF, 0xFF))
    stretch_bus.buses["ipmb"].faults.clear()
    assert _read_with(clockstretching=False) == bytes((0xA5, 0x3C, 0x81))  # no stretch


def test_the_firmware_stretches_every_byte_it_sends(chip):
    """The firmware's I2CTarget supplies each read byte from its READ_REQ handler while
    SCL is held, as on rp2: without adaptive clocking the readback is garbage and the
    frame stays queued; with it (the transport's default) the same frame reads right."""
    with_stretching = open_i2c(URL)
    try:
        write_frame(with_stretching, SAT, GET_DEVICE_ID)
    finally:
        with_stretching.close()
    time.sleep(0.2)  # the satellite's master write is refused: the frame waits for readback
    without = open_i2c(URL, clockstretching=False)
    try:
        peeks = {read_frame(without, SAT, 1)[0] for _ in range(5)}
    finally:
        without.close()
    right = open_i2c(URL)
    try:
        frames = [fetch(chip, lambda n: read_frame(right, SAT, n))[0]]
        while frames[-1][1] != 0x1C and len(frames) < 4:  # events queued before it
            frames.append(fetch(chip, lambda n: read_frame(right, SAT, n))[0])
    finally:
        right.close()
    check_device_id_response(frames[-1])
    assert len(frames[0]) not in peeks  # the oldest frame's length never read right without


def test_clock_stretching_is_the_ftdi_default_and_url_options_change_it(chip):
    assert FtdiInterface(URL).clockstretching is True
    assert FtdiInterface(URL).frequency == 100_000
    intf = FtdiInterface(URL + "?freq=400000&clockstretching=0")
    assert (intf.url, intf.frequency, intf.clockstretching) == (URL, 400_000, False)
    assert (
        FtdiInterface(URL + "?clockstretching=off", clockstretching=True).clockstretching is False
    )
    intf.open()
    try:
        assert chip.mpsse.scl_hz == pytest.approx(400_000, rel=0.01)
        assert intf.i2c._clkstrch is False
    finally:
        intf.close()


@pytest.mark.parametrize(
    "query, message",
    [
        ("?speed=1", "unknown option 'speed'; ftdi:// takes freq, clockstretching"),
        ("?freq=fast", "freq='fast': give the I2C clock in Hz, 10000..1000000"),
        ("?freq=5000000", "freq='5000000': give the I2C clock in Hz, 10000..1000000"),
        ("?clockstretching=maybe", "clockstretching='maybe': give 1 or 0"),
        ("?freq=100000&freq=400000", "option 'freq' given twice"),
        ("?freq", "options look like ?freq=100000&clockstretching=1"),
    ],
)
def test_bad_ftdi_url_options_are_one_clear_error(query, message):
    with pytest.raises(AdapterError) as e:
        FtdiInterface(URL + query)
    assert str(e.value) == f"{URL}{query}: {message}"


def test_cli_refuses_a_bad_ftdi_option_in_one_line():
    r = subprocess.run(
        [sys.executable, "-m", "satmc.cli.main", "-t", URL + "?clockstretch=1", "info"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"satmc: error: {URL}?clockstretch=1: unknown option 'clockstretch'; ftdi:// takes freq, "
        "clockstretching"
    ]


def test_a_pyftdi_without_the_internals_the_batch_uses_is_refused(chip):
    class Renamed(I2cController):  # a pyftdi whose internals moved
        def __getattribute__(self, name):
            if name == "_i2c_write_data":
                raise AttributeError(name)
            return super().__getattribute__(name)

    ctrl = Renamed()
    ctrl.configure(URL)
    try:
        with pytest.raises(AdapterError) as e:
            check_pyftdi(ctrl)
        assert "lacks what satmc's batched FTDI path uses (_i2c_write_data)" in str(e.value)
        assert "tested with pyftdi 0.57: pip install 'pyftdi~=0.57.0'" in str(e.value)
    finally:
        ctrl.close()
    check_pyftdi(open_i2c(URL))  # the pinned pyftdi has them


# --- late answers after the rqSeqs wrap --------------------------------------------------


def test_a_late_readback_answer_after_a_wrap_is_not_the_newer_requests(sim, twin_socket, caplog):
    """The soak's fault: a request's answer stays at the satellite (its readback fails),
    the host goes round the 64 rqSeqs on requests a NACKed bus never took, and the kept
    answer comes out when the next request is read back. python-ipmi matched it to that
    request whenever the rqSeq came round to the same number; the held rqSeq prevents it.
    The absent sensor's answer is CBh, the present one's 00: a late CBh taken for the
    newer request would say a present sensor is absent."""
    present = sim.board.data["sensors"][0]["number"]
    absent = 0xEE
    addr7 = sim.address >> 1
    caplog.set_level(logging.DEBUG, logger="satmc.transports.ftdi")
    with connect(URL, address=sim.address, twin=twin_socket, timeout=0.3, retries=1) as sat:
        intf = sat.interface
        assert sat.raw(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((present,)))[0] == 0
        # the request goes out, every readback of its answer is NACKed: no answer in time
        readback_nack = {"kind": "nack", "addr": addr7, "read": True, "count": -1}
        sim.control("fault", bus="ipmb", rule=readback_nack)
        with pytest.raises(NoResponseError):
            sat.raw(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((absent,)))
        late = intf.next_sequence_number
        assert intf.held_sequences.is_held(late)
        # the bus NACKs everything now: the host draws the other 63 numbers, nothing goes out
        sim.control("fault", bus="ipmb", rule={"kind": "nack", "addr": addr7, "count": -1})
        for _ in range(SEQUENCES - 1):
            with pytest.raises(BusNackError):
                sat.raw(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((present,)))
        sim.control("clear_faults", bus="ipmb")
        assert intf.held_sequences.is_held(late), "the wrap took longer than the 5 s hold"
        caplog.clear()
        cc, _ = sat.raw(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((present,)))
        assert cc == 0, "the absent sensor's late answer was taken for the newer request"
        assert intf.next_sequence_number != late
    # the late answer did come out, and was dropped: its rqSeq matched no request
    received = [r.getMessage() for r in caplog.records if "IPMB RX" in r.getMessage()]
    rq_seqs = [int(m.split("[")[1].split()[4], 16) >> 2 for m in received]
    assert late in rq_seqs, received
