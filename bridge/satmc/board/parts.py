"""Part tables: what the board file may name as a FRU EEPROM or a sensor source.

    from satmc.board.parts import AT24_PARTS, SENSOR_CHIPS
    AT24_PARTS["at24c02"]        # (256, 8): memory bytes, page bytes
    SENSOR_CHIPS["lm75"]         # ("addr",): the source fields the chip needs

Plain data on the lowest floor: this module imports nothing of satmc, so the board
model and the simulator's device models (vbus/devices/) both read it from here.
"""

# AT24 part -> (memory bytes, page bytes)
AT24_PARTS = {
    "at24c01": (128, 8),
    "at24c02": (256, 8),
    "at24c32": (4096, 32),
    "at24c64": (8192, 32),
    "at24c128": (16384, 64),
    "at24c256": (32768, 64),
    "at24c512": (65536, 128),
}


def at24_addrsize(size: int) -> int:
    """Memory address bits an AT24 of `size` bytes expects: 8 up to 256 bytes, 16 above."""
    return 8 if size <= 256 else 16


# sensor chip -> the `source` fields it needs
SENSOR_CHIPS = {
    "lm75": ("addr",),
    "ina219": ("addr", "measure"),
    "ina226": ("addr", "measure"),
    "adc": ("pin",),
    "rp2temp": (),
    "tach": ("pin",),
    "gpio": ("pin",),
}
I2C_CHIPS = ("lm75", "ina219", "ina226")  # on the board's private bus
POWER_MONITORS = ("ina219", "ina226")
DISCRETE_CHIPS = ("gpio",)  # read as a presence (discrete) sensor
