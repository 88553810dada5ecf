"""`make fuzz`: the long form of the fuzzing campaign, with a JSON summary and a plot.

    python -m fuzz [--seconds S] [--frames N] [--rp2emu-seconds R] [--seed K] [--out DIR]

1. atheris, S seconds per target (ipmb, fru, board, chassis, serial, users, bmc), each
   from its corpus in fuzz/corpus (copied: the repository's corpus stays small). Findings (crash-*,
   timeout-* for a hang) are kept under DIR/findings/<target>/.
2. N random and mutated frames (default 1,000,000) through the firmware's real receive
   path on the MicroPython unix port, with heap sampled every 10,000 frames and every
   frame accounted for.
3. The rp2emu slice: the same generator through the emulated RP2040's real I2C target
   path (the official MicroPython rp2 image; fuzz.rp2emu) for R seconds, with the same
   accounting and the rate printed; skipped, with the reason, where rp2emu cannot run.
Writes DIR/summary.json and DIR/fuzz.png (heap over the run, latency percentiles) and
prints the headline figures; exits 1 when anything was found.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {  # name -> module args
    "ipmb": ["fuzz.ipmb_target"],
    "fru": ["fuzz.host_target", "fru"],
    "board": ["fuzz.host_target", "board"],
    "chassis": ["fuzz.host_target", "chassis"],
    "serial": ["fuzz.host_target", "serial"],
    "users": ["fuzz.host_target", "users"],
    "bmc": ["fuzz.host_target", "bmc"],
}


def run_atheris(name: str, seconds: int, out: Path) -> dict:
    corpus = out / "corpus" / name
    findings = out / "findings" / name
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(ROOT / "fuzz" / "corpus" / name, corpus)
    shutil.rmtree(findings, ignore_errors=True)  # an earlier run's are not this run's
    findings.mkdir(parents=True)
    cmd = [sys.executable, "-m", *TARGETS[name], f"-max_total_time={seconds}", "-timeout=5"]
    cmd += ["-max_len=2048" if name != "ipmb" else "-max_len=40"]
    cmd += [f"-artifact_prefix={findings}/", str(corpus)]
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 300)
    runs = re.findall(r"Done (\d+) runs", r.stderr + r.stdout)
    crashes = sorted(p.name for p in findings.glob("crash-*"))
    hangs = sorted(p.name for p in findings.glob("timeout-*"))
    log = r.stdout + r.stderr  # atheris prints the exception on stdout, libFuzzer on stderr
    if r.returncode:
        (findings / "atheris.log").write_text(log)
    at = log.find("=== Uncaught Python exception")
    return {
        "target": name,
        "seconds": round(time.monotonic() - t0, 1),
        "runs": int(runs[-1]) if runs else None,
        "crashes": crashes,
        "hangs": hangs,
        "corpus": len(list(corpus.iterdir())),
        "exit": r.returncode,
        "tail": (log[at : at + 1500] if at >= 0 else log[-1500:]) if r.returncode else "",
    }


def run_rp2emu(seconds: int, seed: int, out: Path) -> dict:
    """The rp2emu slice for `seconds` on a board flashed once (kept in DIR/rp2emu-cache)."""
    from satmc.ports import rp2emu

    missing = rp2emu.missing()
    if not seconds or missing:
        why = missing or "--rp2emu-seconds 0"
        print(f"rp2emu slice skipped: {why}")
        return {"skipped": why}
    from fuzz.rp2emu import flashed_image, run_slice
    from fuzz.seeds import write_seeds
    from satmc.sim.rp2emu import Rp2emuSimulator

    work = out / "rp2emu"
    work.mkdir(parents=True, exist_ok=True)
    write_seeds(work / "seeds.bin")
    image = flashed_image(out / "rp2emu-cache")
    sim = Rp2emuSimulator(
        "pico_sim", image=image, socket_path=str(work / "sim.sock"), build_dir=work / "b"
    )
    if (work / "b").exists():
        shutil.rmtree(work / "b")
    sim.start()
    try:
        r = run_slice(
            sim.socket_path,
            work / "seeds.bin",
            seconds=seconds,
            seed=seed,
            timeout=0.25 * sim.time_factor,
        )
    finally:
        sim.stop()
    c, h = r["counters"], r["heap"]
    if not c:
        print(f"rp2emu {r['frames']:,} frames in {r['seconds']:.0f} s: {r['problems'][0]}")
        return r
    print(
        f"rp2emu {r['frames']:,} frames in {r['seconds']:.0f} s ({r['rate']} frames/s): "
        f"{c['requests']:,} answered, {c['malformed'] + c['not_for_us'] + c['oversize']:,} "
        f"dropped and counted, {r['skipped']} left out (resets, firewall, HPM, self-addressed), "
        f"problems {len(r['problems'])}, heap used {h['before']['used']:,} -> "
        f"{h['after']['used']:,} B (free {h['before']['free']:,} -> {h['after']['free']:,})"
    )
    for p in r["problems"]:
        print("  problem:", p)
    return r


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mpy = summary["micropython"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    if mpy["heap"]:
        xs, free = zip(*mpy["heap"], strict=True)
        a.plot(xs, [(free[0] - f) for f in free], marker=".")
    a.set_xlabel("frames")
    a.set_ylabel("heap used since the first sample (bytes)")
    a.set_title("MicroPython unix port: heap over the run")
    lat = (mpy.get("counters") or {}).get("latency_us") or {}
    b.bar(["p50", "p99"], [lat.get("p50", 0), lat.get("p99", 0)])
    b.set_ylabel("microseconds")
    b.set_title("frame written -> answered (host CPU)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make fuzz", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=60, help="atheris time per target")
    ap.add_argument("--frames", type=int, default=1_000_000, help="frames on MicroPython")
    ap.add_argument("--rp2emu-seconds", type=int, default=180, help="rp2emu slice (0: none)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "fuzz")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from fuzz.mpy import heap_growth, run_frames

    summary = {"atheris": [], "micropython": None}
    for name in TARGETS:
        r = run_atheris(name, a.seconds, a.out)
        summary["atheris"].append(r)
        print(
            f"atheris {name:7} {r['runs'] or 0:>10,} runs in {r['seconds']:6.0f} s, "
            f"{len(r['crashes'])} crashes, {len(r['hangs'])} hangs, corpus {r['corpus']}"
        )
    t0 = time.monotonic()
    m = run_frames(a.frames, a.seed, a.out / "micropython")
    m["seconds"] = round(time.monotonic() - t0, 1)
    summary["micropython"] = m
    c = m["counters"] or {}
    lost = len(m["problems"])
    lat = c.get("latency_us", {})
    print(
        f"micropython {a.frames:,} frames in {m['seconds']:.0f} s: "
        f"{c.get('requests', 0):,} answered, "
        f"{c.get('malformed', 0) + c.get('not_for_us', 0) + c.get('oversize', 0):,} dropped "
        f"and counted, silent losses/problems {lost}, heap growth {heap_growth(m['heap'])} B, "
        f"latency p50 {lat.get('p50', '?')} us p99 {lat.get('p99', '?')} us"
    )
    for p in m["problems"]:
        print("  problem:", p)
    summary["rp2emu"] = rp = run_rp2emu(a.rp2emu_seconds, a.seed, a.out)
    lost += len(rp.get("problems", []))
    found = sum(len(r["crashes"]) + len(r["hangs"]) for r in summary["atheris"]) + lost
    summary["found"] = found
    (a.out / "summary.json").write_text(json.dumps(summary, indent=1))
    plot(summary, a.out / "fuzz.png")
    print(f"summary: {a.out / 'summary.json'}, plot: {a.out / 'fuzz.png'}")
    print("fuzz:", "ok" if not found else f"MISSED ({found} findings)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
