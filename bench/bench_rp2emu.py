"""The firmware on the real port: the official MicroPython rp2 image on the emulated RP2040.

Per RP2040 board with a simulation (pico, pico_sim), once its bundle is deployed with
`satmc flash` onto a blank emulated board: heap free after boot and while serving (Get
Heap Info, the firmware's own gc figures), heap bytes per request on the hot paths
(target 0; the first Get Heap Info arms the measurement on rp2, so the turnarounds are
timed before it), and the firmware's
turnaround in emulated microseconds at 125 MHz (the runner times a request's STOP to the
START of its response on I2C1): with it, the share of the 100 kHz wire limit a real
RP2040 would reach answering back to back (target >= 0.8, as the paced bus). Emulated
time is the emulator's instruction timing, close to but not the chip's (README.md).
Skipped, with the reason, without RP2_UF2/RP2_BOOTROM or Node.js.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench import verdict
from satmc.board import load_board
from satmc.flash import flash
from satmc.ipmi.client import read_heap
from satmc.ipmi.codes import CMD_GET_SENSOR_READING, NETFN_SENSOR
from satmc.ports import rp2emu
from satmc.resources import build_root
from satmc.sim.rp2emu import TIME_FACTOR, Rp2emuSimulator, provision
from satmc.transports import connect
from satmc.vbus import wire

BOARDS = ("pico", "pico_sim")
REQUESTS = 20
WIRE_RATIO_TARGET = 0.8
IPMB_OVERHEAD = 7  # rsSA netFn/LUN cs1 rqSA seq/LUN cmd cs2 (+ cc in a response)


def wire_us(n_bytes: int, freq: int) -> float:
    """One transfer of n bytes after the address byte, START to STOP, in microseconds."""
    bits = wire.BIT_START + (n_bytes + 1) * wire.BITS_PER_BYTE + wire.BIT_STOP
    return bits * 1e6 / freq


def _turnaround(sim, sat, call, n: int) -> float | None:
    before = len(sim.runner_stats().get("turnaround_us", []))
    for _ in range(n):
        call(sat)
    got = sim.runner_stats().get("turnaround_us", [])
    new = got[before:] if len(got) > before else got[-n:]
    return statistics.median(new) if new else None


def _board(name: str, tmp: Path) -> None:
    board = load_board(name)
    cache = build_root() / name / "rp2emu"

    def deploy(sim):
        flash(board, port=sim.serial.pty_path, timeout=20 * TIME_FACTOR)

    image = provision(board, cache, deploy)
    sim = Rp2emuSimulator(
        board, image=image, socket_path=str(tmp / f"{name}.sock"), build_dir=tmp / name
    )
    sim.start(timeout=30 * TIME_FACTOR)
    freq = board.config["ipmb"]["freq"]
    try:
        with connect(sim.url, address=sim.address, timeout=0.25 * TIME_FACTOR) as sat:

            def device_id(s):
                s.call(0x06, 0x01, what="Get Device ID")

            def reading(s):
                s.call(NETFN_SENSOR, CMD_GET_SENSOR_READING, b"\x01", what="Get Sensor Reading")

            paths = [("Get Device ID", device_id, 15)]
            if board.config["sensors"]:
                paths.append(("Get Sensor Reading", reading, 4))
            # turnarounds first: the first Get Heap Info arms the heap measurement on rp2,
            # which then costs every request two heap walks
            for what, call, rsp_data in paths:
                turn = _turnaround(sim, sat, call, REQUESTS)
                if turn is None:
                    print(f"{name}: {what} turnaround: not measured  {verdict(False)}")
                    continue
                rq = wire_us(IPMB_OVERHEAD - 1 + (1 if what != "Get Device ID" else 0), freq)
                rs = wire_us(IPMB_OVERHEAD + rsp_data, freq)
                ratio = (rq + rs) / (rq + rs + turn)
                print(
                    f"{name}: {what} turnaround {turn:.0f} us emulated at 125 MHz; "
                    f"back to back {ratio:.2f} of the {freq // 1000} kHz wire limit "
                    f"(target >= {WIRE_RATIO_TARGET})  {verdict(ratio >= WIRE_RATIO_TARGET)}"
                )
            boot = read_heap(sat)  # arms the measurement
            print(f"{name}: heap free after boot {boot['free']} bytes, used {boot['used']}")
            for what, call, _ in paths:
                h0 = read_heap(sat)
                for _ in range(REQUESTS):
                    call(sat)
                h1 = read_heap(sat)
                frames = max(1, h1["hot_frames"] - h0["hot_frames"] - 1)
                per = (h1["hot_alloc"] - h0["hot_alloc"]) / frames
                print(f"{name}: heap per {what}: {per:.1f} bytes  {verdict(per == 0)}")
            serving = read_heap(sat)
            print(f"{name}: heap free while serving {serving['free']} bytes")
        stats = sim.runner_stats()
        print(
            f"{name}: emulator {stats.get('cycles_per_s', 0) / 1e6:.1f} M cycles per wall "
            f"second ({stats.get('cycles_per_s', 0) / 125e6:.0%} of 125 MHz)"
        )
    finally:
        sim.stop()


def run() -> None:
    why = rp2emu.missing()
    if why:
        print(f"skipped: {why}")
        return
    with tempfile.TemporaryDirectory(prefix="satmc-bench-rp2emu-") as tmp:
        for name in BOARDS:
            _board(name, Path(tmp))
