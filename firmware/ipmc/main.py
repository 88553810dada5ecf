"""Boot: wire the board's I2C blocks to the IPMB link and serve until reset.

    import board_config
    from ipmc import main
    main.run(board_config.CONFIG)

The IPMB address comes from the board config (fixed, or read from geographic
address pins). I2C block `target` answers as a target; block `controller`, wired to
the same lines, writes responses and events to their destinations.
"""

import asyncio
import gc
import time

import machine
import micropython

from . import app, events, fru, sensors  # noqa: F401  (importing app registers the App commands)
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


def build(config):
    """Construct the controller and its link from the board config (no tasks yet)."""
    ipmb = config["ipmb"]
    config["ipmb"]["address"] = ipmb_address(ipmb)
    mc = MC(config)
    mc.guid = make_guid(machine.unique_id(), config["name"])
    t, c = ipmb["target"], ipmb["controller"]
    target = machine.I2CTarget(
        t["block"], mc.address >> 1, scl=machine.Pin(t["scl"]), sda=machine.Pin(t["sda"])
    )
    controller = machine.I2C(
        c["block"],
        scl=machine.Pin(c["scl"]),
        sda=machine.Pin(c["sda"]),
        freq=ipmb.get("freq", 100_000),
    )
    mc.link = IPMBLink(target, controller, mc.address, stats=mc.stats)
    fru.setup(mc, config)
    events.setup(mc, config)
    sensors.setup(mc, config)
    return mc


_RESET_GRACE_MS = 1000  # Cold Reset waits this long at most for its response to leave


async def _supervise(mc, wdt):
    while True:
        if wdt is not None:
            wdt.feed()
        if mc.reset_requested is not None:
            waited = time.ticks_diff(time.ticks_ms(), mc.reset_requested)
            if not mc.link.outbox.pending() or waited > _RESET_GRACE_MS:
                await asyncio.sleep_ms(20)
                machine.reset()
        await asyncio.sleep_ms(50)


async def serve(mc):
    mc.link.start(mc.handle_frame)
    events.start(mc)
    sensors.start(mc)
    if mc.config.get("serial_basic", True):
        import sys

        from .serial_basic import SerialBasic

        asyncio.create_task(SerialBasic(mc, sys.stdin.buffer, sys.stdout.buffer).serve())
    wdt_ms = mc.config.get("watchdog_ms") or 0
    wdt = machine.WDT(timeout=wdt_ms) if wdt_ms else None
    gc.collect()
    print("satmc: serving IPMB at 0x%02x" % mc.address)
    await _supervise(mc, wdt)


def run(config):
    if hasattr(micropython, "alloc_emergency_exception_buf"):  # not on the unix port
        micropython.alloc_emergency_exception_buf(100)
    mc = build(config)
    asyncio.run(serve(mc))
