"""`make soak`: contention, the fault matrix at full load, the chassis event storm under
that matrix, and mixed traffic, on the simulator, for DURATION; a JSON summary, a plot,
and the headline figures.

    python -m soak [--duration 1h] [--seed K] [--out DIR] [--no-storm] [--target rp2emu]

The time is shared: 15% contention (soak.contention), 20% faults (soak.faults), 15% the
event storm of 16 satellites under faults (soak.storm, chassis/full16.yaml at 100 kHz),
50% mixed traffic with resets (soak.mixed), each on a fresh simulated board or chassis
(--no-storm leaves the storm out; tests/test_storm.py runs its short form). With
`--target rp2emu` the whole time is mixed traffic with resets on the official
MicroPython rp2 image on the emulated RP2040 (pico_sim, flashed once with `satmc flash`
and kept in DIR/rp2emu-cache): its heap, counters and latency as the chip's port has
them (the other parts need the simulator's fault injection and chassis). Writes
DIR/summary.json and DIR/soak.png (live heap and latency percentiles over the mixed
run, recovery time per fault) and prints the headline figures, `ok` or `MISSED`
beside each that has a target; exits 1 when anything was lost or went wrong.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARES = (("contention", 0.15), ("faults", 0.20), ("storm", 0.15), ("mixed", 0.50))
# bytes the live heap (read just after a collection) may rise over a run: fragmentation
# and state that settles late (queues at a new high-water mark), not a steady leak
HEAP_SLACK = 32768
RECOVERY_S = 10.0  # back to serving after any fault (RECOVERED calls in a row)


def seconds(text: str) -> float:
    """ "90", "90s", "10m", "1h" -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 90s, 10m, 1h)")
    return float(m[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[m[2]]


def campaign(
    total: float, seed: int, work: Path, parts=None, target: str = "sim", cache=None
) -> dict:
    from satmc.sim.simulator import Simulator

    from . import contention, faults, mixed

    out = {}
    shares, sensors, timeout = SHARES, mixed.SENSORS, 0.25
    if target == "rp2emu":
        from fuzz.rp2emu import flashed_image
        from satmc.board import load_board
        from satmc.sim.rp2emu import TIME_FACTOR, Rp2emuSimulator

        board = load_board("pico_sim")
        image = flashed_image(Path(cache or work))
        shares = (("mixed", 1.0),)
        sensors = [s["number"] for s in board.config["sensors"]]
        timeout = 0.25 * TIME_FACTOR  # tests/test_rp2emu.py's: as slow as the emulator runs
    for name, share in shares:
        if parts is not None and name not in parts:
            continue
        if name == "storm":
            out[name] = _storm(max(5.0, total * share), seed, work)
            continue
        if target == "rp2emu":
            sim = Rp2emuSimulator(
                board,
                image=image,
                socket_path=str(work / f"{name}.sock"),
                build_dir=work / f"build-{name}",
            )
        else:
            sim = Simulator(
                "sim", socket_path=str(work / f"{name}.sock"), build_dir=work / f"build-{name}"
            )
        sim.start()
        try:
            t = max(5.0, total * share)
            if name == "contention":
                r = contention.run(sim, t)
            elif name == "faults":
                r = faults.run(sim, t, seed)
            else:
                r = mixed.run(
                    sim,
                    t,
                    sample_s=max(1.0, t / 200),
                    reset_s=max(10.0, t / 6),
                    sensors=sensors,
                    timeout=timeout,
                )
            r["alive"] = sim.alive()
            if not r["alive"]:
                r["problems"].append("the firmware process died")
        finally:
            sim.stop()
        out[name] = r
    return out


def _storm(seconds: float, seed: int, work: Path) -> dict:
    from satmc.sim.chassis import ChassisSimulator

    from . import storm

    chassis = ChassisSimulator(
        "full16", socket_path=str(work / "storm.sock"), build_dir=work / "build-storm"
    )
    chassis.start(timeout=300)
    try:
        r = storm.run(chassis, work / "storm", rounds=1, faults=seconds, seed=seed)
        r["alive"] = all(sat.alive() for sat in chassis.satellites)
        if not r["alive"]:
            r["problems"].append("a satellite's firmware process died")
    finally:
        chassis.stop()
    return r


def parts(s: dict) -> list[str]:
    return [k for k, _ in SHARES if k in s]


def headline(s: dict) -> list[tuple[str, str, bool | None]]:
    """(figure, value, target met or None) for the summary's headline."""
    if "contention" not in s:  # --target rp2emu: the mixed part alone
        return _mixed_headline(s)
    c, f, m = s["contention"], s["faults"], s["mixed"]
    tried = c["requests"] + f["counters"]["requests"] + sum(e["requests"] for e in m["epochs"])
    lost = sum(len(s[k]["problems"]) for k in parts(s))
    grew = m["heap_growth"]
    rec = f["recovery_s"].get("max")
    dead = sum(not s[k]["alive"] for k in parts(s))
    rates = ", ".join(f"{n} {h['rate']}/s" for n, h in c["hosts"].items())
    rows = [
        ("requests served", f"{tried:,}", None),
        ("contention: hosts at full rate", rates, None),
        (
            "wrong or stray responses",
            # every checking host: the contention hosts and the faults part's BMC
            str(
                sum(h["wrong"] + h["stray"] for h in c["hosts"].values())
                + f["host"]["wrong"]
                + f["host"]["stray"]
            ),
            None,
        ),
        (
            "faults injected",
            f"{len(f['faults'])} ({len({x['kind'] for x in f['faults']})} kinds)",
            None,
        ),
        (
            "events: received / acked / dropped (faults)",
            f"{f['events_received']} / {f['counters']['events_acked']} / "
            f"{f['counters']['events_dropped']}",
            None,
        ),
        ("crashes (firmware process died)", str(dead), dead == 0),
        ("silent losses and problems", str(lost), lost == 0),
        (
            "recovery after a fault, max",
            f"{rec} s (target <= {RECOVERY_S} s)",
            rec is not None and rec <= RECOVERY_S,
        ),
        (
            "heap growth (live heap, mixed run)",
            f"{grew} B (target <= {HEAP_SLACK} B)",
            grew is not None and grew <= HEAP_SLACK,
        ),
        *_latency(m),
    ]
    if "storm" in s:
        st = s["storm"]
        srec = st["recovery_s"].get("max")
        rows[5:5] = [
            (
                "storm: faults injected",
                f"{len(st['faults'])} ({len({x['kind'] for x in st['faults']})} kinds) on "
                f"{st['satellites']} satellites, {st['rounds']} rounds",
                None,
            ),
            (
                "storm: events / acked / dropped / SEL",
                f"{st['events']} / {st['acked']} / {st['dropped']} (+{st['overflow']} queue "
                f"full) / {st['sel_ipmitool']}",
                None,
            ),
            (
                "storm: every satellite answering, max",
                f"{srec} s after a fault (target <= {RECOVERY_S} s)",
                srec is not None and srec <= RECOVERY_S,
            ),
        ]
    return rows


def _latency(m: dict) -> list[tuple[str, str, None]]:
    p50 = [x["p50_ms"] for x in m["samples"]]
    p99 = [x["p99_ms"] for x in m["samples"]]
    half = len(p50) // 2
    return [
        (
            "latency p50 first half / second half",
            f"{_med(p50[:half])} / {_med(p50[half:])} ms",
            None,
        ),
        (
            "latency p99 first half / second half",
            f"{_med(p99[:half])} / {_med(p99[half:])} ms",
            None,
        ),
    ]


def _mixed_headline(s: dict) -> list[tuple[str, str, bool | None]]:
    m = s["mixed"]
    grew = m["heap_growth"]
    lost = len(m["problems"])
    return [
        ("requests served", f"{sum(e['requests'] for e in m['epochs']):,}", None),
        ("operations (sensor, FRU, SDR, events, resets)", f"{sum(m['ops'].values()):,}", None),
        ("failed calls (timeouts, retried)", str(m["failed_calls"]), None),
        ("crashes (firmware process died)", str(int(not m["alive"])), m["alive"]),
        ("silent losses and problems", str(lost), lost == 0),
        (
            "heap growth (live heap)",
            f"{grew} B (target <= {HEAP_SLACK} B)",
            grew is not None and grew <= HEAP_SLACK,
        ),
        *_latency(m),
    ]


def _med(xs: list[float]):
    return sorted(xs)[len(xs) // 2] if xs else None


def plot(s: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m, f = s["mixed"], s.get("faults", {"faults": []})
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4))
    if m["heap_live"]:
        ts, live = zip(*m["heap_live"], strict=True)
        a.plot(ts, [u / 1024 for u in live], marker=".")
    a.set_xlabel("seconds")
    a.set_ylabel("KiB in use just after a collection")
    a.set_title("firmware heap (mixed traffic, resets)")
    ts = [x["t"] for x in m["samples"]]
    b.plot(ts, [x["p50_ms"] for x in m["samples"]], label="p50")
    b.plot(ts, [x["p99_ms"] for x in m["samples"]], label="p99")
    b.set_yscale("log")
    b.set_xlabel("seconds")
    b.set_ylabel("ms per request (host wall clock)")
    b.set_title("latency per sample window")
    b.legend()
    kinds = sorted({x["kind"] for x in f["faults"]})
    for n, k in enumerate(kinds):
        ys = [x["recovery_s"] for x in f["faults"] if x["kind"] == k]
        c.scatter([n] * len(ys), ys)
    c.set_xticks(range(len(kinds)), kinds, rotation=45, ha="right")
    c.set_ylabel("seconds to serving again")
    c.set_title("recovery after each fault")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make soak", description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=seconds, default=seconds("5m"), help="e.g. 90s, 10m, 1h")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "soak")
    ap.add_argument(
        "--no-storm", action="store_true", help="leave out the 16-satellite storm under faults"
    )
    ap.add_argument(
        "--target",
        choices=("sim", "rp2emu"),
        default="sim",
        help="rp2emu: mixed traffic on the official rp2 image on the emulated RP2040",
    )
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.target == "rp2emu":
        from satmc.ports import rp2emu

        missing = rp2emu.missing()
        if missing:
            print(f"soak: the rp2emu target cannot run here: {missing}", file=sys.stderr)
            return 2
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="satmc-soak-") as work:
        chosen = (
            None
            if a.target == "rp2emu"
            else [k for k, _ in SHARES if not (a.no_storm and k == "storm")]
        )
        s = campaign(a.duration, a.seed, Path(work), chosen, a.target, a.out / "rp2emu-cache")
    s["duration_s"] = round(time.monotonic() - t0, 1)
    rows = headline(s)
    s["headline"] = [{"figure": n, "value": v, "ok": ok} for n, v, ok in rows]
    (a.out / "summary.json").write_text(json.dumps(s, indent=1))
    plot(s, a.out / "soak.png")
    where = "the emulated RP2040" if a.target == "rp2emu" else "the simulator"
    print(f"soak: {s['duration_s']:.0f} s on {where} (seed {a.seed})")
    for n, v, ok in rows:
        print(f"  {n:45} {v}" + ("" if ok is None else "  ok" if ok else "  MISSED"))
    for k in parts(s):
        for p in s[k]["problems"][:10]:
            print(f"  problem ({k}): {p}")
    print(f"summary: {a.out / 'summary.json'}, plot: {a.out / 'soak.png'}")
    failed = any(ok is False for _, _, ok in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
