"""Random and mutated frames through the firmware's real receive path, on MicroPython.

    MICROPYPATH=firmware:tests/firmware:<machine> micropython fuzz/mpy_frames.py SEEDS N SEED

SEEDS is a file of frames (a length byte, then the frame without our address byte),
grown by atheris from fuzz/corpus. Each of N frames is a seed, mutated (bits flipped,
bytes inserted, cut or appended, checksums sometimes repaired) or wholly random, written
by the test target's IRQ sequence (the link's hard IRQ handler, its staging buffer and
receive ring) and handled by the link's own receive and send tasks (asyncio), which
answer by master write through a controller that accepts every write. The controller
is a board config with sensors (fixed readings) and a file-backed FRU.

Prints `HEAP <frames> <free bytes>` every SAMPLE frames (after gc.collect()) and, at
the end, `SUMMARY <json>` with the firmware's counters, what was written, and the
percentiles of the time from a frame's write to the tasks having answered it (latency_us,
the receive path and the master write on this host's CPU), so the host can check that
every frame is accounted for.
"""

import asyncio
import gc
import json
import random
import sys
import time

from fakes import CONFIG, CRITICAL, FakeController, FakeTarget, sensor_entry
from mutations import mutate, seeds

from ipmc import app, events, fru, sensor_setup  # noqa: F401
from ipmc.link import IPMBLink
from ipmc.mc import MC

SAMPLE = 10000
BUCKET_US = 10  # latency histogram: 10 us buckets up to 20 ms (the last one: beyond)


def board(tmp):
    c = dict(CONFIG)
    c["sensors"] = [
        sensor_entry(
            name="Temp",
            number=1,
            thresholds=[5, 0, 0, 60, 75, 90],
            readable=0x3F,
            settable=0x3F,
            hysteresis=[2, 2],
        ),
        sensor_entry(name="Volt", number=2, type=2, unit=4, thresholds=[0, 0, 0, 0, 0, 0]),
    ]
    mc = MC(c)
    mc.link = IPMBLink(
        FakeTarget(), FakeController(record=False), 0x72, critical=CRITICAL, stats=mc.stats
    )
    fru.setup(mc, [(0, fru.FileStore(tmp + "/fru0.bin", 256), 256)])
    events.setup(mc)
    sensor_setup.setup(mc, "fuzz", c["sensors"], [], lambda source: lambda: 25000)
    for s in mc.sensors.all:
        s.scan()
    mc.has_sensors = True
    return mc


async def run(mc, frames, n, r, hist):
    link = mc.link
    link.start(mc.handle_frame)
    target = link.target
    written = empty = 0
    for i in range(n):
        f = mutate(frames[r.getrandbits(16) % len(frames)], r)
        if not f:
            empty += 1
            continue
        t0 = time.ticks_us()
        target.controller_writes(f)
        written += 1
        await asyncio.sleep_ms(0)
        await asyncio.sleep_ms(0)
        b = time.ticks_diff(time.ticks_us(), t0) // BUCKET_US
        hist[b if b < len(hist) else len(hist) - 1] += 1
        if i % SAMPLE == 0:
            gc.collect()
            print("HEAP", i, gc.mem_free())
    for _ in range(20):  # let the tasks finish what is queued
        await asyncio.sleep_ms(1)
    return written


def _percentile(hist, q):
    total = sum(hist)
    want = q * total
    seen = 0
    for i in range(len(hist)):
        seen += hist[i]
        if seen >= want and hist[i]:
            return (i + 1) * BUCKET_US
    return len(hist) * BUCKET_US


def main():
    path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    r = random.Random(seed) if hasattr(random, "Random") else random
    if r is random:
        random.seed(seed)
    from ipmc import faults

    faults.quiet = True
    mc = board(sys.argv[4] if len(sys.argv) > 4 else "/tmp")
    gc.collect()
    free0 = gc.mem_free()
    hist = [0] * 2000
    written = asyncio.run(run(mc, seeds(path), n, r, hist))
    gc.collect()
    out = {name: mc.stats[name] for name in mc.stats.names()} if hasattr(mc.stats, "names") else {}
    if not out:
        from ipmc.counters import NAMES

        out = {name: mc.stats[name] for name in NAMES}
    out["written"] = written
    out["controller_writes"] = mc.link.controller.count
    out["pending"] = mc.link.outbox.pending()
    out["heap_free_start"] = free0
    out["heap_free_end"] = gc.mem_free()
    out["latency_us"] = {
        "p50": _percentile(hist, 0.5),
        "p99": _percentile(hist, 0.99),
        "max_bucket": _percentile(hist, 1.0),
    }
    print("SUMMARY", json.dumps(out))


main()
