"""Every expected failure of the installed `satmc` is one line naming the fix; global
options go anywhere; numbers read as ipmitool reads them. Real subprocesses of the
console script pip installed (the venv's bin/satmc)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from satmc.board import BOARDS_DIR
from satmc.cli.main import build_parser
from satmc.sim.simulator import Simulator

SATMC = str(Path(sys.prefix) / "bin" / "satmc")


def satmc(*args, timeout=60):
    return subprocess.run([SATMC, *args], capture_output=True, text=True, timeout=timeout)


def one_line(r, status=1) -> str:
    lines = r.stderr.strip().splitlines()
    assert r.returncode == status and len(lines) == 1, (r.returncode, r.stderr)
    assert re.match(r"satmc( \w+)?: error: ", lines[0]), r.stderr  # satmc or satmc COMMAND
    return lines[0]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("fru") / "fru0.bin"
    r = satmc("fru", "build", "sim", "-o", str(path))
    assert r.returncode == 0, r.stderr
    return path


@pytest.mark.parametrize(
    "address,message",
    [
        ("0x300", "0x300 is not an 8-bit IPMB address (even, 0x02..0xfe)"),
        ("0x39", "0x39 looks like a 7-bit address; the 8-bit IPMB address is 0x72"),
        ("0x81", "0x81 is odd; 8-bit IPMB addresses are even"),
        ("0x00", "0x00 is not an 8-bit IPMB address"),
    ],
)
def test_addresses_that_cannot_be_meant_are_refused(address, message):
    line = one_line(satmc("-t", "sim:///nonexistent/sim.sock", "-a", address, "info"), 2)
    assert message in line and "satmc -h" in line


def test_retries_zero_is_refused():
    line = one_line(satmc("--retries", "0", "info"), 2)
    assert "--retries: 0: a request is tried at least once" in line


def test_an_absent_serial_port_is_named():
    line = one_line(satmc("-t", "serial:///dev/satmc-no-such-port", "info"))
    assert "no serial port /dev/satmc-no-such-port; " in line


def test_an_ftdi_interface_the_adapter_lacks(sim):
    # the FT232H twin is a real pyftdi device path: FtdiError "No such FTDI port: 2"
    r = satmc("--twin", sim.socket_path, "-t", "ftdi://ftdi:232h/2", "info")
    line = one_line(r)
    assert "No such FTDI port: 2" in line and "An FT232H has one interface, /1" in line


def test_missing_and_unwritable_files(tmp_path, image, sim):
    missing = tmp_path / "missing.bin"
    assert one_line(satmc("fru", "print", "--file", str(missing))).endswith(
        f"{missing}: No such file or directory"
    )
    line = one_line(satmc("-t", sim.url, "fru", "write", str(missing)))
    assert line.endswith(f"{missing}: No such file or directory")
    nodir = tmp_path / "nodir" / "out.bin"
    line = one_line(satmc("-t", sim.url, "fru", "read", "-o", str(nodir)))
    assert line.endswith(f"{nodir}: No such file or directory")
    line = one_line(satmc("-t", sim.url, "fru", "read", "-o", str(tmp_path)))
    assert line.endswith(f"{tmp_path}: Is a directory")
    assert not nodir.parent.exists()


@pytest.mark.parametrize("args", [["fru", "print", "--file", "IMAGE"], ["stats"]])
def test_output_into_a_closed_pipe_stops_quietly(args, image, sim):
    args = [str(image) if a == "IMAGE" else a for a in args]
    p = subprocess.Popen(
        [SATMC, "-t", sim.url, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    p.stdout.close()  # the reader has gone before satmc writes (`| head` that exited)
    assert p.wait(timeout=60) == 141 and p.stderr.read() == b""  # 128 + SIGPIPE, as cat


def test_global_options_after_the_command_and_debug_logs_both_directions(sim):
    r = satmc("raw", "app", "0x01", "-t", sim.url, "-d", "--retries=2", "-a", "0x72")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "01"
    tx = [x for x in r.stderr.splitlines() if "IPMB TX [72 18" in x]  # to 0x72, netFn App
    rx = [x for x in r.stderr.splitlines() if "IPMB RX [20 1c" in x]  # its response
    assert len(tx) == 1 and len(rx) == 1, r.stderr


def test_no_command_reuses_a_global_option():
    parser = build_parser()
    globals_ = {s for a in parser._actions for s in a.option_strings} - {"-h", "--help"}

    def walk(p):
        for action in p._actions:
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                for sub in action.choices.values():
                    clash = globals_ & {s for a in sub._actions for s in a.option_strings}
                    assert not clash, f"{sub.prog} reuses {clash}"
                    walk(sub)

    walk(parser)


@pytest.mark.parametrize(
    "data,sent",
    [(["10"], "0a"), (["0x10"], "10"), (["010"], "08"), (["255", "0xFF"], "ff ff")],
)
def test_raw_reads_numbers_as_ipmitool(sim, data, sent):
    r = satmc("-t", sim.url, "-d", "--retries", "1", "raw", "6", "0x04", *data)
    tx = [x for x in r.stderr.splitlines() if "IPMB TX [72 18" in x]
    # rsSA netFn/LUN chk rqSA rqSeq/LUN cmd DATA chk
    assert tx and tx[0].split("[")[1].rstrip("]").split()[6:-1] == sent.split(), r.stderr


def test_raw_refuses_what_ipmitool_refuses(sim):
    for text in ("ff", "08", "256"):
        r = satmc("-t", sim.url, "raw", "6", "1", text)
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
        assert f"data byte {text!r}" in r.stderr
    assert "0x.. hexadecimal, 0.. octal" in satmc("raw", "-h").stdout


def test_flash_verify_address_is_checked_before_anything_is_flashed():
    line = one_line(satmc("flash", "--board", "pico", "--ipmb-address", "0x39"), 2)
    assert "0x39 looks like a 7-bit address; the 8-bit IPMB address is 0x72" in line


def test_flash_refuses_a_and_ipmb_address_naming_different_satellites(tmp_path):
    r = satmc("-a", "0x76", "flash", "--board", "pico", "--ipmb-address", "0x74",
              "--via", f"sim://{tmp_path}/none.sock")  # fmt: skip
    line = one_line(r, 1)
    assert "-a 0x76 and --ipmb-address 0x74 name different satellites" in line
    env = dict(os.environ, SATMC_ADDRESS="0x76")  # for everyday queries: not a typed -a
    r = subprocess.run([SATMC, "flash", "--board", "pico", "--ipmb-address", "0x74", "--via",
                        f"sim://{tmp_path}/none.sock"], capture_output=True, text=True,
                       timeout=120, env=env)  # fmt: skip
    line = one_line(r, 1)
    assert "no virtual bus" in line, line


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """The sim board without sensors and FRU devices (a bare controller)."""
    d = tmp_path_factory.mktemp("bare")
    data = yaml.safe_load((BOARDS_DIR / "sim.yaml").read_text())
    data.update(name="bare")
    for key in ("sensors", "fru", "scan_period_ms"):
        data.pop(key)
    data["sim"]["devices"] = []
    (d / "bare.yaml").write_text(yaml.safe_dump(data))
    s = Simulator(str(d / "bare.yaml"), socket_path=str(d / "s.sock"), build_dir=str(d / "b"))
    s.start()
    yield s
    s.stop()


def test_a_satellite_without_sensors_or_fru_says_so(bare):
    for args in (["sensors"], ["sensor", "get", "Board Temp"], ["thresholds", "get", "1"]):
        line = one_line(satmc("-t", bare.url, *args))
        assert "this satellite declares no sensors" in line and "no sensors: list" in line
    for args in (["fru", "print"], ["fru", "read", "-o", "/dev/null"]):
        line = one_line(satmc("-t", bare.url, *args))
        assert "this satellite declares no FRU devices" in line and "no fru: list" in line


def test_a_fru_id_the_satellite_lacks(sim):
    line = one_line(satmc("-t", sim.url, "fru", "print", "--id", "5"))
    assert "this satellite has no FRU device 5 (completion code 0xcb); choose another" in line


def test_an_eeprom_that_stays_busy_is_named(sim, image):
    eeprom = sim.devices["fru0"]
    eeprom.busy = lambda: True  # NACKs as in an endless write cycle: the firmware answers 81
    try:
        line = one_line(satmc("-t", sim.url, "fru", "edit", "board.serial_number=BUSY"))
    finally:
        del eeprom.busy
    assert "EEPROM busy (completion code 0x81) writing for 2 s at 0x" in line
    assert line.endswith("retry (the satellite is still loading or writing it)")
    r = satmc("-t", sim.url, "fru", "print")
    assert r.returncode == 0 and "BUSY" not in r.stdout  # refused: nothing changed


def test_a_threshold_outside_the_sensors_range_states_the_range(sim):
    line = one_line(satmc("-t", sim.url, "thresholds", "set", "Board Temp", "--unc", "200"))
    assert line.endswith("unc=200 is outside the range of 'Board Temp': -20..107.5 C")


def test_sel_list_on_a_missing_directory_creates_nothing(tmp_path):
    log = tmp_path / "nodir" / "events.sqlite"
    line = one_line(satmc("sel", "list", "--log", str(log)))
    assert f"{log}: no directory {log.parent}" in line and not log.parent.exists()
    log = tmp_path / "events.sqlite"
    r = satmc("sel", "list", "--log", str(log))
    assert r.returncode == 0 and r.stdout.strip() == f"no events in {log}"
    r = satmc("sel", "clear", "--log", str(log))
    assert r.returncode == 0 and not log.exists()  # no empty log left behind


@pytest.mark.parametrize(
    "url, says",
    [
        ("sim://{d}/s.sock?readback=2", "readback='2': give 1 or 0"),
        ("sim://{d}/s.sock?raedback=1", "unknown option 'raedback'; sim:// takes readback"),
        ("sim://{d}/s.sock?readback=1&readback=0", "option 'readback' given twice"),
        ("socket://127.0.0.1:99999", "use socket://HOST:PORT (a TCP port, 1..65535)"),
        ("socket://127.0.0.1", "use socket://HOST:PORT"),
        ("socket://127.0.0.1:5000?logging=debug", "unknown option 'logging'; socket://"),
        ("serial:///dev/ttyX?baud=fast", "baud='fast': give the line's rate"),
        ("lanplus://u:p@127.0.0.1:1?ciphr=17", "unknown option 'ciphr'; lanplus:// takes"),
        ("lan://u:p@127.0.0.1:1?privilege=user&x=1", "unknown option 'x'; lan:// takes"),
        ("ftdi://ftdi:232h/1?frq=1", "unknown option 'frq'; ftdi:// takes freq, clockstretching"),
    ],
)
def test_a_target_url_option_satmc_does_not_take_is_one_line(tmp_path, url, says):
    """Nothing is opened: a misspelt option is refused, not ignored (nor passed on)."""
    line = one_line(satmc("-t", url.format(d=tmp_path), "info"), 1)
    assert says in line, line
    assert "***" in line or ":p@" not in line  # a password in the URL is not printed


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_timeout_must_be_a_positive_number_of_seconds(value):
    line = one_line(satmc("--timeout", value, "info"), 2)
    assert "argument --timeout" in line, line


@pytest.mark.parametrize(
    "url, says",
    [
        ("socket://127.0.0.1:0", "use socket://HOST:PORT"),
        ("lanplus://u:p@127.0.0.1:1?cipher=", "cipher must be 3 or 17"),
    ],
)
def test_a_target_url_option_with_a_value_out_of_range_is_one_line(url, says):
    line = one_line(satmc("-t", url, "info"), 1)
    assert says in line, line
