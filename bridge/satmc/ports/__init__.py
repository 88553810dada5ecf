"""The ways a firmware meets the virtual bus, side by side (the bus itself: satmc.vbus).

    unix/     MicroPython's unix port: `machine` (I2C, SoftI2C, I2CTarget, Pin, ADC, WDT, ...)
              emulated in MicroPython over the bus socket; satmc.sim runs the firmware on it
    rp2emu/   (next) the official rp2 MicroPython image on an emulated RP2040 (Node.js),
              its I2C blocks bridged to the bus socket by an I2C target extension

Every port speaks the protocol of satmc.vbus.wire; a port written in another language
reads its numbers from a wire.json in its folder (see satmc.vbus.wire), and
tests/test_wire.py keeps every port on the same constants. A port imports the bus
package only; the orchestration (which port runs which firmware) lives in satmc.sim.
"""
