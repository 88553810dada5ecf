"""The firmware indexes the board config (the host's contract), it never re-defaults:
a config whose .get() fails still builds the controller, its sensors and its wiring."""

import os

from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, sensor_entry

from ipmc import events, sdr, sensor_setup, sensor_wiring, sensors, wiring  # noqa: F401
from ipmc.link import IPMBLink
from ipmc.mc import MC


class IndexOnly(dict):
    """A config mapping that refuses .get(): reading it must go by config[key]."""

    def get(self, *args):
        raise AssertionError("config.get(" + repr(args) + "): the firmware re-defaults a key")


def _strict(v):
    if isinstance(v, dict):
        return IndexOnly((k, _strict(x)) for k, x in v.items())
    if isinstance(v, list):
        return [_strict(x) for x in v]
    return v


SOURCES = [
    {"chip": "tach", "pin": 50, "pulses_per_rev": 2},
    {"chip": "gpio", "pin": 51, "active_low": True},
    {"chip": "adc", "pin": 26, "divider_milli": 2000},
    {"chip": "rp2temp"},
]


def test_the_controller_sensors_and_wiring_read_the_config_by_index():
    cfg = _strict(CONFIG)
    mc = MC(cfg)
    assert mc.address == 0x72 and mc.aux_revision == bytes((1, 2, 3, 4))
    mc.link = IPMBLink(FakeTarget(), FakeController(), 0x72, critical=CRITICAL, stats=mc.stats)
    events.setup(mc)
    w = wiring.Wiring(cfg)
    entries = _strict([sensor_entry(number=i + 1, source=s) for i, s in enumerate(SOURCES)])
    entries.append(_strict(sensor_entry(number=9, kind="discrete", type=0x25)))
    locators = _strict([{"id": 1, "name": "unit FRU 1"}])
    sensor_setup.setup(mc, cfg["name"], entries, locators, sensor_wiring.readers(w))
    assert len(mc.sdrs.records) == len(entries) + 2  # + MC and FRU device locators
    assert wiring.ipmb_address(cfg["ipmb"]) == 0x72
    store = w.fru_store(_strict({"id": 1, "device": "file", "size": 64, "path": _PATH}))
    try:
        assert store.size == 64
    finally:
        os.remove(_PATH)


_PATH = "contract-fru.bin"
