"""USB round trips per IPMB request on the FTDI path, measured on the FT232H twin.

One request: write the Get Device ID frame to the satellite, then read the response
back (a 1-byte length peek, then length + frame). "Stock" is pyftdi's I2cPort as it
comes; "batched" is satmc.transports.ftdi_batch. The satellite is given time to queue
its response before the readback (watched on the virtual bus, not over USB), so the
counts are per request exactly, without empty polls. The end-to-end figure goes
through the ftdi transport and python-ipmi, where the readback poller's empty polls
count too.

A round trip is a turnaround from OUT to IN transfers (see satmc/twin/ft232h.py).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pyftdi.i2c import I2cController
from satmc import twin
from satmc.sim.simulator import Simulator
from satmc.transports import connect
from satmc.transports.ftdi_batch import read_frame, write_frame
from satmc.vbus.client import BusController

URL = "ftdi://ftdi:232h/1"
SAT = 0x39
GET_DEVICE_ID = bytes.fromhex("1876200401DB")
REQUESTS = 20
TARGET_ROUND_TRIPS = 3


def _wait_for_response(peek: BusController) -> None:
    deadline = time.monotonic() + 2.0
    while peek.read(SAT, 1)[0] == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the satellite queued no response within 2 s")
        time.sleep(0.002)


def _stock(i2c: I2cController, peek: BusController) -> None:
    port = i2c.get_port(SAT)
    port.write(GET_DEVICE_ID)
    _wait_for_response(peek)
    n = port.read(1)[0]
    port.read(1 + n)


def _batched(i2c: I2cController, peek: BusController) -> None:
    write_frame(i2c, SAT, GET_DEVICE_ID)
    _wait_for_response(peek)
    n = read_frame(i2c, SAT, 1)[0]
    read_frame(i2c, SAT, 1 + n)


def _per_request(chip, request, i2c, peek) -> dict:
    chip.reset_counters()
    for _ in range(REQUESTS):
        request(i2c, peek)
    return {k: chip.counters[k] / REQUESTS for k in ("round_trips", "bulk_out", "bulk_in")}


def _end_to_end(sim: Simulator, chip, batched: bool) -> float:
    with connect(URL, address=sim.address, twin=sim.socket_path) as sat:
        sat.interface.batched = batched
        chip.reset_counters()
        for _ in range(REQUESTS):
            sat.raw(0x06, 0x01)
        return chip.counters["round_trips"] / REQUESTS


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-ftdi-") as d:
        sim = Simulator("sim", socket_path=str(Path(d) / "sim.sock"), build_dir=Path(d) / "build")
        sim.start()
        backend = twin.install(sim.socket_path)
        chip = backend.chip("SATMC01")
        peek = BusController(sim.socket_path, "ipmb", name="bench-peek")
        i2c = I2cController()
        try:
            i2c.configure(URL)
            stock = _per_request(chip, _stock, i2c, peek)
            batched = _per_request(chip, _batched, i2c, peek)
            i2c.close()
            e2e_stock = _end_to_end(sim, chip, batched=False)
            e2e_batched = _end_to_end(sim, chip, batched=True)
        finally:
            peek.close()
            twin.uninstall()
            sim.stop()
    ratio = stock["round_trips"] / batched["round_trips"]
    print(f"USB round trips per Get Device ID request + readback ({REQUESTS} requests):")
    for name, c in (("stock I2cPort", stock), ("batched", batched)):
        print(
            f"  {name:<14} {c['round_trips']:5.1f}   "
            f"(OUT {c['bulk_out']:.1f}, IN {c['bulk_in']:.1f} transfers)"
        )
    verdict = "ok" if batched["round_trips"] <= TARGET_ROUND_TRIPS else "MISSED"
    print(f"  ratio          {ratio:5.2f}x   (target: batched <= {TARGET_ROUND_TRIPS}: {verdict})")
    print(
        f"  end to end through the ftdi transport, readback polls included: "
        f"stock {e2e_stock:.1f}, batched {e2e_batched:.1f}"
    )
    return {
        "stock": stock,
        "batched": batched,
        "ratio": ratio,
        "end_to_end": {"stock": e2e_stock, "batched": e2e_batched},
    }
