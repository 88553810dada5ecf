"""Two slave-capable BMCs (0x20, 0x22) and a master-only host (0x24, readback) on one
simulated IPMB, each sending Read FRU Data as fast as it is answered.

    r = run(sim, seconds)      # dict: per-host counts, counter deltas, problems

Afterwards (the firmware settled): every request frame any host wrote was dispatched
once (firmware `requests` == frames written), every response frame reached the host
that asked and carried the answer to that very request (soak.hosts), every call was
answered, and the counters show no silent loss.
"""

from __future__ import annotations

import threading
import time

from satmc.ipmi.client import set_event_receiver

from .hosts import Host, delta, settled, silent_losses

HOSTS = (("bmc-a", 0x20, False), ("bmc-b", 0x22, False), ("readback", 0x24, True))


def _drive(host: Host, index: int, until: float) -> None:
    # each host its own counts (1..5, 6..10, 11..15): an answer to another host's
    # request could not pass for one of its own
    i = 0
    while time.monotonic() < until:
        count = 1 + index * 5 + i % 5
        host.fru_read((i * 7) % (256 - count), count)
        i += 1


def run(sim, seconds: float) -> dict:
    hosts = [Host(n, sim.url, sim.address, a, rb) for n, a, rb in HOSTS]
    try:
        ctl = hosts[0].sat
        set_event_receiver(ctl, 0xFF)  # no events: only requests and responses
        before = settled(ctl)
        until = time.monotonic() + seconds
        threads = [
            threading.Thread(target=_drive, args=(h, i, until), daemon=True)
            for i, h in enumerate(hosts)
        ]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 120)
        took = time.monotonic() - t0
        after = settled(ctl)
        set_event_receiver(ctl, 0x20)
    finally:
        for h in hosts:
            h.close()
    d = delta(before, after)
    problems = silent_losses(d)
    written = sum(h.counts["req_frames"] for h in hosts)
    received = sum(h.counts["rsp_frames"] for h in hosts)
    # the statistics reads themselves: the settled() reads after `before` (STATISTICS_PAGES each)
    ours = d["requests"] - written
    if d["malformed"] or d["not_for_us"]:
        problems.append(f"requests dropped on the way in: {d}")
    if d["expired"]:
        problems.append(f"{d['expired']} responses expired: a host never collected them")
    for h in hosts:
        problems += h.errors[:5]
        if h.counts["calls"] != h.counts["ok"] + h.counts["busy"]:
            problems.append(f"{h.name}: {h.counts['calls'] - h.counts['ok']} calls unanswered")
    if received + ours != d["sent"] + d["read_back"]:
        problems.append(
            f"hosts received {received} FRU responses, the firmware delivered "
            f"{d['sent'] + d['read_back'] - ours}"
        )
    return {
        "seconds": round(took, 1),
        "hosts": {
            h.name: {**h.counts, "rate": round(h.counts["ok"] / took, 1), **_pcts(h.latency)}
            for h in hosts
        },
        "requests": d["requests"],
        "frames_written": written,
        "counters": d,
        "problems": problems,
    }


def _pcts(lat: list[float]) -> dict:
    if not lat:
        return {}
    s = sorted(lat)
    return {
        "p50_ms": round(1000 * s[len(s) // 2], 2),
        "p99_ms": round(1000 * s[min(len(s) - 1, int(len(s) * 0.99))], 2),
    }
