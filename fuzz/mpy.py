"""Run fuzz/mpy_frames.py on the MicroPython unix port and check its accounting.

result = run_frames(n, seed, workdir)   # dict: counters, heap samples, problems
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_frames(n: int, seed: int, workdir: Path, timeout: float = 3600) -> dict:
    from satmc.ports import unix
    from satmc.sim.simulator import micropython_exe

    workdir.mkdir(parents=True, exist_ok=True)
    seeds = workdir / "seeds.bin"
    subprocess.run([sys.executable, "-m", "fuzz.seeds", str(seeds)], cwd=ROOT, check=True)
    env = dict(os.environ)
    env["MICROPYPATH"] = (
        f"{ROOT / 'firmware'}:{ROOT / 'tests' / 'firmware'}:{unix.machine_path()}:.frozen"
    )
    script = ROOT / "fuzz" / "mpy_frames.py"
    cmd = [micropython_exe(), "-X", "heapsize=2M", str(script), str(seeds), str(n), str(seed)]
    r = subprocess.run(
        [*cmd, str(workdir)], capture_output=True, text=True, timeout=timeout, env=env
    )
    heap = []
    summary = None
    for line in r.stdout.splitlines():
        if line.startswith("HEAP "):
            _, i, free = line.split()
            heap.append((int(i), int(free)))
        elif line.startswith("SUMMARY "):
            summary = json.loads(line[8:])
    result = {"frames": n, "seed": seed, "heap": heap, "counters": summary, "problems": []}
    if r.returncode != 0 or summary is None:
        result["problems"].append(f"exit {r.returncode}: {(r.stdout + r.stderr)[-2000:]}")
        return result
    result["problems"] += accounting_problems(summary)
    grew = heap_growth(heap)
    if grew > HEAP_SLACK:
        result["problems"].append(f"heap in use grew {grew} bytes over the run")
    return result


HEAP_SLACK = 64  # bytes: the receive path makes no garbage; a leak grows past this


def heap_growth(heap: list[tuple[int, int]]) -> int:
    """Bytes of heap lost between the first sample after warm-up and the last."""
    if len(heap) < 3:
        return 0
    return heap[1][1] - heap[-1][1]


def accounting_problems(c: dict) -> list[str]:
    """Every frame written is received or counted oversize; every received frame is dropped
    with a counter or answered; every answer is delivered, counted lost, or still queued."""
    out = []
    if c["written"] != c["frames_in"] + c["oversize"] + c["rx_overflow"]:
        out.append(f"written {c['written']} != frames_in + oversize + rx_overflow")
    if c["requests"] != c["sent"] + c["outbox_full"] + c["pending"] + c["send_failed"]:
        out.append("requests != sent + outbox_full + pending + send_failed")
    return out + received_problems(c)


def received_problems(c: dict) -> list[str]:
    """The receive side's rules, for counters (or their deltas over an interval) read from
    any firmware: every received frame is dropped with a counter, dispatched, or is the
    answer to one of our events (at least one per event acknowledged, at most one per
    event frame sent); no handler or task fault was absorbed (soak/ uses these too)."""
    out = []
    answers = c["frames_in"] - c["malformed"] - c["not_for_us"] - c["requests"]
    if (
        not c.get("events_acked", 0)
        <= answers
        <= c.get("events_sent", 0) + c.get("events_retried", 0)
    ):
        out.append(f"frames_in != malformed + not_for_us + requests + event answers ({answers})")
    for k in ("handler_errors", "task_errors"):
        if c[k]:
            out.append(f"{k} = {c[k]}")
    return out
