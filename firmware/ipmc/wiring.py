"""Board wiring: every `machine` object of the firmware, made from the board config.

    from ipmc import wiring
    w = wiring.Wiring(config)         # config: board_config.CONFIG (the host's contract)
    target = w.ipmb_target(address)   # machine.I2CTarget on the IPMB target block
    controller = w.ipmb_controller()  # machine.I2C on the controller block
    read = w.sensor_reader(source)    # the chip -> driver map: a sensor's read function
    store = w.fru_store(entry)        # a FRU device's store (AT24 on the private bus, file)

This is the only module that imports `machine` (as micropython-lib's drivers leave it
to the board's wiring): the feature modules (link, events, sensors, fru, at24, tach,
...) are given bus, pin and ADC objects, and the IRQ critical section as CRITICAL,
the pair (disable_irq, enable_irq). Driver modules are imported only for the chips a
board uses. main.py unloads this module after boot (its code costs heap); reset and
the watchdog are kept as the objects it made.

The config is indexed, never defaulted: the host fills every key (satmc.board).
"""

import machine

CRITICAL = (machine.disable_irq, machine.enable_irq)
reset = machine.reset


def ipmb_address(ipmb):
    """Fixed address, or base + value of the geographic address pins (LSB first)."""
    v = 0
    for i, p in enumerate(ipmb["ga_pins"]):
        if machine.Pin(p, machine.Pin.IN, machine.Pin.PULL_UP).value():
            v |= 1 << i
    return ipmb["address"] + 2 * v


def _pins(blk):
    """scl=/sda= keyword arguments of an I2C block: none where the port fixes them."""
    if "scl" not in blk:
        return {}
    return {"scl": machine.Pin(blk["scl"]), "sda": machine.Pin(blk["sda"])}


def led(spec):
    """An LED's output pin, off ({pin, active_low})."""
    return machine.Pin(spec["pin"], machine.Pin.OUT, value=spec["active_low"])


unique_id = machine.unique_id


def watchdog(timeout_ms):
    """A started watchdog, or None for 0 (no watchdog)."""
    return machine.WDT(timeout=timeout_ms) if timeout_ms else None


def keep_feeding(wdt, period_ms):
    """A timer feeding wdt (a started watchdog cannot be stopped), for the REPL."""
    return machine.Timer(period=period_ms, callback=lambda t: wdt.feed())


class Wiring:
    """The machine objects of one board config; the private bus made once, shared."""

    def __init__(self, config):
        self.config = config
        self._private = None

    def ipmb_target(self, address):
        t = self.config["ipmb"]["target"]
        return machine.I2CTarget(t["block"], address >> 1, **_pins(t))

    def ipmb_controller(self):
        ipmb = self.config["ipmb"]
        c = ipmb["controller"]
        return machine.I2C(c["block"], freq=ipmb["freq"], **_pins(c))

    def private_i2c(self):
        """The board's private I2C bus (SoftI2C)."""
        if self._private is None:
            pb = self.config["private_bus"]
            self._private = machine.SoftI2C(
                scl=machine.Pin(pb["scl"]), sda=machine.Pin(pb["sda"]), freq=pb["freq"]
            )
        return self._private

    def fru_store(self, entry):
        """The store behind a FRU device entry of config["fru"]."""
        if entry["device"] == "file":
            from .fru import FileStore

            return FileStore(entry["path"], entry["size"])
        from .at24 import AT24

        wp = entry["wp_pin"]
        return AT24(
            self.private_i2c(),
            entry["addr"],
            entry["size"],
            page=entry["page"],
            addrsize=entry["addrsize"],
            wp=None if wp is None else machine.Pin(wp),
        )

    def sensor_reader(self, source):
        """The reading function of a sensor's source (config "source"): chip -> driver."""
        chip = source["chip"]
        if chip == "lm75":
            from .lm75 import LM75

            return LM75(self.private_i2c(), source["addr"], source["bits"]).read
        if chip in ("ina219", "ina226"):
            from .ina219 import INA219

            pm = INA219(
                self.private_i2c(),
                source["addr"],
                source["shunt_milliohm"],
                ina226=chip == "ina226",
            )
            return pm.current if source["measure"] == "current" else pm.bus_voltage
        if chip == "adc":
            from .rp2adc import ADCVoltage

            return ADCVoltage(
                machine.ADC(machine.Pin(source["pin"])), source["divider_milli"]
            ).read
        if chip == "rp2temp":
            from .rp2adc import RP2Temperature

            return RP2Temperature(machine.ADC(4)).read
        if chip == "tach":
            from .tach import Tach

            return Tach(
                machine.Pin(source["pin"], machine.Pin.IN, machine.Pin.PULL_UP),
                source["pulses_per_rev"],
                CRITICAL,
            ).read
        if chip == "gpio":
            from .gpio import GPIOState

            return GPIOState(
                machine.Pin(source["pin"], machine.Pin.IN, machine.Pin.PULL_UP),
                source["active_low"],
            ).read
        raise ValueError("unknown sensor chip %r" % chip)
