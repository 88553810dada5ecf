"""The satellite's firmware under CPython, built from a board file, driven synchronously.

    fw = Firmware("sim", workdir)          # ipmc imported from firmware/, board's devices
    cc, data, frame = fw.request(frame)     # one IPMB frame through MC.answer()
    state = fw.state()                      # what a refused request must leave unchanged

Imports ipmc with fuzz/shims first on sys.path, so the firmware meets `micropython`
and `machine` as on a board. The time/gc/asyncio names MicroPython adds are put on
CPython's modules here (only in the process that fuzzes).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIMS = Path(__file__).resolve().parent / "shims"


def _micropython_names() -> None:
    t0 = time.monotonic_ns()
    time.ticks_ms = lambda: ((time.monotonic_ns() - t0) // 1_000_000) & 0x3FFFFFFF
    time.ticks_us = lambda: ((time.monotonic_ns() - t0) // 1000) & 0x3FFFFFFF
    time.ticks_add = lambda a, b: (a + b) & 0x3FFFFFFF
    time.ticks_diff = lambda a, b: ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000
    time.sleep_ms = lambda ms: time.sleep(ms / 1000)
    gc.mem_alloc = lambda: 0
    gc.mem_free = lambda: 1 << 20
    asyncio.sleep_ms = lambda ms: asyncio.sleep(ms / 1000)
    asyncio.ThreadSafeFlag = asyncio.Event
    sys.print_exception = lambda e, f=None: None


def import_firmware(instrument=None, firmware_dir=None):
    """Put the shims and firmware/ (or firmware_dir, e.g. a mutant's tree) on sys.path and
    import ipmc (inside `instrument`, a context manager such as atheris.instrument_imports(),
    when given)."""
    _micropython_names()
    for p in (str(firmware_dir or ROOT / "firmware"), str(SHIMS)):
        if p not in sys.path:
            sys.path.insert(0, p)
    import contextlib

    with instrument() if instrument else contextlib.nullcontext():
        import ipmc.app  # noqa: F401
        import ipmc.events  # noqa: F401
        import ipmc.fru  # noqa: F401
        import ipmc.main  # noqa: F401
        import ipmc.sdr  # noqa: F401
        import ipmc.sdr_encode  # noqa: F401
        import ipmc.sensor_setup  # noqa: F401
        import ipmc.sensor_wiring  # noqa: F401
        import ipmc.sensors  # noqa: F401
        import ipmc.serial_basic  # noqa: F401


class _Link:
    """What MC needs of its link when requests are driven by hand: the outbox."""

    def __init__(self, critical):
        from ipmc.link import Outbox

        self.outbox = Outbox(8, critical)

    def queued(self, i):
        return None


class Firmware:
    def __init__(self, board: str = "sim", workdir: str | Path = "."):
        import_firmware()
        import machine

        from satmc.board import load_board
        from satmc.board.fru import sources
        from satmc.fru.image import build
        from satmc.vbus import devices

        b = load_board(board).for_simulation()
        self.board = b
        machine.models[:] = []
        for entry in b.sim.get("devices") or []:
            bus, addr, _, model = devices.create(entry)
            machine.models.append((bus, addr, model))
        config = _deepcopy(b.config)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        images = sources(b)
        for e in config["fru"]:  # FRU images as the bundle and the simulator place them
            image = build(b, e["id"]) if images[e["id"]] is not None else None
            if e["device"] == "file":
                e["path"] = str(workdir / os.path.basename(e["path"]))
                Path(e["path"]).write_bytes(((image or b"") + b"\xff" * e["size"])[: e["size"]])
            elif image is not None:
                for _, addr, m in machine.models:
                    if addr == e["addr"] and hasattr(m, "mem"):
                        m.mem[: len(image)] = image
        self.mc = self._build(config, workdir)

    def _build(self, config, workdir):
        from ipmc import firewall, fru, main, wiring
        from ipmc.ipmb import Request, Response
        from ipmc.mc import MC

        w = wiring.Wiring(config)
        mc = MC(config)
        mc.link = _Link(wiring.CRITICAL)
        fru._devices[:] = []
        fru.setup(mc, [(e["id"], w.fru_store(e), e["size"]) for e in config["fru"]])
        if config["sensors"]:
            from ipmc import events, sensor_setup, sensor_wiring

            events.setup(mc)
            sensor_setup.setup(
                mc,
                config["name"],
                config["sensors"],
                config["fru_locators"],
                sensor_wiring.readers(w),
            )
            for s in mc.sensors.all:  # one scan each, as the scan tasks would
                s.scan()
        firewall.setup(mc, config["firewall"], str(workdir / "firewall.pol"))  # kept there
        mc.has_sensors = bool(config["sensors"])
        mc.heartbeat = None
        mc.wdt = None
        mc.reset = lambda: None
        del main
        self._rq = Request()
        self._rs = Response()
        return mc

    def request(self, frame: bytes) -> bytes | None:
        """One frame (rsSA first) through MC.answer(); the response frame, or None."""
        rq = self._rq
        n = min(len(frame), rq.capacity + 1)
        rq.buf[:n] = frame[:n]
        rq.length = len(frame)
        if rq.length > rq.capacity:
            rq.length = rq.capacity + 1  # as the link drops an overlong write
        k = self.mc.answer(rq, self._rs)
        return bytes(self._rs.buf[:k]) if k else None

    def state(self) -> tuple:
        """Everything a command may change, as plain values."""
        return snapshot(self.mc)


def _deepcopy(x):
    import copy

    return copy.deepcopy(x)


def snapshot(mc) -> tuple:
    from ipmc import fru

    parts = []
    sensors = getattr(mc, "sensors", None)
    if sensors is not None:
        for s in sensors.all:
            parts.append(
                (
                    s.number,
                    bytes(s.thr),
                    s.hyst_pos,
                    s.hyst_neg,
                    s.assert_en,
                    s.deassert_en,
                    s.scanning,
                    s.events_on,
                    s.asserted_events,
                    s.deasserted_events,
                    bytes(s.record or b""),
                )
            )
    ev = getattr(mc, "events", None)
    if ev is not None:
        parts.append(("receiver", ev.receiver, ev.receiver_lun))
    for d in fru._devices:
        parts.append(("fru", d.id, d.status, _fru_bytes(d)))
    parts.append(("reset", mc.reset_requested is not None))
    return tuple(parts)


def _fru_bytes(dev) -> bytes:
    """What the device holds (the EEPROM model's memory, or the file) and the copy the
    firmware keeps; read beside the bus, so an EEPROM's write cycle does not show."""
    import machine

    store = dev.store
    held = b""
    if hasattr(store, "path"):
        with open(store.path, "rb") as f:
            held = f.read()
    else:
        for _, addr, m in machine.models:
            if addr == store.addr and hasattr(m, "mem"):
                held = bytes(m.mem)
    return held + bytes(dev.image)
