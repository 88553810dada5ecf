"""Sensors from the board config: drivers, Sensor objects, device SDRs (boot only).

    sensor_setup.setup(mc, name, sensors, fru_locators, reader)  # mc.sensors, mc.sdrs
    # then main unloads this module

reader(source) is the chip -> driver map (ipmc.sensor_wiring); it imports the
drivers' modules only for the chips a board uses. The entries are indexed: the host
fills every key (satmc.board).
"""

import gc

from . import sdr, sdr_encode
from .mc import SUPPORT_SENSOR_DEVICE
from .sensors import (
    EVENT_TYPE_SPECIFIC,
    EVENT_TYPE_THRESHOLD,
    Sensor,
    Sensors,
    default_event_masks,
)


def make_sensor(mc, c, read):
    """A Sensor and its Full Sensor Record from one config entry."""
    threshold = c["kind"] == "threshold"
    s = Sensor(
        c["number"],
        c["type"],
        EVENT_TYPE_THRESHOLD if threshold else EVENT_TYPE_SPECIFIC,
        read,
        c["period_ms"],
        getattr(mc, "events", None),
    )
    if threshold:
        s.lo, s.res = c["lo_milli"], c["res_milli"]
        s.active = c["readable"]
        s.settable = c["settable"] & s.active
        t = c["thresholds"]
        for i in range(6):
            s.thr[i] = t[i]
        s.hyst_pos, s.hyst_neg = c["hysteresis"]
        s.assert_mask = s.deassert_mask = default_event_masks(s.active)
    else:
        s.assert_mask = 0x03  # present, absent
    s.assert_en, s.deassert_en = s.assert_mask, s.deassert_mask
    s.stats = mc.stats
    s.record = sdr_encode.full_sensor_record(
        mc.address,
        s.number,
        tuple(c["entity"]),
        s.sensor_type,
        s.event_type,
        c["name"],
        threshold=threshold,
        lo_milli=s.lo,
        res_milli=s.res,
        unit=c["unit"],
        thresholds=s.thr,
        readable=s.active,
        settable=s.settable,
        hysteresis=(s.hyst_pos, s.hyst_neg),
        assert_mask=s.assert_mask,
        deassert_mask=s.deassert_mask,
        nominal=c["nominal"],
    )
    return s


def setup(mc, name, sensors, fru_locators, reader):
    """Sensors, device SDRs (sensors, MC locator, FRU locators) and support bits.

    sensors, fru_locators: the config's lists; reader(source) gives a sensor's read
    function (sensor_wiring.readers(w), the chip -> driver map)."""
    mc.sensors = Sensors()
    mc.sdrs = sdr.Repository()
    for c in sensors:
        gc.collect()  # a small heap: room for each sensor's driver, state and record
        s = make_sensor(mc, c, reader(c["source"]))
        mc.sensors.add(s)
        mc.sdrs.add(s.record)
    mc.support |= SUPPORT_SENSOR_DEVICE
    mc.provides_sdrs = True
    entity = (0x07, 1)  # system board
    mc.sdrs.add(sdr_encode.mc_locator_record(mc.address, mc.support, entity, name))
    for fru in fru_locators:
        mc.sdrs.add(sdr_encode.fru_locator_record(mc.address, fru["id"], entity, fru["name"]))
    mc.sdrs.changed()
