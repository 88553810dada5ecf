"""Boot: wire the board's I2C blocks to the IPMB link and serve until reset.

    import board_config
    from ipmc import main
    main.run(board_config.CONFIG)

The IPMB address comes from the board config (fixed, or read from geographic
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

import machine
import micropython

from . import app, faults, fru  # noqa: F401  (importing app registers the App commands)
from .link import IPMBLink
from .mc import MC


def ipmb_address(ipmb):
    """Fixed address, or base + value of the geographic address pins (LSB first)."""
    ga = ipmb.get("ga_pins")
    if not ga:
        return ipmb["address"]
    v = 0
    for i, p in enumerate(ga):
        if machine.Pin(p, machine.Pin.IN, machine.Pin.PULL_UP).value():
            v |= 1 << i
    return ipmb["address"] + 2 * v


def make_guid(uid, name):
    """A stable 16-byte GUID from the chip's unique id and the board name (RFC 4122 v5 bits)."""
    try:
        import hashlib

        h = hashlib.sha256(b"satmc:" + uid + b":" + name.encode()).digest()
    except ImportError:
        h = (uid * 16)[:16]
    g = bytearray(h[:16])
    g[6] = (g[6] & 0x0F) | 0x50
    g[8] = (g[8] & 0x3F) | 0x80
    return bytes(g)


def _pins(blk):
    """scl=/sda= keyword arguments of an I2C block: none where the port fixes them."""
    if "scl" not in blk:
        return {}
    return {"scl": machine.Pin(blk["scl"]), "sda": machine.Pin(blk["sda"])}


def build(config):
    """Construct the controller and its link from the board config (no tasks yet)."""
    ipmb = config["ipmb"]
    config["ipmb"]["address"] = ipmb_address(ipmb)
    mc = MC(config)
    mc.guid = make_guid(machine.unique_id(), config["name"])
    t, c = ipmb["target"], ipmb["controller"]
    target = machine.I2CTarget(t["block"], mc.address >> 1, **_pins(t))
    controller = machine.I2C(c["block"], freq=ipmb.get("freq", 100_000), **_pins(c))
    mc.link = IPMBLink(target, controller, mc.address, stats=mc.stats)
    fru.setup(mc, config)
    if config.get("sensors"):  # a board without sensors does without their code
        for name in ("sdr", "sensors", "events", "sdr_encode", "sensor_setup"):
            gc.collect()  # each module's code gets the free heap in one piece
            __import__("ipmc." + name)
        from . import events, sensor_setup

        events.setup(mc, config)
        sensor_setup.setup(mc, config)
        _unload("sensor_setup", "sdr_encode")
    # Sensors and FRU devices are objects now; their board-file text can go.
    mc.has_sensors = bool(config.pop("sensors", None))
    config.pop("fru", None)
    gc.collect()
    return mc


_RESET_GRACE_MS = 1000  # Cold Reset waits this long at most for its response to leave


async def _heartbeat(led):
    """Toggle the LED every 500 ms: it blinks as long as the main loop runs."""
    pin = machine.Pin(led["pin"], machine.Pin.OUT, value=led["active_low"])
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
                    machine.reset()
        except Exception as e:
            faults.caught(mc.stats, "task_errors", e)
        await asyncio.sleep_ms(50)


async def serve(mc):
    mc.link.start(mc.handle_frame)
    if mc.has_sensors:
        from . import events, sensors

        events.start(mc)
        sensors.start(mc)
    led = mc.config.get("leds", {}).get("heartbeat")
    if led:
        faults.task(mc.stats, _heartbeat, led)
    if mc.config.get("serial_basic", True):
        import sys

        from .serial_basic import SerialBasic

        faults.task(mc.stats, SerialBasic(mc, sys.stdin.buffer, sys.stdout.buffer).serve)
    wdt_ms = mc.config.get("watchdog_ms") or 0
    mc.wdt = machine.WDT(timeout=wdt_ms) if wdt_ms else None
    gc.collect()
    print("satmc: serving IPMB at 0x%02x" % mc.address)
    await _supervise(mc, mc.wdt)


def run(config):
    if hasattr(micropython, "alloc_emergency_exception_buf"):  # not on the unix port
        micropython.alloc_emergency_exception_buf(100)
    mc = build(config)
    mc.wdt = None
    try:
        asyncio.run(serve(mc))
    except KeyboardInterrupt:
        if faults.last is not None:  # kept off the line while it spoke Serial Basic Mode
            print("satmc: the last fault caught (counted, see satmc stats):")
            faults.tell(faults.last)
        # Ctrl-C on the USB REPL (satmc flash does this): a started watchdog cannot be
        # stopped, so a timer keeps feeding it while someone works at the REPL.
        if mc.wdt is not None:
            period = max(1, mc.config["watchdog_ms"] // 4)
            machine.Timer(period=period, callback=lambda t: mc.wdt.feed())
        raise
