"""Boot: wire the board's I2C blocks to the IPMB link and serve until reset.

    import board_config
    from ipmc import main
    main.run(board_config.CONFIG)

Every machine object comes from ipmc.wiring (unloaded after boot). The IPMB
address comes from the board config (fixed, or read from geographic
address pins). I2C block `target` answers as a target; block `controller`, wired to
the same lines, writes responses and events to their destinations. Blocks whose
pins the port fixes (stm32) have no scl/sda in the config. A heartbeat LED blinks
while the main loop runs.

Every long-lived task runs under faults.task: one that raises is counted (task_errors)
and started again. The main loop feeds the watchdog; a fault in it is counted too.
Ctrl-C on the serial line leaves to the REPL and prints the last fault, if any.
"""

import asyncio
import gc
import time

import micropython

# First: wiring imports machine (on the unix port a module compiled at import, which
# needs the heap in one piece); build() unloads wiring after boot.
from . import wiring

# isort: split
from . import app, faults, firewall, fru  # noqa: F401  (importing registers their commands)
from .link import IPMBLink
from .mc import MC


def make_guid(uid, name):
    """A stable 16-byte GUID from the chip's unique id and the board name: RFC 4122 version 5
    and variant bits, in IPMI's byte order (the RFC's 16 bytes reversed)."""
    try:
        import hashlib

        h = hashlib.sha256(b"satmc:" + uid + b":" + name.encode()).digest()
    except ImportError:
        h = (uid * 16)[:16]
    g = bytearray(h[:16])
    g[9] = (g[9] & 0x0F) | 0x50  # RFC byte 6: version 5
    g[7] = (g[7] & 0x3F) | 0x80  # RFC byte 8: variant 10b
    return bytes(g)


def build(config):
    """Construct the controller and its link from the board config (no tasks yet)."""
    w = wiring.Wiring(config)
    ipmb = config["ipmb"]
    ipmb["address"] = wiring.ipmb_address(ipmb)
    mc = MC(config)
    mc.guid = make_guid(wiring.unique_id(), config["name"])
    mc.reset = wiring.reset
    mc.link = IPMBLink(
        w.ipmb_target(mc.address),
        w.ipmb_controller(),
        mc.address,
        critical=wiring.CRITICAL,
        stats=mc.stats,
    )
    fru.setup(mc, [(e["id"], w.fru_store(e), e["size"]) for e in config["fru"]])
    if config["sensors"]:  # a board without sensors does without their code
        for name in ("sdr", "sensors", "events", "sdr_encode", "sensor_setup", "sensor_wiring"):
            gc.collect()  # each module's code gets the free heap in one piece
            __import__("ipmc." + name)
        from . import events, sensor_setup, sensor_wiring

        events.setup(mc)
        sensor_setup.setup(
            mc,
            config["name"],
            config["sensors"],
            config["fru_locators"],
            sensor_wiring.readers(w),
        )
        _unload("sensor_setup", "sdr_encode", "sensor_wiring")
    led = config["leds"]["heartbeat"]
    mc.heartbeat = None if led is None else wiring.led(led)
    mc.wdt = wiring.watchdog(config["watchdog_ms"])  # started last: serving begins right after
    # Sensors and FRU devices are objects now; their board-file text and the wiring can go.
    mc.has_sensors = bool(config.pop("sensors"))
    config.pop("fru")
    del w
    del globals()["wiring"]
    _unload("wiring")
    from . import hpm  # noqa: F401  (its commands; imported once boot-only code is freed)

    firewall.setup(mc, config["firewall"])  # every command is registered by now
    return mc


_RESET_GRACE_MS = 1000  # Cold Reset waits this long at most for its response to leave


async def _heartbeat(pin):
    """Toggle the LED every 500 ms: it blinks as long as the main loop runs."""
    while True:
        pin.toggle()
        await asyncio.sleep_ms(500)


def _unload(*names):
    """Drop boot-only modules of the package, so the GC takes their code back."""
    import sys

    import ipmc

    for name in names:
        sys.modules.pop("ipmc." + name, None)
        if hasattr(ipmc, name):
            delattr(ipmc, name)
    gc.collect()


async def _supervise(mc, wdt):
    while True:
        if wdt is not None:
            wdt.feed()
        try:
            if mc.reset_requested is not None:
                waited = time.ticks_diff(time.ticks_ms(), mc.reset_requested)
                if not mc.link.outbox.pending() or waited > _RESET_GRACE_MS:
                    await asyncio.sleep_ms(20)
                    mc.reset()
        except Exception as e:
            faults.caught(mc.stats, "task_errors", e)
        await asyncio.sleep_ms(50)


async def serve(mc):
    mc.link.start(mc.handle_frame)
    if mc.has_sensors:
        from . import events, sensors

        events.start(mc)
        sensors.start(mc)
    if mc.heartbeat is not None:
        faults.task(mc.stats, _heartbeat, mc.heartbeat)
    import sys

    from .serial_basic import SerialBasic  # loaded once build()'s boot-only code is freed

    faults.task(mc.stats, SerialBasic(mc, sys.stdin.buffer, sys.stdout.buffer).serve)
    gc.collect()
    print("satmc: serving IPMB at 0x%02x" % mc.address)
    from . import hpm

    hpm.serving(mc)  # a new bundle on trial after an upgrade stays, or the old one comes back
    await _supervise(mc, mc.wdt)


def run(config):
    if hasattr(micropython, "alloc_emergency_exception_buf"):  # not on the unix port
        micropython.alloc_emergency_exception_buf(100)
    mc = build(config)
    try:
        asyncio.run(serve(mc))
    except KeyboardInterrupt:
        if faults.last is not None:  # kept off the line while it spoke Serial Basic Mode
            print("satmc: the last fault caught (counted, see satmc stats):")
            faults.tell(faults.last)
        # Ctrl-C on the USB REPL (satmc flash does this): a started watchdog cannot be
        # stopped, so a timer keeps feeding it while someone works at the REPL.
        if mc.wdt is not None:
            from . import wiring  # unloaded after boot: imported again

            wiring.keep_feeding(mc.wdt, max(1, mc.config["watchdog_ms"] // 4))
        raise
