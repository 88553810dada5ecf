"""Board wiring: every `machine` object of the firmware, made from the board config.

    from ipmc import wiring
    w = wiring.Wiring(config)         # config: board_config.CONFIG (the host's contract)
    target = w.ipmb_target(address)   # machine.I2CTarget on the IPMB target block
    controller = w.ipmb_controller()  # machine.I2C on the controller block
    pin = w.input_pin(7)              # a GPIO input with pull-up; w.adc(26), w.adc() too
    store = w.fru_store(entry)        # a FRU device's store (AT24 on the private bus, file)

This is the only module that imports `machine` (as micropython-lib's drivers leave it
to the board's wiring): the feature modules (link, events, sensors, fru, at24, tach,
...) are given bus, pin and ADC objects, and the IRQ critical section as CRITICAL,
the pair (disable_irq, enable_irq). The chip -> driver map is ipmc.sensor_wiring, a
boot-only module loaded for boards with sensors that takes its objects from here.
main.py unloads this module after boot (its code costs heap); reset and the watchdog
are kept as the objects it made.

The config is indexed, never defaulted: the host fills every key (satmc.board).
"""

import gc

import machine

# On the unix port machine is compiled at import: its garbage goes before the firmware's
# modules load among it (they then fit in less heap)
gc.collect()

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
        self.critical = CRITICAL
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

    def input_pin(self, pin):
        """A GPIO input with its pull-up (tach, presence)."""
        return machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP)

    def adc(self, pin=None):
        """The ADC on a pin, or the RP2040's temperature channel (4) without one."""
        return machine.ADC(4 if pin is None else machine.Pin(pin))
