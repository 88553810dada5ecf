"""Sensors from the board config: drivers, Sensor objects, device SDRs (boot only).

    sensor_setup.setup(mc, config)  # mc.sensors, mc.sdrs; then main unloads this module

The drivers' modules are imported only for the chips a board uses.
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


def _driver(mc, config, source):
    """The reading function of a sensor's source (config "source")."""
    import machine

    chip = source["chip"]
    if chip == "lm75":
        from .fru import private_i2c
        from .lm75 import LM75

        return LM75(private_i2c(mc, config), source["addr"], source.get("bits", 9)).read
    if chip in ("ina219", "ina226"):
        from .fru import private_i2c
        from .ina219 import INA219

        pm = INA219(
            private_i2c(mc, config),
            source["addr"],
            source.get("shunt_milliohm", 100),
            ina226=chip == "ina226",
        )
        return pm.current if source.get("measure") == "current" else pm.bus_voltage
    if chip == "adc":
        from .rp2adc import ADCVoltage

        return ADCVoltage(
            machine.ADC(machine.Pin(source["pin"])), source.get("divider_milli", 1000)
        ).read
    if chip == "rp2temp":
        from .rp2adc import RP2Temperature

        return RP2Temperature(machine.ADC(4)).read
    if chip == "tach":
        from .tach import Tach

        pin = machine.Pin(source["pin"], machine.Pin.IN, machine.Pin.PULL_UP)
        return Tach(pin, source.get("pulses_per_rev", 2)).read
    if chip == "gpio":
        from .gpio import GPIOState

        pin = machine.Pin(source["pin"], machine.Pin.IN, machine.Pin.PULL_UP)
        return GPIOState(pin, source.get("active_low", False)).read
    raise ValueError("unknown sensor chip %r" % chip)


def make_sensor(mc, c, read):
    """A Sensor and its Full Sensor Record from one config entry."""
    threshold = c["kind"] == "threshold"
    s = Sensor(
        c["number"],
        c["type"],
        EVENT_TYPE_THRESHOLD if threshold else EVENT_TYPE_SPECIFIC,
        read,
        c.get("period_ms", 1000),
        getattr(mc, "events", None),
    )
    if threshold:
        s.lo, s.res = c["lo_milli"], c["res_milli"]
        s.active = c.get("readable", 0)
        s.settable = c.get("settable", 0) & s.active
        t = c.get("thresholds") or (0,) * 6
        for i in range(6):
            s.thr[i] = t[i]
        s.hyst_pos, s.hyst_neg = c.get("hysteresis", (0, 0))
        s.assert_mask = s.deassert_mask = default_event_masks(s.active)
    else:
        s.assert_mask = 0x03  # present, absent
    s.assert_en, s.deassert_en = s.assert_mask, s.deassert_mask
    s.stats = mc.stats
    s.record = sdr_encode.full_sensor_record(
        mc.address,
        s.number,
        tuple(c.get("entity", (0x07, 1))),
        s.sensor_type,
        s.event_type,
        c["name"],
        threshold=threshold,
        lo_milli=s.lo,
        res_milli=s.res,
        unit=c.get("unit", 0),
        thresholds=s.thr,
        readable=s.active,
        settable=s.settable,
        hysteresis=(s.hyst_pos, s.hyst_neg),
        assert_mask=s.assert_mask,
        deassert_mask=s.deassert_mask,
        nominal=c.get("nominal"),
    )
    return s


def setup(mc, config):
    """Sensors, device SDRs (sensors, MC locator, FRU locators) and support bits."""
    mc.sensors = Sensors()
    mc.sdrs = sdr.Repository()
    for c in config.get("sensors") or ():
        gc.collect()  # a small heap: room for each sensor's driver, state and record
        s = make_sensor(mc, c, _driver(mc, config, c["source"]))
        mc.sensors.add(s)
        mc.sdrs.add(s.record)
    mc.support |= SUPPORT_SENSOR_DEVICE
    mc.provides_sdrs = True
    entity = (0x07, 1)  # system board
    mc.sdrs.add(sdr_encode.mc_locator_record(mc.address, mc.support, entity, config["name"]))
    for fru in config.get("fru_locators") or ():
        mc.sdrs.add(sdr_encode.fru_locator_record(mc.address, fru["id"], entity, fru["name"]))
    mc.sdrs.changed()
