"""The board model: board files loaded, checked and turned into the firmware's config.

    from satmc.board import load_board
    board = load_board("pico")           # boards/pico.yaml, or a path
    board.config                          # the dict the firmware gets as board_config.CONFIG
    board.for_simulation()                # the same board with its pins wired to the virtual bus

A bad board file raises BoardFileError naming the field and the reason. The format is
documented in boards/README.md and published as boards/board.schema.json (generated
by `schema`, from the tables of this package). The package, floor by floor:

    parts       AT24 parts (sizes, pages) and sensor chips: data, imports nothing of satmc
    fields      the field checks every section uses (need, integer, only, milli, ...)
    mcu         what each MCU accepts (pins, I2C blocks, watchdog), each pin used once
    ipmb        the IPMB section and the private bus
    sensors     the sensors list (SDR conversion factors, raw thresholds)
    fru         the FRU section
    firewall    the firewall section (the Firmware Firewall's default policy)
    simulation  the sim section and the unix-port view of a board
    load        reading the file, the firmware config, Board
    contract    the firmware config's shape as data (checked by the tests)
    schema      the JSON Schema of the board file format

The firmware config (board_config.CONFIG) is a contract: every key below is present,
the host fills every default once, and the firmware indexes (config["key"]), never
re-defaults (`contract.CONFIG` is this list as data; tests check every board file):

    name, mcu, firmware_version              str
    ipmb          {address: int (8-bit), ga_pins: [pin], freq: int (Hz),
                   target: {block, scl, sda}, controller: {block, scl, sda}}
                   (no scl/sda where the port fixes the pins: stm32)
    private_bus   {scl: pin, sda: pin, freq: int} or None (no private bus)
    leds          {heartbeat: {pin, active_low: bool} or None}
    device        {device_id, device_revision, manufacturer_id, product_id: int,
                   aux_firmware_revision: [4 ints]}
    watchdog_ms   int (0: no watchdog)
    scan_period_ms int
    upgrade_deadline_ms int (an HPM.1 upgrade's new bundle serves and passes self test
                   within it, or the previous bundle comes back)
    fru           [{id, device: "at24", addr, size, page, addrsize, wp_pin: int or None}
                   or {id, device: "file", size, path}]         ([] without FRU)
    sensors       [{name, number, type, kind: "threshold" or "discrete", source,
                    period_ms, entity: [id, instance], unit (0 for discrete),
                    nominal: raw int or None}
                   + for threshold: lo_milli, res_milli, thresholds: [6 raw],
                    readable, settable (masks), hysteresis: [positive, negative]]
    source        {chip: "lm75", addr, bits} | {chip: "ina219"/"ina226", addr, measure,
                   shunt_milliohm} | {chip: "adc", pin, divider_milli} | {chip: "rp2temp"}
                   | {chip: "tach", pin, pulses_per_rev} | {chip: "gpio", pin, active_low}
    fru_locators  [{id, name}]
    firewall      [{channel, netfn, cmd: int, subfn: int or None}]: disabled at boot
                   (the Firmware Firewall's default policy; [] without one)
"""

from ..errors import BoardFileError
from .load import (
    BOARDS_DIR,
    FIRMWARE_DIR,
    REPO,
    Board,
    board_config,
    board_names,
    board_path,
    firmware_version,
    load_board,
)
from .mcu import MCUS

__all__ = [
    "BOARDS_DIR",
    "FIRMWARE_DIR",
    "MCUS",
    "REPO",
    "Board",
    "BoardFileError",
    "board_config",
    "board_names",
    "board_path",
    "firmware_version",
    "load_board",
]
