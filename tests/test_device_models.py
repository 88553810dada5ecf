"""Device models refuse bad stimulus values; a model that raises does not stop its bus."""

from __future__ import annotations

import time

import pytest

from satmc.cli.main import main
from satmc.errors import BusNackError
from satmc.sensors import SensorClient
from satmc.transports import connect
from satmc.vbus import devices
from satmc.vbus.client import BusController
from satmc.vbus.server import BusServer

# (board-file entry, [(stimulus, bad value, words the message must contain)])
BAD = [
    (
        {"model": "lm75", "addr": 0x48, "temperature": 25.0},
        [
            ("temperature", "hot", "number from -55 to 125 C"),
            ("temperature", 200, "from -55 to 125"),
            ("temperature", float("nan"), "number"),
            ("temperature", True, "number"),
            ("present", "yes", "true or false"),
        ],
    ),
    (
        {"model": "ina219", "addr": 0x40, "shunt_milliohm": 10, "bus_voltage": 12.0},
        [
            ("bus_voltage", "12V", "from 0 to 26 V"),
            ("bus_voltage", -1, "from 0 to 26 V"),
            ("current", 40, "from -32 to 32 A"),  # 320 mV across 10 mOhm
            ("present", 2, "true or false"),
        ],
    ),
    ({"model": "adc", "pin": 26}, [("volts", 5, "from 0 to 3.3 V"), ("volts", None, "number")]),
    ({"model": "rp2temp"}, [("temperature", "warm", "from -40 to 125 C")]),
    ({"model": "fan", "pin": 6}, [("rpm", -5, "from 0 to 100000 rpm"), ("rpm", "fast", "rpm")]),
    ({"model": "gpio", "pin": 7}, [("level", 2, "integer from 0 to 1"), ("level", 0.5, "0 to 1")]),
    (
        {"model": "at24", "addr": 0x50},
        [
            ("wp", "on", "true or false"),
            ("twr_ms", -1, "from 0 to 1000 ms"),
            ("poke", "00ff", "poke must be [offset"),
            ("poke", [0, "zz"], "poke must be [offset"),
            ("poke", [250, "00" * 10], "outside the memory"),
        ],
    ),
]


@pytest.mark.parametrize(
    "entry,key,value,words",
    [(e, k, v, words) for e, cases in BAD for k, v, words in cases],
    ids=lambda x: x["model"] if isinstance(x, dict) else None,
)
def test_bad_stimulus_values_are_refused_and_change_nothing(entry, key, value, words):
    _, _, _, model = devices.create(entry)
    before = model.state()
    good = {k: before[k] for k in model.stimuli() if k not in (key, "poke")}
    with pytest.raises(ValueError) as e:
        model.set(**good, **{key: value})  # the good ones are not applied either
    assert key in str(e.value) and words in str(e.value)
    assert model.state() == before


def test_a_bad_value_in_the_board_file_is_refused_with_the_device_named():
    with pytest.raises(ValueError, match="device 'temp9' .*temperature must be a number"):
        devices.create({"name": "temp9", "model": "lm75", "addr": 0x48, "temperature": "hot"})


def test_cli_refuses_a_bad_value_in_one_line_and_the_sensors_still_read(
    sim, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code = main(["-t", sim.url, "sim", "set", "temp0", "temperature=hot"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [
        "satmc: error: temp0: temperature must be a number from -55 to 125 C, not 'hot'"
    ]
    assert sim.devices["temp0"].temperature == 25.0
    with connect(sim.url, address=sim.address) as sat:
        assert _board_temp(SensorClient(sat), 25.0) == 25.0


def _board_temp(client, want, timeout=5.0):
    """Board Temp's value once it reads `want` (the scans run every 200 ms), or the last."""
    deadline = time.monotonic() + timeout
    while True:
        value = next(r for r in client.read_all() if r.name == "Board Temp").value
        if value == want or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _raising(*args):
    raise RuntimeError("model bug")


def test_a_model_that_raises_is_counted_and_the_bus_serves_on(tmp_path):
    server = BusServer(str(tmp_path / "bus.sock"), buses=["board"]).start()
    bus = server.buses["board"]
    bad = devices.create({"model": "lm75", "addr": 0x48})[3]
    good = devices.create({"model": "lm75", "addr": 0x49, "temperature": 30.0})[3]
    bus.attach(0x48, bad)
    bus.attach(0x49, good)
    bad.get = _raising
    c = BusController(server.path, "board")
    try:
        for _ in range(3):
            c.write(0x48, b"\x00")
            with pytest.raises(BusNackError):
                c.read(0x48, 2)  # answers as an absent chip
            c.write(0x49, b"\x00")
            assert c.read(0x49, 2) == bytes((30 * 2 << 7 >> 8, 0))  # 30.0 C
        assert bus.stats["target_errors"] == 3
        assert (
            "RuntimeError: model bug"
            in server.control({"op": "stats", "bus": "board"})["last_target_error"]
        )
    finally:
        c.close()
        server.close()


def test_the_firmware_keeps_its_private_bus_when_a_model_raises(sim, monkeypatch):
    temp0 = sim.devices["temp0"]
    monkeypatch.setattr(temp0, "get", _raising)
    with connect(sim.url, address=sim.address) as sat:
        client = SensorClient(sat)
        assert _board_temp(client, None) is None  # reading unavailable, not stale
        rows = {r.name: r for r in client.read_all()}
        assert rows["12V"].value == pytest.approx(12.0, abs=0.1)  # same bus, still read
        monkeypatch.undo()
        assert _board_temp(client, 25.0) == 25.0
    assert sim.control("stats", bus="board")["target_errors"] > 0


def test_a_pin_or_adc_model_that_raises_reads_as_unavailable_and_the_rest_serve_on(
    sim, monkeypatch
):
    rail = sim.devices["rail3v3"]
    with connect(sim.url, address=sim.address) as sat:
        client = SensorClient(sat)
        assert _value(client, "3V3", lambda v: v is not None) is not None
        monkeypatch.setattr(rail, "adc_u16", _raising)
        assert _value(client, "3V3", lambda v: v is None) is None  # unavailable, not stale
        assert _value(client, "Board Temp", lambda v: v == 25.0) == 25.0
        monkeypatch.undo()
        assert _value(client, "3V3", lambda v: v is not None) is not None


def _value(client, name, ok, timeout=5.0):
    """Sensor `name`'s value once ok(value), or the last one read."""
    deadline = time.monotonic() + timeout
    while True:
        value = next(r for r in client.read_all() if r.name == name).value
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)
