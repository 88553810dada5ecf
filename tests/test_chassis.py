"""A chassis in the simulator: chassis files, several satellites on one virtual IPMB,
each with its own address (from its slot), devices and stimulus."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from satmc.board import load_board
from satmc.board.chassis import load_chassis
from satmc.errors import BoardFileError, SatmcError
from satmc.eventlog import EventReceiver
from satmc.ipmi.codes import (
    CMD_GET_DEVICE_GUID,
    CMD_GET_SENSOR_READING,
    CMD_SET_EVENT_RECEIVER,
    NETFN_APP,
    NETFN_SENSOR,
)
from satmc.sim import stimulus
from satmc.sim.chassis import ChassisSimulator
from satmc.transports import connect

TEMP = 1  # Board Temp on the sim board


def raw_temp(c: float) -> int:
    return round((c + 20) / 0.5)  # boards/sim.yaml: range -20.., resolution 0.5


# --- chassis files ------------------------------------------------------------------------

GOOD = "{board: sim, address: 0x72}"


@pytest.mark.parametrize(
    "satellites, message",
    [
        ("[{board: nosuch, address: 0x72}]", "c.satellites[0].board: no board 'nosuch'; boards: "),
        (
            f"[{GOOD}, {{board: sim, address: 0x72}}]",
            "c.satellites[1].address: 0x72 is already "
            "satellites[0]'s (sim-72); every satellite needs its own address",
        ),
        (
            "[{board: sim, address: 0x93}]",
            "c.satellites[0].address: 0x93 is odd; 8-bit IPMB "
            "addresses are even (bit 0 is the R/W bit)",
        ),
        (
            "[{board: sim, address: 0x39}]",
            "c.satellites[0].address: 0x39 looks like a 7-bit "
            "address; the 8-bit IPMB address is 0x72",
        ),
        ("[{board: sim, address: 0x20}]", "c.satellites[0].address: 0x20 is the BMC's address"),
        (
            "[{board: sim, address: 0x100}]",
            "c.satellites[0].address: 0x100 is not an 8-bit IPMB address (even, 0x02..0xfe)",
        ),
        (
            "[{board: sim, address: '0x72'}]",
            "c.satellites[0].address: expected an 8-bit IPMB address, got '0x72'",
        ),
        ("[{board: sim}]", "c.satellites[0].address: missing"),
        ("[{address: 0x72}]", "c.satellites[0].board: missing"),
        ("[{board: sim, address: 0x72, slot: 3}]", "c.satellites[0].slot: unknown field"),
        (
            f"[{GOOD}, {{board: sim, address: 0x74, name: sim-72}}]",
            "c.satellites[1].name: 'sim-72' is already satellites[0]'s",
        ),
        ("[]", "c.satellites: expected 1..64 satellites, got 0"),
        ("[0x72]", "c.satellites[0]: expected a mapping {board, address, name}, got 114"),
        # found by the fuzzer (fuzz/corpus/chassis/finding-*): a null key, a name no file has
        ("[{board: sim, ~: 0x72}]", "c.satellites[0].None: unknown field"),
        (f"[{{board: {'x' * 300}, address: 0x72}}]", "c.satellites[0].board: no board 'xxx"),
        ('[{board: "a\\0b", address: 0x72}]', "c.satellites[0].board: no board 'a\\x00b'"),
    ],
)
def test_a_bad_chassis_file_is_one_line_naming_the_field(tmp_path, satellites, message):
    path = tmp_path / "c.yaml"
    path.write_text(f"satellites: {satellites}\n")
    with pytest.raises(BoardFileError) as e:
        load_chassis(path)
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_missing_and_unreadable_chassis_files(tmp_path):
    with pytest.raises(
        BoardFileError, match=r"no chassis file .*nosuch.yaml; chassis: bench2, full16"
    ):
        load_chassis("nosuch")
    (tmp_path / "c.yaml").write_text("satellites: [\n")
    with pytest.raises(BoardFileError, match=r"c.yaml: not valid YAML") as e:
        load_chassis(tmp_path / "c.yaml")
    assert "\n" not in str(e.value)
    (tmp_path / "c.yaml").write_bytes(b"name: \xff\nsatellites: []\n")
    with pytest.raises(BoardFileError, match=r"c.yaml: not UTF-8 text \(byte 6\)"):
        load_chassis(tmp_path / "c.yaml")
    with pytest.raises(BoardFileError, match=r": cannot read it: Is a directory"):
        load_chassis(tmp_path)  # a path that exists, and is no file
    (tmp_path / "c.yaml").write_text("satellites: []\nbmc: 0x20\n")
    with pytest.raises(BoardFileError, match=r"^c.bmc: unknown field"):
        load_chassis(tmp_path / "c.yaml")


def test_shipped_chassis_files_load():
    bench = load_chassis("bench2")
    assert [(s.name, s.board.name, s.address) for s in bench.satellites] == [
        ("sat-a", "sim", 0x72),
        ("sat-b", "sim", 0x74),
        ("pico", "pico", 0x76),
    ]
    full = load_chassis("full16")
    assert len(full.satellites) == 16
    assert len({s.address for s in full.satellites}) == 16


# --- bench2 on one virtual IPMB ---------------------------------------------------------


@pytest.fixture(scope="module")
def bench(sim_dir):
    c = ChassisSimulator(
        "bench2",
        socket_path=os.path.join(sim_dir, "bench2.sock"),
        build_dir=os.path.join(sim_dir, "build-chassis"),
    )
    c.start()
    yield c
    c.stop()


def satmc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "satmc.cli.main", *args], capture_output=True, text=True, timeout=60
    )


def test_scan_finds_every_satellite_with_its_device_id(bench):
    r = satmc("-t", bench.url, "scan", "--first", "0x70", "--last", "0x7e")
    assert r.returncode == 0, r.stderr
    found = {}
    for line in r.stdout.splitlines():
        if line.startswith("0x") and "product" in line:
            found[int(line[:4], 16)] = int(line.rsplit("product ", 1)[1], 16)
    assert found == {
        s.address: s.board.config["device"]["product_id"] for s in bench.chassis.satellites
    }
    assert "3 controllers answered" in r.stdout


def wait_reading(sat, raw: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while sat.call(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((TEMP,)))[0] != raw:
        assert time.monotonic() < deadline, f"{sat.address:#04x} never read raw {raw}"
        time.sleep(0.05)


def test_two_satellites_sensors_read_independently(bench):
    try:
        stimulus.set_values(bench.url, "temp0", address=0x74, temperature=40.0)
        stimulus.set_values(bench.url, "temp0", address=0x72, temperature=30.0)
        with connect(bench.url, address=0x72) as a, connect(bench.url, address=0x74) as b:
            wait_reading(a, raw_temp(30))
            wait_reading(b, raw_temp(40))
            assert a.call(NETFN_SENSOR, CMD_GET_SENSOR_READING, bytes((TEMP,)))[0] == raw_temp(30)
    finally:
        for addr in (0x72, 0x74):
            stimulus.set_values(bench.url, "temp0", address=addr, temperature=25.0)


def test_threshold_crossings_of_two_satellites_reach_one_receiver(bench):
    with connect(bench.url, address=0x72) as host:
        with EventReceiver(host) as rx:
            for addr in (0x72, 0x74):
                host.address = host.ipmi.target.ipmb_address = addr
                host.call(NETFN_SENSOR, CMD_SET_EVENT_RECEIVER, b"\x20\x00")
            try:
                for addr in (0x72, 0x74):
                    stimulus.set_values(bench.url, "temp0", address=addr, temperature=80.0)
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    got = {(e.generator, e.offset) for e in rx.received if e.sensor == TEMP}
                    if {(0x72, 9), (0x74, 9)} <= got:  # upper critical going high, each
                        break
                    time.sleep(0.05)
                generators = {e.generator for e in rx.received if e.sensor == TEMP}
                assert generators == {0x72, 0x74}
                assert {(0x72, 9), (0x74, 9)} <= got
            finally:
                for addr in (0x72, 0x74):
                    stimulus.set_values(bench.url, "temp0", address=addr, temperature=25.0)


def test_sim_set_on_one_satellite_leaves_the_other_unchanged(bench):
    r = satmc("-t", bench.url, "-a", "0x74", "sim", "set", "fan0", "rpm=3000")
    assert r.returncode == 0, r.stderr
    try:
        assert "rpm=3000" in r.stdout
        assert stimulus.state(bench.url, "fan0", address=0x74)["rpm"] == 3000
        assert stimulus.state(bench.url, "fan0", address=0x72)["rpm"] == 6000
        r = satmc("-t", bench.url, "-a", "0x72", "sim", "get", "fan0")
        assert r.returncode == 0, r.stderr
        assert "rpm=6000" in r.stdout
    finally:
        stimulus.set_values(bench.url, "fan0", address=0x74, rpm=6000)


def test_stimulus_at_an_empty_address_is_one_line(bench):
    r = satmc("-t", bench.url, "-a", "0x78", "sim", "get")
    assert r.returncode != 0
    assert r.stderr.strip().splitlines() == [
        f"satmc: error: no simulated satellite at 0x78 on {bench.url}; there: 0x72, 0x74, 0x76 "
        "(choose one with -a)"
    ]
    with pytest.raises(SatmcError, match="no simulated satellite at 0x78"):
        stimulus.devices(bench.url, address=0x78)


def test_each_satellite_has_its_own_guid_and_board(bench):
    guids = set()
    for slot in bench.chassis.satellites:
        with connect(bench.url, address=slot.address) as sat:
            guids.add(bytes(sat.call(NETFN_APP, CMD_GET_DEVICE_GUID)))
            dev = sat.ipmi.get_device_id()
            assert dev.product_id == load_board(slot.board.name).config["device"]["product_id"]
    assert len(guids) == 3


# --- full16 ------------------------------------------------------------------------------


def test_full16_boots_and_every_satellite_answers_a_scan(full16):
    chassis = full16("full16", timeout=120)
    r = satmc("-t", chassis.url, "scan", "--first", "0x70", "--last", "0x8e")
    assert r.returncode == 0, r.stderr
    assert "16 controllers answered" in r.stdout
    assert all(f"0x{a:02x}: device 0x01" in r.stdout for a in chassis.addresses)


# --- the HIL suite on a chassis ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def run_hil(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "pytest", "hil", "-q", "-p", "no:cacheprovider", "-rA", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_hil_chassis_runs_a_test_on_every_satellite(tmp_path):
    r = run_hil(
        "hil/test_conformance.py",
        "--hil-chassis",
        "bench2",
        "--hil-results",
        str(tmp_path),
        "-k",
        "self_test_passes or broadcast_get_device_id",
    )
    assert r.returncode == 0, r.stdout + r.stderr
    passed = {
        line.split("::", 1)[1] for line in r.stdout.splitlines() if line.startswith("PASSED")
    }
    assert passed == {
        f"{test}[{sat}]"
        for test in ("test_self_test_passes", "test_broadcast_get_device_id")
        for sat in ("sat-a", "sat-b", "pico")
    }


def test_hil_chassis_refuses_a_target_and_a_bad_chassis_file(tmp_path):
    r = run_hil("--hil-chassis", "bench2", "--hil-target", "sim+ftdi")
    assert r.returncode == 4, r.stdout + r.stderr
    assert "--hil-chassis runs the simulated chassis; --hil-target does not go with it" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("satellites: [{board: sim, address: 0x20}]\n")
    r = run_hil("--hil-chassis", str(bad))
    assert r.returncode == 4, r.stdout + r.stderr
    assert "HIL: bad.satellites[0].address: 0x20 is the BMC's address" in r.stderr


def test_two_bench_bmcs_each_start_a_chassis_of_their_own(tmp_path):
    """`satmc bmc --chassis FILE --socket PATH` twice at once (the message a second one
    without --socket gets names --socket); each lists its own satellite's sensors."""
    ipmitool = shutil.which("ipmitool")
    if ipmitool is None:
        pytest.fail("ipmitool is not installed (.ci/run installs it)")
    chassis = tmp_path / "one.yaml"
    chassis.write_text("name: one\nsatellites:\n  - {board: sim, address: 0x72, name: sat}\n")
    users, env = _bmc_user_and_env(tmp_path)
    satmc = [sys.executable, "-m", "satmc.cli.main", "bmc", "--chassis", str(chassis),
             "--users", str(users)]  # fmt: skip
    ports, procs = [_free_udp_port(), _free_udp_port()], []
    try:
        for i, port in enumerate(ports):
            procs.append(subprocess.Popen(
                [*satmc, "--port", str(port), "--socket", str(tmp_path / f"c{i}.sock")],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
            ))  # fmt: skip
        for port, proc in zip(ports, procs, strict=True):
            listing = [ipmitool, "-I", "lanplus", "-H", "127.0.0.1", "-p", str(port), "-U",
                       "admin", "-P", "pw", "-N", "1", "-R", "2", "sdr", "list"]  # fmt: skip
            deadline = time.monotonic() + 120
            while (r := subprocess.run(listing, capture_output=True, text=True)).returncode:
                assert proc.poll() is None and time.monotonic() < deadline, r.stderr + (
                    proc.stdout.read() if proc.poll() is not None else ""
                )
                time.sleep(0.2)
            assert "Board Temp" in r.stdout and "Sat 72 Presence" in r.stdout, r.stdout
        r = subprocess.run([*satmc, "--port", str(_free_udp_port()), "--socket",
                            str(tmp_path / "c0.sock")], capture_output=True, text=True,
                           env=env, timeout=120)  # fmt: skip
        assert r.returncode == 1 and "use --socket to start another" in r.stdout + r.stderr
    finally:
        for proc in procs:
            proc.terminate()
        outs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outs
    bare = [sys.executable, "-m", "satmc.cli.main", "-t", "sim://x", "bmc", "--users", str(users)]
    r = subprocess.run([*bare, "--socket", str(tmp_path / "x.sock")], capture_output=True,
                       text=True, env=env, timeout=60)  # fmt: skip
    assert r.returncode == 1 and "--socket goes with --chassis" in r.stderr, r.stderr


def _bmc_user_and_env(tmp_path):
    """(a users file with admin/pw, an environment keeping caches and builds in tmp_path)."""
    users = tmp_path / "users.toml"
    users.write_text('[[user]]\nname = "admin"\npassword = "pw"\nprivilege = "administrator"\n')
    users.chmod(0o600)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_DATA_HOME=str(tmp_path / "data"),
               SATMC_BUILD_DIR=str(tmp_path / "build"))  # fmt: skip
    return users, env


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_chassis_slot_takes_its_slot_bundle_over_hpm_through_the_bench_bmc(tmp_path):
    """`satmc -a 0x74 flash --board sim --slot --via lan://...`: the bundle a slot runs
    (address from the slot's pins) goes to the second slot and answers there; the
    satellite in the first slot is untouched."""
    chassis = tmp_path / "two.yaml"
    chassis.write_text(
        "name: two\nsatellites:\n  - {board: sim, address: 0x72, name: a}\n"
        "  - {board: sim, address: 0x74, name: b}\n"
    )
    users, env = _bmc_user_and_env(tmp_path)
    port, sock = _free_udp_port(), str(tmp_path / "two.sock")
    satmc = [sys.executable, "-m", "satmc.cli.main"]
    bmc = subprocess.Popen(
        [*satmc, "bmc", "--chassis", str(chassis), "--socket", sock, "--users", str(users),
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        url = f"lan://admin:pw@127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while subprocess.run([*satmc, "-t", url, "-a", "0x74", "info"], env=env,
                             capture_output=True).returncode:  # fmt: skip
            assert bmc.poll() is None and time.monotonic() < deadline, "the BMC did not start"
            time.sleep(0.2)
        flash = [*satmc, "-a", "0x74", "flash", "--board", "sim", "--slot", "--via", url]
        r = subprocess.run(flash, capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "HPM.1 upgrade of 0x74" in r.stdout and "answers as sim" in r.stdout, r.stdout
        r = subprocess.run([*satmc, "-t", f"sim://{sock}", "scan"], capture_output=True,
                           text=True, env=env, timeout=60)  # fmt: skip
        assert r.stdout.splitlines()[-1] == "2 controllers answered", r.stdout
        r = subprocess.run([*satmc, "flash", "--board", "sim", "--slot", "--via", url],
                           capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
        assert r.returncode == 1 and "name the slot with -a" in r.stderr, r.stderr
    finally:
        bmc.terminate()
        bmc.communicate(timeout=60)
