"""Rig files: the FTDI adapter's options (freq, clockstretching) as rig keys."""

from __future__ import annotations

import pytest

from satmc.board import REPO
from satmc.hil.rig import RigError, load_rig

RIG = """\
target = "{target}"
board = "pico"
{extra}
"""


def rig_file(tmp_path, target="ftdi://ftdi:232h/1", extra=""):
    p = tmp_path / "bench.toml"
    p.write_text(RIG.format(target=target, extra=extra))
    return p


def test_the_bench_rig_turns_clock_stretching_on():
    rig = load_rig(REPO / "hil" / "rigs" / "pico-ft232h.toml")
    assert (rig.freq, rig.clockstretching) == (100_000, True)
    assert rig.url == "ftdi://ftdi:232h/1?freq=100000&clockstretching=1"


def test_ftdi_keys_become_url_options(tmp_path):
    rig = load_rig(rig_file(tmp_path, extra="freq = 400000\nclockstretching = false"))
    assert rig.url == "ftdi://ftdi:232h/1?freq=400000&clockstretching=0"
    twin = load_rig(rig_file(tmp_path, "sim+ftdi", "clockstretching = false"))
    assert twin.url == "ftdi://ftdi:232h/1?clockstretching=0"
    assert load_rig(rig_file(tmp_path)).url == "ftdi://ftdi:232h/1"  # the transport's defaults


@pytest.mark.parametrize(
    "target, extra, message",
    [
        ("ftdi://ftdi:232h/1", 'freq = "fast"', "'freq' must be an integer (Hz)"),
        ("ftdi://ftdi:232h/1", "clockstretching = 1", "'clockstretching' must be true or false"),
        ("ftdi://ftdi:232h/1", "freq = 5000000", "freq='5000000': give the I2C clock in Hz"),
        ("ftdi://ftdi:232h/1?freq=100000", "freq = 400000", "option 'freq' given twice"),
        ("serial:///dev/ttyACM0", "freq = 100000", "apply to ftdi:// and sim+ftdi targets only"),
        ("sim", "clockstretching = true", "apply to ftdi:// and sim+ftdi targets only"),
    ],
)
def test_bad_ftdi_keys_are_refused_at_load(tmp_path, target, extra, message):
    with pytest.raises(RigError) as e:
        load_rig(rig_file(tmp_path, target, extra))
    assert message in str(e.value) and str(e.value).startswith(str(tmp_path))


def test_a_rig_may_name_the_boards_serial_line(tmp_path):
    rig = load_rig(rig_file(tmp_path, extra='serial = "serial:///dev/ttyACM0"'))
    assert rig.serial == "serial:///dev/ttyACM0"
    assert load_rig(rig_file(tmp_path)).serial is None
    with pytest.raises(RigError) as e:
        load_rig(rig_file(tmp_path, extra='serial = "/dev/ttyACM0"'))
    assert "'serial' must be a serial:// or socket:// URL" in str(e.value)
