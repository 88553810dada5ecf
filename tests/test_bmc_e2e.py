"""The bench BMC end to end: its LAN side (satmc.bmc.lan) in front of its chassis side
(satmc.bmc.chassis.BenchBmc) in front of a real simulated satellite, driven by stock
clients: ipmitool -I lan / lanplus (no -C, -C 3, -C 17) with -t/-b and -T/-B, FreeIPMI
-D LAN / LAN_2_0, python-ipmi's rmcp interface bridging, pyghmi's bridge_request and
Prometheus' ipmi_exporter (the real exporter process)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from bmc_lan import Server, ipmitool, load, users_file

from satmc.bmc.chassis import BenchBmc
from satmc.eventlog import EventLog

pytestmark = pytest.mark.timeout(600)

CLIENTS = [
    pytest.param("lan", ("-A", "MD5"), id="lan-md5"),
    pytest.param("lanplus", (), id="lanplus"),
    pytest.param("lanplus", ("-C", "3"), id="lanplus-C3"),
    pytest.param("lanplus", ("-C", "17"), id="lanplus-C17"),
]


@pytest.fixture(scope="session")
def ipmitool_exe(need_tool):
    return need_tool("ipmitool", "ipmitool")


@pytest.fixture(scope="module")
def bmc(sim, tmp_path_factory):
    d = tmp_path_factory.mktemp("bmc-e2e")
    chassis = BenchBmc(sim.url, [sim.address], log=EventLog(d / "events.sqlite", 256), cache_dir=d)
    s = Server(load(users_file(d)), responder=chassis)
    s.dir = d
    yield s
    s.close()


def tool(bmc, exe, *args, **kw):
    kw.setdefault("extra", ())
    kw["extra"] = ("-N", "3", *kw["extra"])
    r = ipmitool(exe, bmc.port, *args, **kw)
    assert r.returncode == 0, f"{args}: {r.stderr}"
    return r.stdout


def sat_flag(sim):
    return ("-b", "0", "-t", f"0x{sim.address:02x}")


@pytest.mark.parametrize("iface, extra", CLIENTS)
def test_mc_info_raw_to_a_satellite_and_sdr_elist(bmc, sim, ipmitool_exe, iface, extra):
    out = tool(bmc, ipmitool_exe, "mc", "info", interface=iface, extra=extra)
    assert "Device ID                 : 32" in out and "SDR Repository Device" in out
    out = tool(
        bmc, ipmitool_exe, *sat_flag(sim), "raw", "0x06", "0x01", interface=iface, extra=extra
    )
    assert out.split()[0] == "01"  # the satellite's own device ID
    out = tool(bmc, ipmitool_exe, "sdr", "elist", interface=iface, extra=extra)
    assert "Board Temp" in out and "Fan 1" in out
    assert f"{sim.address:02X}" in out.upper() or "ok" in out


def test_double_bridging_t_b(bmc, sim, ipmitool_exe):
    out = tool(bmc, ipmitool_exe, "-B", "0", "-T", "0x20", *sat_flag(sim), "mc", "info")
    assert "Device ID                 : 1" in out


def test_sdr_list_sensor_list_fru_print_user_list_sol_info(bmc, ipmitool_exe):
    out = tool(bmc, ipmitool_exe, "sdr", "list")
    names = [line.split("|")[0].strip() for line in out.splitlines()]
    assert {"Board Temp", "12V", "Fan 1", "MCU Temp", "3V3"} <= set(names)
    out = tool(bmc, ipmitool_exe, "sensor", "list")
    row = next(line for line in out.splitlines() if line.startswith("Board Temp"))
    assert "degrees C" in row and "ok" in row
    out = tool(bmc, ipmitool_exe, "fru", "print")
    assert "Bench BMC" in out and "Simulated satellite" in out
    out = tool(bmc, ipmitool_exe, "user", "list")
    assert "admin" in out
    r = ipmitool(ipmitool_exe, bmc.port, "sol", "info", extra=("-N", "3"))
    assert "not supported" in r.stdout + r.stderr


def test_sel_list_after_a_threshold_crossing(bmc, sim, ipmitool_exe):
    tool(bmc, ipmitool_exe, "sel", "clear")
    sim.control("device", name="temp0", set={"temperature": 65.0})
    try:
        deadline = time.monotonic() + 60
        while True:
            out = tool(bmc, ipmitool_exe, "sel", "elist")
            if "Upper Non-critical going high" in out:
                break
            assert time.monotonic() < deadline, out
            time.sleep(0.2)
        assert "Board Temp" in out  # resolved through the SDRs by generator address
        assert "Asserted" in tool(bmc, ipmitool_exe, "sel", "list")
    finally:
        sim.control("device", name="temp0", set={"temperature": 25.0})


@pytest.fixture(scope="module")
def freeipmi(bmc, need_tool):
    def run(name, driver, *args):
        return _freeipmi(bmc, name, need_tool(name, "freeipmi-tools"), driver, *args)

    return run


def _freeipmi(bmc, name, exe, driver, *args, user="admin", password="adminpw", level="ADMIN"):
    r = subprocess.run(
        [
            exe,
            "-D",
            driver,
            "-h",
            f"127.0.0.1:{bmc.port}",
            "-u",
            user,
            "-p",
            password,
            "-l",
            level,
            "--session-timeout",
            "30000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert r.returncode == 0, f"{name} {args}: {r.stdout} {r.stderr}"
    return r.stdout


@pytest.mark.parametrize("driver", ["LAN", "LAN_2_0"])
def test_freeipmi(bmc, sim, driver, freeipmi):
    (bmc.dir / f"sdr-{driver}").mkdir(exist_ok=True)
    cache = ("--sdr-cache-directory", str(bmc.dir / f"sdr-{driver}"))
    out = freeipmi("bmc-info", driver)
    assert "Device ID             : 32" in out
    out = freeipmi("ipmi-raw", driver, "--target-channel-number", "0",
                   "--target-slave-address", f"0x{sim.address:02x}", "00", "06", "01")  # fmt: skip
    assert out.split()[:4] == ["rcvd:", "01", "00", "01"]  # the satellite's device ID
    out = freeipmi("ipmi-sensors", driver, "-b", *cache)
    assert re.search(r"Board Temp\s*\| Temperature\s*\| \d+\.\d+\s*\| C", out), out
    out = freeipmi("ipmi-sensors", driver, "-b", *cache)  # the cache stays valid
    assert "Board Temp" in out
    freeipmi("ipmi-sel", driver, *cache)
    out = freeipmi("ipmi-fru", driver, "--bridge-fru", *cache)
    assert "Bench BMC" in out and "Simulated satellite" in out


def test_python_ipmi_rmcp_bridges_to_the_satellite(bmc, sim):
    import pyipmi
    import pyipmi.interfaces

    intf = pyipmi.interfaces.create_interface("rmcp", keep_alive_interval=0)
    ipmi = pyipmi.create_connection(intf)
    ipmi.session.set_session_type_rmcp("127.0.0.1", port=bmc.port)
    ipmi.session.set_auth_type_user("admin", "adminpw")
    ipmi.session.set_priv_level("ADMINISTRATOR")
    with ipmi:
        ipmi.target = pyipmi.Target(ipmb_address=0x20)
        assert ipmi.get_device_id().device_id == 0x20
        ipmi.target = pyipmi.Target(
            ipmb_address=sim.address, routing=[(0x81, 0x20, 0), (0x20, sim.address, None)]
        )
        assert ipmi.get_device_id().device_id == 0x01


def test_pyghmi_bridge_request(bmc, sim):
    from pyghmi.ipmi.command import Command

    c = Command(bmc="127.0.0.1", userid="admin", password="adminpw", port=bmc.port)
    try:
        rsp = c.raw_command(netfn=0x06, command=0x01)
        assert rsp["data"][0] == 0x20
        rsp = c.raw_command(
            netfn=0x06, command=0x01, bridge_request={"addr": sim.address, "channel": 0}
        )
        assert rsp["data"][0] == 0x01
    finally:
        c.ipmi_session.logout()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prometheus_ipmi_exporter_scrapes_the_satellites_sensors(bmc, tmp_path, need_tool):
    exe = need_tool("prometheus-ipmi-exporter", "prometheus-ipmi-exporter")
    config = tmp_path / "ipmi.yml"
    config.write_text(
        json.dumps(
            {
                "modules": {
                    "default": {
                        "user": "operator",
                        "pass": "operatorpw",
                        "driver": "LAN_2_0",
                        "privilege": "operator",
                        "timeout": 30000,
                        "collectors": ["bmc", "ipmi", "sel", "chassis"],
                        "custom_args": {
                            "ipmi": ["--bridge-sensors", "--sdr-cache-directory", str(tmp_path)]
                        },
                    }
                }
            }
        )
    )  # JSON is YAML
    port = _free_port()
    proc = subprocess.Popen(
        [exe, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/ipmi?target=127.0.0.1:{bmc.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=90) as r:
                    text = r.read().decode()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "exporter not up"
                time.sleep(0.2)
        metrics = [line for line in text.splitlines() if not line.startswith("#")]
        assert 'ipmi_up{collector="ipmi"} 1' in metrics, text
        assert 'ipmi_up{collector="bmc"} 1' in metrics
        assert 'ipmi_up{collector="chassis"} 1' in metrics  # Get Chassis Status answered
        assert "ipmi_chassis_power_state 1" in metrics  # on: the chassis answers
        assert any(
            m.startswith("ipmi_temperature_celsius{id=")
            and 'name="Board Temp"' in m
            and float(m.split()[-1]) > 0
            for m in metrics
        ), text
        assert any('name="12V"' in m and m.startswith("ipmi_voltage_volts") for m in metrics)
    finally:
        proc.terminate()
        proc.wait(10)


def test_eight_clients_at_once_through_the_chassis(bmc, sim, ipmitool_exe):
    from concurrent.futures import ThreadPoolExecutor

    def one(i):
        iface, extra = [("lanplus", ("-C", "17")), ("lan", ("-A", "MD5"))][i % 2]
        if i % 4 < 2:
            return tool(bmc, ipmitool_exe, "sdr", "list", interface=iface, extra=extra)
        return tool(bmc, ipmitool_exe, *sat_flag(sim), "mc", "info", interface=iface, extra=extra)

    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(one, range(8)))
    for i, out in enumerate(outs):
        assert ("Board Temp" if i % 4 < 2 else "Device ID                 : 1") in out


@pytest.mark.parametrize("scheme", ["lan", "lanplus"])
def test_satmc_reaches_a_satellite_through_the_bench_bmc_lan_url(bmc, sim, scheme):
    import os
    import sys

    url = f"{scheme}://admin@127.0.0.1:{bmc.port}"
    env = dict(os.environ, SATMC_LAN_PASSWORD="adminpw")
    satmc = [sys.executable, "-m", "satmc.cli.main", "-t", url, "-a", f"0x{sim.address:02x}"]

    def run(*args, **kw):
        return subprocess.run([*satmc, *args], capture_output=True, text=True, timeout=120,
                              env=kw.get("env", env))  # fmt: skip

    r = run("info")
    assert r.returncode == 0, r.stderr
    assert f"IPMB address         : 0x{sim.address:02x}" in r.stdout
    r = run("sensors")
    assert r.returncode == 0, r.stderr
    assert "Board Temp" in r.stdout
    r = run("fru", "print")
    assert r.returncode == 0 and "Simulated satellite" in r.stdout, r.stderr
    r = run("sdr", "info")
    assert r.returncode == 0 and "full sensor: 7" in r.stdout, r.stderr
    r = run("info", env=dict(env, SATMC_LAN_PASSWORD="wrong"))
    assert r.returncode == 1
    assert r.stderr.startswith("satmc: error: 127.0.0.1:") and r.stderr.count("\n") == 1


ABSENT = 0x7A  # nothing at this address behind the bench BMC


def _satmc(url, *args):
    import os
    import sys

    env = dict(os.environ, SATMC_LAN_PASSWORD="adminpw")
    return subprocess.run([sys.executable, "-m", "satmc.cli.main", "-t", url, *args],
                          capture_output=True, text=True, timeout=120, env=env)  # fmt: skip


@pytest.mark.parametrize("scheme", ["lan", "lanplus"])
def test_satmc_to_an_absent_satellite_names_the_command_the_satellite_and_the_bmc(bmc, scheme):
    """The BMC's Send Message 83h, over lanplus:// too (pyghmi's synchronous call waited
    ~40 s for a bridged answer that never comes, then said the session was gone)."""
    r = _satmc(f"{scheme}://admin@127.0.0.1:{bmc.port}", "-a", f"0x{ABSENT:02x}", "sensors")
    assert r.returncode == 1
    [line] = r.stderr.splitlines()
    assert line == (
        "satmc: error: Get Device SDR Info to IPMB 0x7a: the satellite at 0x7a did not take "
        f"it; the BMC at 127.0.0.1:{bmc.port} answered its Send Message with completion code "
        "0x83 (NAK on write): nothing at that address, or a satellite busy or resetting"
    )


def test_lanplus_absent_satellite_then_present_ones_on_the_same_session(bmc, sim):
    from satmc.errors import SendMessageError
    from satmc.transports import connect

    url = f"lanplus://admin:adminpw@127.0.0.1:{bmc.port}"
    with connect(url, address=ABSENT) as sat:
        opened = bmc.stats()["sessions_opened"]
        for _ in range(3):
            with pytest.raises(SendMessageError) as e:
                sat.raw(0x06, 0x01)
            assert e.value.cc == 0x83 and e.value.address == ABSENT
            sat.retarget(sim.address)
            assert sat.ipmi.get_device_id().device_id == 0x01  # the satellite, bridged
            # HPM.1 Get Upgrade Status is command 34h too: the satellite's answer, not taken
            # for a Send Message response
            assert sat.raw(0x2C, 0x34, b"\x00") == (0, b"\x00\x00\x00")
            sat.retarget(0x20)
            assert sat.raw(0x06, 0x01)[1][0] == 0x20  # the BMC itself
            sat.retarget(ABSENT)
        assert bmc.stats()["sessions_opened"] == opened  # no new login: the session held


@pytest.mark.parametrize(
    "scheme, tries",
    [("lan", "after 2 tries (1000 ms each)"), ("lanplus", "after pyghmi's retries")],
)
def test_no_answer_says_what_was_tried_through_which_bmc(bmc, sim, scheme, tries):
    """The BMC goes silent mid-session; lanplus:// waits out pyghmi's retries and its
    failed relogin (about 30 s), as pyghmi's own synchronous call does."""
    from bmc_lan import Relay

    from satmc.errors import NoResponseError
    from satmc.transports import connect

    relay = Relay(bmc.port)
    try:
        url = f"{scheme}://admin:adminpw@127.0.0.1:{relay.port}"
        with connect(url, address=sim.address, retries=2) as sat:
            assert sat.raw(0x06, 0x01)[0] == 0
            relay.drop = True  # the BMC goes silent
            with pytest.raises(NoResponseError) as e:
                sat.raw(0x06, 0x01)
            assert str(e.value) == (
                f"no response through the BMC at 127.0.0.1:{relay.port}: Get Device ID to "
                f"IPMB 0x{sim.address:02x} by Send Message {tries}; is the BMC up, this "
                "session still open and the satellite answering?"
            )
            sat.retarget(0x20)
            with pytest.raises(NoResponseError, match="^no response from the BMC at 127.0.0.1:"):
                sat.raw(0x06, 0x01)
            relay.drop = False
    finally:
        relay.close()


def test_lanplus_uses_rmcp_plus_suite_17_and_bridges(bmc, sim):
    from satmc.transports import connect

    with connect(f"lanplus://admin:adminpw@127.0.0.1:{bmc.port}", address=sim.address) as sat:
        assert sat.ipmi.get_device_id().device_id == 0x01  # the satellite, bridged
        suites = bmc.call(lambda: [s.suite.id for s in bmc.endpoint.sessions.values()])
        assert suites and set(suites) == {17}
    bmc_itself = connect(f"lanplus://operator:operatorpw@127.0.0.1:{bmc.port}?privilege=operator",
                         address=0x20)  # fmt: skip
    with bmc_itself as sat:
        assert sat.raw(0x06, 0x01)[1][0] == 0x20
        assert sat.raw(0x06, 0x02) == (0xD4, b"")  # cold reset: operator is not enough
    url = f"lanplus://admin:adminpw@127.0.0.1:{bmc.port}"
    with connect(url, address=0x20) as sat:
        assert sat.raw(0x06, 0x02) == (0, b"")  # cold reset: the BMC drops every session
    with connect(url, address=sim.address) as sat:  # a new login in the same process
        assert sat.ipmi.get_device_id().device_id == 0x01


def _suites(server) -> set[int]:
    return server.call(lambda: {s.suite.id for s in server.endpoint.sessions.values() if s.suite})


def _closed(server) -> bool:
    """True once the server holds no session (pyghmi's logout does not wait for its Close
    Session to be answered)."""
    deadline = time.monotonic() + 10
    while _suites(server):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_lanplus_cipher_17_is_the_suite_negotiated(bmc, sim):
    from satmc.transports import connect

    url = f"lanplus://admin:adminpw@127.0.0.1:{bmc.port}?cipher=17"
    with connect(url, address=sim.address) as sat:
        assert sat.ipmi.get_device_id().device_id == 0x01
        assert sat.interface.cipher_suite == 17 and _suites(bmc) == {17}


def test_lanplus_cipher_3_to_a_bmc_that_takes_17_is_one_line_naming_pyghmi(bmc):
    from satmc.errors import AdapterError
    from satmc.transports import connect

    url = f"lanplus://admin:adminpw@127.0.0.1:{bmc.port}?cipher=3"
    with pytest.raises(AdapterError) as e:
        connect(url, address=0x20)
    assert str(e.value) == (
        f"127.0.0.1:{bmc.port}: ?cipher=3 asks for cipher suite 3, the session negotiated "
        "suite 17: pyghmi proposes 17 first and cannot ask a BMC that takes it for 3 "
        "(ipmitool -I lanplus -C 3 can)"
    )
    assert _closed(bmc)  # logged out again


@pytest.fixture(scope="module")
def suite3_bmc(tmp_path_factory):
    """A BMC that offers cipher suite 3 only (as many older ones do)."""
    s = Server(load(users_file(tmp_path_factory.mktemp("bmc-suite3"))), cipher_suites=(3,))
    yield s
    s.close()


@pytest.mark.parametrize("query", ["", "?cipher=3"])
def test_lanplus_to_a_bmc_with_suite_3_only_negotiates_3(suite3_bmc, query):
    from satmc.transports import connect

    url = f"lanplus://admin:adminpw@127.0.0.1:{suite3_bmc.port}{query}"
    with connect(url, address=0x20) as sat:
        assert sat.raw(0x06, 0x01)[0] == 0
        assert sat.interface.cipher_suite == 3 and _suites(suite3_bmc) == {3}


@pytest.mark.parametrize(
    "url, why",
    [
        ("lanplus://admin:adminpw@127.0.0.1:{port}?cipher=17", "negotiated suite 3: the BMC "),
        ("lanplus://admin:adminpw@127.0.0.1:{port}?cipher=18", "cipher must be 3 or 17"),
        ("lan://admin:adminpw@127.0.0.1:{port}?cipher=3", "use lanplus://"),
    ],
)
def test_lanplus_cipher_option_errors_are_one_line(suite3_bmc, url, why):
    from satmc.errors import AdapterError
    from satmc.transports import connect

    with pytest.raises(AdapterError, match=why) as e:
        connect(url.format(port=suite3_bmc.port), address=0x20)
    assert "\n" not in str(e.value)
    assert "adminpw" not in str(e.value)  # a URL in a message shows no password
    assert _closed(suite3_bmc)


@pytest.mark.parametrize(
    "url, why",
    [
        ("lanplus://nobody:x@127.0.0.1:{port}", "Unauthorized name"),
        ("lanplus://admin:wrong@127.0.0.1:{port}", "Incorrect password"),
        ("lanplus://admin:adminpw@127.0.0.1:{dead}", "no answer"),
        ("lanplus://127.0.0.1:{port}", "use lanplus://USER"),
    ],
)
def test_lanplus_a_wrong_user_password_or_port_is_one_clear_error(bmc, url, why):
    from satmc.errors import AdapterError
    from satmc.transports import connect

    with pytest.raises(AdapterError, match=why) as e:
        connect(url.format(port=bmc.port, dead=_free_port()), address=0x72)
    assert "\n" not in str(e.value)


ADD_SEL = ("raw", "0x0a", "0x44", "0", "0", "2", "0", "0", "0", "0", "0x41", "0", "4", "1",
           "0x42", "1", "1", "0xff", "0xff")  # fmt: skip


def _sel_ids(bmc) -> list[int]:
    return bmc.responder.log.ids()


@pytest.mark.parametrize("iface, extra", CLIENTS[:2])
def test_sel_info_and_delete_with_ipmitool(bmc, ipmitool_exe, iface, extra):
    tool(bmc, ipmitool_exe, *ADD_SEL, interface=iface, extra=extra)
    out = tool(bmc, ipmitool_exe, "sel", "info", interface=iface, extra=extra)
    assert "Supported Cmds   : 'Delete' 'Reserve' 'Get Alloc Info'" in out
    assert "Alloc Unit Size  : 16" in out and "Last Del Time" in out
    victim = _sel_ids(bmc)[-1]
    out = tool(bmc, ipmitool_exe, "sel", "delete", str(victim), interface=iface, extra=extra)
    assert f"Deleted entry {victim}" in out
    assert victim not in _sel_ids(bmc)  # gone from the SQLite log
    before = _sel_ids(bmc)
    r = ipmitool(ipmitool_exe, bmc.port, "sel", "delete", str(victim), interface=iface,
                 extra=extra)  # fmt: skip
    assert r.returncode != 0 and "not found" in r.stderr
    assert _sel_ids(bmc) == before


def test_a_full_sel_with_ipmitool_overflow_out_of_space_and_clear(bmc, ipmitool_exe):
    """Filled to its capacity (through the BMC's own Add SEL Entry, in-process: hundreds
    of ipmitool runs would take minutes), the SEL refuses ipmitool's add with C4h and
    `sel info` shows the overflow flag; `sel clear` makes room and drops the flag."""
    sel = bmc.responder.sel
    one = bytes(int(b, 0) for b in ADD_SEL[3:])
    while sel.log.count() < sel.capacity:  # a satellite's event may take a place too
        assert sel.add_entry(one)[0] == 0
    r = ipmitool(ipmitool_exe, bmc.port, *ADD_SEL)
    assert r.returncode != 0 and "Out of space" in r.stderr, r.stderr
    out = tool(bmc, ipmitool_exe, "sel", "info")
    assert re.search(rf"^Entries\s*: {sel.capacity}$", out, re.M), out
    assert re.search(r"^Free Space\s*: 0 bytes", out, re.M), out
    assert re.search(r"^Overflow\s*: true$", out, re.M), out
    tool(bmc, ipmitool_exe, "sel", "clear")
    deadline = time.monotonic() + 10
    while "Erase in progress" in (out := tool(bmc, ipmitool_exe, "sel", "info")):
        assert time.monotonic() < deadline
    assert re.search(r"^Overflow\s*: false$", out, re.M), out
    tool(bmc, ipmitool_exe, *ADD_SEL)  # room again


@pytest.mark.parametrize("driver", ["LAN", "LAN_2_0"])
def test_freeipmi_ipmi_sel_delete(bmc, ipmitool_exe, need_tool, driver):
    exe = need_tool("ipmi-sel", "freeipmi-tools")
    tool(bmc, ipmitool_exe, *ADD_SEL)
    victim = _sel_ids(bmc)[-1]
    with pytest.raises(AssertionError):  # a user may read the SEL, not delete from it
        _freeipmi(bmc, "ipmi-sel", exe, driver, "--delete", str(victim), user="alice",
                  password="alicepw", level="USER")  # fmt: skip
    assert victim in _sel_ids(bmc)
    _freeipmi(bmc, "ipmi-sel", exe, driver, "--delete", str(victim), user="operator",
              password="operatorpw", level="OPERATOR")  # fmt: skip
    assert victim not in _sel_ids(bmc)
    out = _freeipmi(bmc, "ipmi-sel", exe, driver, "--info")
    assert "Delete SEL Command                     : supported" in out


def test_chassis_status_with_ipmitool_and_freeipmi(bmc, ipmitool_exe, need_tool):
    out = tool(bmc, ipmitool_exe, "chassis", "status")
    assert "System Power         : on" in out and "Main Power Fault     : false" in out
    r = ipmitool(ipmitool_exe, bmc.port, "chassis", "power", "off")
    assert r.returncode != 0 and "not supported in present state" in r.stderr
    assert "Chassis Power is on" in tool(bmc, ipmitool_exe, "chassis", "power", "status")
    exe = need_tool("ipmi-chassis", "freeipmi-tools")
    for driver in ("LAN", "LAN_2_0"):
        out = _freeipmi(bmc, "ipmi-chassis", exe, driver, "--get-chassis-status")
        assert re.search(r"System Power\s+: on", out), out
        assert re.search(r"Chassis Identify state\s+: off", out), out
    _freeipmi(bmc, "ipmi-chassis", exe, "LAN_2_0", "--chassis-identify=force")
    try:
        out = _freeipmi(bmc, "ipmi-chassis", exe, "LAN_2_0", "--get-chassis-status")
        assert re.search(r"Chassis Identify state\s+: Indefinite on", out), out
    finally:
        tool(bmc, ipmitool_exe, "chassis", "identify", "0")
    out = _freeipmi(bmc, "ipmi-chassis", exe, "LAN_2_0", "--get-chassis-capabilities")
    assert re.search(r"SEL Device Address\s+: 20h", out), out


def test_poh_counter_and_restart_cause_with_ipmitool_and_freeipmi(bmc, ipmitool_exe, need_tool):
    chassis = bmc.responder
    chassis.powered_since = time.monotonic() - (50 * 3600 + 30 * 60 + 5)  # up 50 h 30 min
    for iface in ("lan", "lanplus"):  # a user may read both
        out = tool(bmc, ipmitool_exe, "chassis", "poh", interface=iface, user="alice",
                   password="alicepw", extra=("-L", "USER"))  # fmt: skip
        assert "POH Counter  : 2 days, 2 hours, 30 minutes" in out, out
        out = tool(bmc, ipmitool_exe, "chassis", "restart_cause", interface=iface)
        assert "System restart cause: unknown" in out, out
    exe = need_tool("ipmi-chassis", "freeipmi-tools")
    for driver in ("LAN", "LAN_2_0"):
        out = _freeipmi(bmc, "ipmi-chassis", exe, driver, "--get-power-on-hours-counter",
                        user="alice", password="alicepw", level="USER")  # fmt: skip
        assert re.search(r"Power on hours\s+: 50\b", out), out
        out = _freeipmi(bmc, "ipmi-chassis", exe, driver, "--get-system-restart-cause")
        assert re.search(r"Restart cause\s+: unknown", out, re.I), out


def test_sdr_writes_get_a_clear_refusal(bmc, ipmitool_exe):
    before = tool(bmc, ipmitool_exe, "sdr", "list")
    out = tool(bmc, ipmitool_exe, "sdr", "info")
    assert "Free Space                          : none (full)" in out
    assert "Delete SDR supported                : no" in out
    r = ipmitool(ipmitool_exe, bmc.port, "sdr", "fill", "sensors")
    assert r.returncode != 0 and "Unable to clear SDRR: Invalid command" in r.stderr
    assert tool(bmc, ipmitool_exe, "sdr", "list").splitlines()[:3] == before.splitlines()[:3]


@pytest.mark.parametrize("iface, extra", CLIENTS[:2])
def test_mc_reset_cold_and_warm(bmc, ipmitool_exe, iface, extra):
    import pyipmi
    import pyipmi.interfaces

    intf = pyipmi.interfaces.create_interface("rmcp", keep_alive_interval=0)
    other = pyipmi.create_connection(intf)
    other.session.set_session_type_rmcp("127.0.0.1", port=bmc.port)
    other.session.set_auth_type_user("alice", "alicepw")
    other.session.set_priv_level("USER")
    intf.open()
    other.session.establish()
    try:

        def active() -> set[int]:
            ss = bmc.call(lambda: list(bmc.endpoint.sessions.values()))
            return {x.bmc_sid for x in ss if x.state == "active"}

        mine = active()  # alice's (and any other client's still open)
        assert mine
        resets = dict(bmc.responder.resets)
        ipmitool(ipmitool_exe, bmc.port, "mc", "reset", "cold", interface=iface,
                     extra=(*extra, "-L", "OPERATOR"), user="operator",
                     password="operatorpw")  # fmt: skip
        # (ipmitool does not wait for a cold reset's answer, so it cannot say D4)
        assert mine <= active() and bmc.responder.resets == resets  # refused: no reset
        out = tool(bmc, ipmitool_exe, "mc", "reset", "warm", interface=iface, extra=extra)
        assert "Sent warm reset command to MC" in out
        assert mine <= active()  # a warm reset keeps the sessions
        out = tool(bmc, ipmitool_exe, "mc", "reset", "cold", interface=iface, extra=extra)
        assert "Sent cold reset command to MC" in out
        deadline = time.monotonic() + 30
        while bmc.responder.resets["cold"] == resets["cold"] or mine & active():
            assert time.monotonic() < deadline, "no cold reset"
            time.sleep(0.05)
        assert bmc.responder.resets["warm"] == resets["warm"] + 1
        assert bmc.responder.resets["cold"] == resets["cold"] + 1  # not the operator's
        out = tool(bmc, ipmitool_exe, "sdr", "list", interface=iface, extra=extra)  # again
        assert "Board Temp" in out
    finally:
        intf.close()


def test_satmc_bmc_cipher_suites_3_offers_and_takes_suite_3_only(sim, tmp_path, ipmitool_exe):
    """`satmc bmc --cipher-suites 3`: a BMC without 17, as older ones are, to see a
    client fall back; ipmitool -C 17 gets RAKP's "no matching cipher suite" at once."""
    import sys
    import types
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        from soak.storm import BmcProcess
    finally:
        sys.path.pop(0)
    front = types.SimpleNamespace(url=sim.url, addresses=[sim.address])
    bmc = BmcProcess(front, tmp_path, options=("--cipher-suites", "3"))
    try:
        bmc.wait_ready()
        assert any(line.endswith("(RMCP, RMCP+ suites 3)") for line in bmc.lines), bmc.lines
        ciphers = bmc.ipmitool("-C", "3", "channel", "getciphers", "ipmi")
        assert re.search(r"^3 +N/A +hmac_sha1 +hmac_sha1_96 +aes_cbc_128", ciphers, re.M)
        assert not re.search(r"^17 ", ciphers, re.M)
        # without -C ipmitool takes the best suite the list offers: 3
        r = ipmitool(ipmitool_exe, bmc.port, "-v", "mc", "info", password=bmc.password)
        assert r.returncode == 0 and "best available cipher suite 3" in r.stderr, r.stderr
        r = ipmitool(ipmitool_exe, bmc.port, "-b", "0", "-t", f"0x{sim.address:02x}", "raw",
                     "6", "1", password=bmc.password, extra=("-C", "17"))  # fmt: skip
        assert r.returncode != 0 and "no matching cipher suite" in r.stderr.lower(), r.stderr
        out = bmc.ipmitool("-C", "3", "-b", "0", "-t", f"0x{sim.address:02x}", "raw", "6", "1")
        assert len(out.split()) >= 11  # the satellite's Device ID, bridged
    finally:
        bmc.stop()
    deadline = time.monotonic() + 10  # its last line, read by BmcProcess's reader
    while not bmc.lines[-1].startswith("bench BMC stopped") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "no_cipher_suite_match 1" in bmc.lines[-1], bmc.lines[-1]


def test_satmc_bmc_v_logs_refusals_and_the_identify_line(sim, ipmitool_exe, tmp_path):
    """`satmc bmc -v` as a user runs it: its INFO log (sessions, refusals) reaches stderr,
    and so does the chassis identify warning, after the BMC has built its FRU with frugy."""
    port = _free_port()
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_DATA_HOME=str(tmp_path / "data"))  # fmt: skip
    cmd = [sys.executable, "-m", "satmc.cli.main", "-t", sim.url, "-a", f"0x{sim.address:02x}",
           "bmc", "--port", str(port), "--users", str(users_file(tmp_path)), "-v"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while ipmitool(ipmitool_exe, port, "-N", "1", "mc", "info").returncode:
            assert proc.poll() is None and time.monotonic() < deadline, "the BMC did not start"
        assert ipmitool(ipmitool_exe, port, "mc", "info", user="nobody").returncode != 0
        r = ipmitool(ipmitool_exe, port, "chassis", "identify", "force")
        assert r.returncode == 0, r.stderr
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "satmc.bmc.lan: refused (unknown_user)" in err, err
    assert "chassis identify" in err, err
