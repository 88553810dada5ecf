"""The chip -> driver map: a sensor's read function from its config "source".

    reader = sensor_wiring.readers(w)
    read = reader({"chip": "lm75", "addr": 0x48, "bits": 9})

`w` is the board's ipmc.wiring.Wiring, which makes the bus, pin and ADC objects;
this module only picks and builds the driver, importing its module for the chips a
board uses. Boot-only, loaded for boards with sensors (main.py unloads it): its names
cost the heap of a board without sensors nothing.
"""


def readers(w):
    """reader(source) -> the read function of a sensor's driver, with w's objects."""
    return lambda source: _reader(w, source)


def _reader(w, source):
    chip = source["chip"]
    if chip == "lm75":
        from .lm75 import LM75

        return LM75(w.private_i2c(), source["addr"], source["bits"]).read
    if chip in ("ina219", "ina226"):
        from .ina219 import INA219

        pm = INA219(
            w.private_i2c(), source["addr"], source["shunt_milliohm"], ina226=chip == "ina226"
        )
        return pm.current if source["measure"] == "current" else pm.bus_voltage
    if chip == "adc":
        from .rp2adc import ADCVoltage

        return ADCVoltage(w.adc(source["pin"]), source["divider_milli"]).read
    if chip == "rp2temp":
        from .rp2adc import RP2Temperature

        return RP2Temperature(w.adc()).read
    if chip == "tach":
        from .tach import Tach

        return Tach(w.input_pin(source["pin"]), source["pulses_per_rev"], w.critical).read
    if chip == "gpio":
        from .gpio import GPIOState

        return GPIOState(w.input_pin(source["pin"]), source["active_low"]).read
    raise ValueError("unknown sensor chip %r" % chip)
