"""USB round trips per IPMB request on the FTDI path, measured on the FT232H twin.

One request: write the Get Device ID frame to the satellite, then read the response
back (a 1-byte length peek, then length + frame + one byte, which delivers it).
"Stock" is pyftdi's I2cPort as it comes; "batched" is satmc.transports.ftdi_batch.
Per request counts the write and the readback that got the frame; peeks that came
before the satellite offered it are reported apart ("early peeks"). The end-to-end
figure goes through the ftdi transport and python-ipmi, where the readback poller's
empty polls count too.

A round trip is a turnaround from OUT to IN transfers (see satmc/twin/ft232h.py).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pyftdi.i2c import I2cController

from bench import verdict
from satmc import twin
from satmc.ipmi.codes import CMD_GET_DEVICE_ID, NETFN_APP
from satmc.sim.simulator import Simulator
from satmc.transports import connect
from satmc.transports.ftdi_batch import read_frame, write_frame

URL = "ftdi://ftdi:232h/1"
SAT = 0x39
GET_DEVICE_ID = bytes.fromhex("1876200401DB")
REQUESTS = 20
TARGET_ROUND_TRIPS = 3
KEYS = ("round_trips", "bulk_out", "bulk_in")


def _fetch(chip, read) -> tuple[dict, int]:
    """Peek, then read the whole frame, until that works; the USB counts of the
    successful peek + read, and how many tries came too early (a frame is not offered
    while the satellite makes its master-write attempt)."""
    early = 0
    while True:
        before = dict(chip.counters)
        n = read(1)[0]
        if n and read(2 + n)[0] == n:
            return {k: chip.counters[k] - before[k] for k in KEYS}, early
        early += 1
        time.sleep(0.002)


def _per_request(chip, write, read) -> dict:
    total = dict.fromkeys(KEYS, 0)
    early = 0
    for _ in range(REQUESTS):
        chip.reset_counters()
        write()
        used = {k: chip.counters[k] for k in KEYS}
        fetched, tries = _fetch(chip, read)
        early += tries
        for k in KEYS:
            total[k] += used[k] + fetched[k]
    return {**{k: v / REQUESTS for k, v in total.items()}, "early_peeks": early}


def _end_to_end(sim: Simulator, chip, batched: bool) -> float:
    with connect(URL, address=sim.address, twin=sim.socket_path) as sat:
        sat.interface.batched = batched
        chip.reset_counters()
        for _ in range(REQUESTS):
            sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)
        return chip.counters["round_trips"] / REQUESTS


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-ftdi-") as d:
        sim = Simulator("sim", socket_path=str(Path(d) / "sim.sock"), build_dir=Path(d) / "build")
        sim.start()
        backend = twin.install(sim.socket_path)
        chip = backend.chip("SATMC01")
        i2c = I2cController()
        try:
            i2c.configure(URL, clockstretching=True)  # AD7 on SCL, as the wiring says
            port = i2c.get_port(SAT)
            stock = _per_request(
                chip, lambda: port.write(GET_DEVICE_ID), lambda n: bytes(port.read(n))
            )
            batched = _per_request(
                chip,
                lambda: write_frame(i2c, SAT, GET_DEVICE_ID),
                lambda n: read_frame(i2c, SAT, n),
            )
            i2c.close()
            e2e_stock = _end_to_end(sim, chip, batched=False)
            e2e_batched = _end_to_end(sim, chip, batched=True)
        finally:
            twin.uninstall()
            sim.stop()
    ratio = stock["round_trips"] / batched["round_trips"]
    print(f"USB round trips per Get Device ID request + readback ({REQUESTS} requests):")
    for name, c in (("stock I2cPort", stock), ("batched", batched)):
        print(
            f"  {name:<14} {c['round_trips']:5.1f}   "
            f"(OUT {c['bulk_out']:.1f}, IN {c['bulk_in']:.1f} transfers; "
            f"{c['early_peeks']} early peeks not counted)"
        )
    met = verdict(batched["round_trips"] <= TARGET_ROUND_TRIPS)
    print(f"  ratio          {ratio:5.2f}x   (target: batched <= {TARGET_ROUND_TRIPS}: {met})")
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
