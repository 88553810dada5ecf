"""satmc sdr dump / sdr info, and the SDR cache: one entry per satellite, replaced on change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from satmc.cli.main import main
from satmc.sensors import SensorClient


@pytest.fixture
def satmc(sim, tmp_path, monkeypatch, capsysbinary):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def run(*argv: str) -> tuple[int, bytes, str]:
        code = main(["-t", sim.url, *argv])
        out = capsysbinary.readouterr()
        return code, out.out, out.err.decode()

    return run


def _ipmitool(sim, *args):
    exe = shutil.which("ipmitool")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("ipmitool is missing; .ci/run installs it")
        pytest.skip("ipmitool not installed (apt-get install ipmitool)")
    r = subprocess.run(
        [exe, "-I", "serial-basic", "-D", f"{sim.serial.pty_path}:115200", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_sdr_dump_writes_what_ipmitool_sdr_dump_writes_and_ipmitool_reads_it(sim, satmc, tmp_path):
    ours, theirs = tmp_path / "satmc.sdr", tmp_path / "ipmitool.sdr"
    code, _, err = satmc("sdr", "dump", str(ours))
    assert code == 0 and f"{ours}: {ours.stat().st_size} bytes of SDRs from 0x72" in err
    _ipmitool(sim, "sdr", "dump", str(theirs))
    assert ours.read_bytes() == theirs.read_bytes()
    # ipmitool takes its SDRs from our file (-S) and reads the sensors by them
    listed = _ipmitool(sim, "-S", str(ours), "sdr", "list")
    assert [line.split("|")[0].strip() for line in listed.splitlines() if "|" in line] == [
        "Board Temp",
        "12V",
        "12V Current",
        "Fan 1",
        "MCU Temp",
        "3V3",
        "Module Present",
    ]


def test_sdr_dump_to_stdout_is_the_records_back_to_back(satmc, sat):
    code, out, err = satmc("sdr", "dump", "-")
    assert code == 0 and err == ""
    records, at = [], 0
    while at < len(out):  # each record: id (2), version, type, length, then its body
        records.append(out[at : at + 5 + out[at + 4]])
        at += 5 + out[at + 4]
    assert at == len(out)
    assert records == SensorClient(sat, cache_dir=None).read_raw_records()
    assert {r[3] for r in records} == {0x01, 0x11, 0x12}


def test_sdr_info_summarises_the_records_and_the_cache(satmc, tmp_path):
    code, out, _ = satmc("sdr", "info")
    lines = {
        k.strip(): v.strip()
        for k, v in (line.split(": ", 1) for line in out.decode().splitlines())
    }
    assert code == 0
    assert lines["satellite"] == "0x72" and lines["sensors"] == "7 (LUN 0)"
    assert lines["records"].startswith("9 (")
    assert lines["by type"] == "full sensor: 7  MC device locator: 1  FRU device locator: 1"
    assert lines["population"].startswith("dynamic, change indicator 0x")
    cache = tmp_path / "cache" / "satmc" / "sdr-72.json"
    assert lines["cache"] == f"{cache} (read now)"
    assert satmc("sdr", "info")[1].decode().endswith(f"{cache} (was current)\n")
    assert satmc("--flush-cache", "sdr", "info")[1].decode().endswith(f"{cache} (read now)\n")


def test_the_cache_keeps_one_entry_per_satellite_replaced_on_change(sat, tmp_path):
    (tmp_path / "sdr-72-0000abcd.json").write_text("[]")  # as satmc once kept them
    (tmp_path / "sdr-74.json").write_text("{}")  # another satellite's: left alone
    client = SensorClient(sat, cache_dir=tmp_path)
    first = client.sdr_indicator()
    client.read_all()
    try:
        for unc in (50, 51, 52):  # each changes the SDRs, and so the change indicator
            client.set_thresholds("Board Temp", unc=unc)
            client.read_all()
            assert sorted(p.name for p in tmp_path.iterdir()) == ["sdr-72.json", "sdr-74.json"]
            entry = json.loads((tmp_path / "sdr-72.json").read_text())
            assert entry["indicator"] == client.sdr_indicator() != first
            assert client.find("Board Temp").threshold["unc"] == client.find(
                "Board Temp"
            ).convert_sensor_value_to_raw(unc)
    finally:
        client.set_thresholds("Board Temp", unc=60)
    assert client.flush_cache() is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sdr-74.json"]
    assert client.flush_cache() is False
