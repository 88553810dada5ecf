"""The soak's mixed traffic, with heap, counters and latency sampled throughout.

    r = run(sim, seconds, sample_s=2.0, reset_s=60.0)   # dict: samples, epochs, problems

One BMC at 0x20 (answering every Platform Event) sends, at full rate, a weighted mix:
sensor readings, whole SDR walks, Read FRU Data (checked against the image: soak.hosts),
Write FRU Data (the image's own bytes written back, so the FRU stays as it was), and a
threshold crossing of Board Temp now and then (events); every `reset_s` a Cold Reset.
The run falls into epochs between resets (the firmware's counters start again at each
boot; the OEM statistics carry them as u32, and they stop at 2**30 - 2): each epoch
ends settled and its counter deltas must show no silent loss. Every `sample_s`: the
firmware's heap (OEM Get Heap Info), its counters, and the latency percentiles of the
calls in that window.

Heap "in use" on MicroPython includes garbage not yet collected (the unix port's bus
emulation makes plenty), so each sample asks Get Heap Info to collect first: "used" is
then the live heap, on every target alike (the emulated RP2040 collects too seldom for
falls to be seen). Heap growth is the rise of its median from the run's first third to
its last (resets restart the heap alike; a leak lifts it). Calls the bridge reports
failed (a timeout) are counted, not hidden; latency is of the single-request calls
(sensor readings, FRU reads).
"""

from __future__ import annotations

import random
import time

from satmc.errors import SatmcError
from satmc.eventlog import EventReceiver
from satmc.ipmi.client import (
    cold_reset,
    get_sensor_reading,
    read_counters,
    read_heap,
    write_fru_data,
)
from satmc.sensors import SensorClient
from satmc.sim.stimulus import set_values
from satmc.transports import wait_until_answering

from .hosts import Host, delivered, delta, outgoing, settled, silent_losses

MIX = (("sensor", 50), ("fru_read", 30), ("sdr_walk", 6), ("fru_write", 4), ("event", 2))
SENSORS = range(1, 8)


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * q))]


class Epoch:
    """From one boot (or the start) to the next Cold Reset."""

    def __init__(self, host: Host, t0: float):
        self.t0 = t0
        self.start = settled(host.sat)


def heap_growth(live: list[tuple[float, int]]) -> int | None:
    """Rise of the live heap's median from the first third of the run to the last."""
    f = [u for _, u in live]
    if len(f) < 3:
        return None
    third = len(f) // 3
    first, last = sorted(f[:third]), sorted(f[-third:])
    return last[len(last) // 2] - first[len(first) // 2]


def run(
    sim,
    seconds: float,
    sample_s: float = 2.0,
    reset_s: float = 60.0,
    seed: int = 1,
    sensors=SENSORS,
    timeout: float = 0.25,
):
    """Mixed traffic on `sim` (the simulator, or the emulated RP2040: its sensor numbers
    and a request timeout as slow as it runs)."""
    rng = random.Random(seed)
    host = Host("bmc", sim.url, sim.address, 0x20, timeout=timeout)
    receiver = EventReceiver(host.sat).start()
    kinds = [k for k, w in MIX for _ in range(w)]
    samples: list[dict] = []
    epochs: list[dict] = []
    problems: list[str] = []
    ops = {k: 0 for k, _ in MIX}
    ops["reset"] = 0
    t_start = time.monotonic()
    try:
        set_values(sim.url, "temp0", temperature=25)
        ep = Epoch(host, 0.0)
        window: list[float] = []
        live: list[tuple[float, int]] = []  # (t, heap in use just after a collection)
        failed = 0
        next_sample = time.monotonic() + sample_s
        next_reset = time.monotonic() + reset_s
        up = False
        i = 0
        sdr = SensorClient(host.sat)
        while (now := time.monotonic()) < t_start + seconds:
            kind = kinds[rng.randrange(len(kinds))]
            t0 = time.perf_counter()
            try:
                if kind == "sensor":
                    get_sensor_reading(host.sat, sensors[i % len(sensors)])
                elif kind == "fru_read":
                    count = 1 + i % 16
                    if not host.fru_read((i * 13) % (256 - count), count):
                        problems.append(f"FRU read failed: {host.errors[-1:]}")
                elif kind == "sdr_walk":
                    sdr.read_raw_records()
                elif kind == "fru_write":
                    off = rng.randrange(0, 248, 8)
                    write_fru_data(host.sat, 0, off, host.ref[off : off + 8])
                elif kind == "event":
                    up = not up
                    set_values(sim.url, "temp0", temperature=62 if up else 25)
            except SatmcError:
                failed += 1  # reported to the caller (a timeout), retried by the next call
            if kind in ("sensor", "fru_read"):
                window.append(time.perf_counter() - t0)
            ops[kind] += 1
            i += 1
            if now >= next_sample and window:
                heap = read_heap(host.sat, collect=True)
                c = read_counters(host.sat)
                t = round(now - t_start, 2)
                live.append((t, heap["used"]))
                samples.append(
                    {
                        "t": t,
                        "heap_used": heap["used"],
                        "heap_free": heap["free"],
                        "hot_alloc": heap["hot_alloc"],
                        "hot_frames": heap["hot_frames"],
                        "calls": len(window),
                        "p50_ms": round(1000 * pct(window, 0.5), 2),
                        "p99_ms": round(1000 * pct(window, 0.99), 2),
                        "in_flight": outgoing(c) - delivered(c),
                        "errors": c["handler_errors"] + c["task_errors"] + c["sensor_errors"],
                    }
                )
                window = []
                next_sample = now + sample_s
            if now >= next_reset:
                epochs.append(_close(host, ep, receiver, problems))
                booted = read_heap(host.sat)["hot_frames"]
                cold_reset(host.sat)
                ops["reset"] += 1
                if not _rebooted(host, booted):
                    problems.append("no answer within 60 s of a Cold Reset")
                    break
                ep = Epoch(host, round(time.monotonic() - t_start, 2))
                next_reset = time.monotonic() + reset_s
        set_values(sim.url, "temp0", temperature=25)
        epochs.append(_close(host, ep, receiver, problems))
    finally:
        receiver.stop()
        host.close()
    if host.counts["wrong"] or host.counts["stray"]:
        problems.append(f"responses to the wrong request: {host.counts}")
    took = time.monotonic() - t_start
    return {
        "seconds": round(took, 1),
        "ops": ops,
        "failed_calls": failed,
        "heap_live": live,
        "heap_growth": heap_growth(live),
        "rate": round(sum(ops.values()) / took, 1),
        "samples": samples,
        "epochs": epochs,
        "events_received": len(receiver.received),
        "problems": problems,
    }


def _rebooted(host: Host, handled: int, seconds: float = 60.0) -> bool:
    """After a Cold Reset: the new boot answers (its request count started again)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if wait_until_answering(host.sat, deadline - time.monotonic()):
            try:
                if read_heap(host.sat)["hot_frames"] < handled:
                    return True
            except SatmcError:
                pass
        time.sleep(0.05)
    return False


def _close(host: Host, ep: Epoch, receiver, problems: list[str]) -> dict:
    end = settled(host.sat)
    d = delta(ep.start, end)
    lost = silent_losses(d)
    problems += lost
    if d["sensor_errors"]:
        problems.append(f"sensor_errors +{d['sensor_errors']}")
    return {
        "from_s": ep.t0,
        "requests": d["requests"],
        "events_queued": d["events_queued"],
        "events_acked": d["events_acked"],
        "events_dropped": d["events_dropped"],
        "expired": d["expired"],
        "silent_losses": len(lost),
    }
