"""The sensor commands of the satmc CLI against the simulated board."""

from __future__ import annotations

import _thread
import threading
import time

import pytest

from satmc.cli.main import main


@pytest.fixture
def satmc(sim, scanned_sim, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SATMC_EVENT_LOG", str(tmp_path / "events.sqlite"))

    def run(*argv: str) -> tuple[int, str]:
        code = main(["-t", sim.url, *argv])
        out = capsys.readouterr()
        return code, out.out + out.err

    return run


def test_sensors_table(satmc):
    code, out = satmc("sensors")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "VALUE", "STATUS"]
    row = next(line for line in lines if line.startswith("Board Temp"))
    assert row.split()[2:5] == ["25.0", "C", "ok"] and row.split()[-4:] == ["5", "60", "75", "90"]
    assert any(line.startswith("Module Present") and "present" in line for line in lines)


def test_sim_set_then_sensors_shows_the_status(satmc):
    code, out = satmc("sim", "set", "temp0", "temperature=80")
    assert code == 0 and "temperature=80" in out
    deadline = time.monotonic() + 5
    while True:
        row = next(line for line in satmc("sensors")[1].splitlines() if line.startswith("Board"))
        if row.split()[2] == "80.0" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert row.split()[2:5] == ["80.0", "C", "cr"]
    satmc("sim", "set", "temp0", "temperature=25")
    code, out = satmc("sim", "get")
    assert "temp0: temperature=25" in out and "fan0: rpm=" in out
    assert satmc("sim", "set", "temp0", "colour=red")[0] == 1


def test_thresholds_set_and_get(satmc):
    code, out = satmc("thresholds", "set", "Board Temp", "--unc", "65", "--uc", "80")
    assert code == 0 and "unc=65" in out and "uc=80" in out
    assert "unc=65" in satmc("thresholds", "get", "Board Temp")[1]
    code, out = satmc("thresholds", "set", "Board Temp", "--lnr", "1")
    assert code == 1 and "not settable" in out
    satmc("thresholds", "set", "Board Temp", "--unc", "60", "--uc", "75")


def test_thresholds_out_of_order_are_refused_before_anything_is_sent(satmc):
    before = satmc("thresholds", "get", "Board Temp")[1]
    code, out = satmc("thresholds", "set", "Board Temp", "--unc", "80")  # uc is 75
    assert code == 1
    assert out == (
        "satmc: error: 'Board Temp': uc must be at or above unc (unc=80, uc=75); thresholds "
        "keep lnr <= lc <= lnc < unc <= uc <= unr; nothing was sent\n"
    )
    code, out = satmc("thresholds", "set", "Board Temp", "--lnc", "60")  # unc is 60
    assert code == 1 and "unc must be above lnc (lnc=60, unc=60)" in out
    assert satmc("thresholds", "get", "Board Temp")[1] == before


def test_thresholds_set_says_the_value_the_satellite_holds(satmc):
    code, out = satmc("thresholds", "set", "Board Temp", "--unc", "60.3")
    assert code == 0
    assert "unc=60.3 is held as 60.5 (the sensor's resolution)" in out
    assert "unc=60.5" in satmc("thresholds", "get", "Board Temp")[1]
    satmc("thresholds", "set", "Board Temp", "--unc", "60")


def test_events_follow_logs_and_sel_lists(satmc, sim, capsys):
    code, out = satmc("events")
    assert code == 0 and "event receiver : 0x20" in out and "events_dropped" in out

    def raise_temperature():
        time.sleep(1.0)
        sim.control("device", name="temp0", set={"temperature": 62})
        time.sleep(1.0)
        sim.control("device", name="temp0", set={"temperature": 25})

    threading.Thread(target=raise_temperature, daemon=True).start()
    stop = threading.Timer(3.5, _thread.interrupt_main)  # Ctrl-C
    stop.start()
    code = main(["-t", sim.url, "events", "--follow"])
    out = capsys.readouterr().out
    assert code == 2  # Ctrl-C
    assert "Board Temp: UNC going high asserted, reading 62 C (threshold 60 C)" in out
    code, out = satmc("sel", "list")
    assert code == 0 and "UNC going high asserted" in out and "UNC going high deasserted" in out
    code, out = satmc("sel", "clear")
    assert code == 0 and satmc("sel", "list")[1].startswith("no events")
