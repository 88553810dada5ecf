"""A full chassis: 16 simulated satellites (chassis/full16.yaml) on one IPMB, at 100 kHz
and at 400 kHz (ChassisSimulator's freq_hz, a fast-mode backplane).

Figures, each run on a fresh chassis:
  - `satmc scan` of 0x70..0x8e: satellites that answered (target: all 16);
  - every sensor of every satellite listed cold (no SDR cache) and warm (cache), with
    the bus's busy time as a ratio of the elapsed time: the share of the wire limit the
    host reached (no target: a single host waits for each answer);
  - an event storm into the bench BMC's SEL (soak.storm: a real `satmc bmc` as every
    satellite's event receiver, the backplane paced to wire time): every satellite's
    Board Temp crosses UNC, UC and UNR at once, then falls back, ROUNDS times; the SEL
    as ipmitool and ipmi-sel read it against the firmware's counters (targets: every
    acked event in the SEL, none dropped, no silent loss), and per phase the time until
    every satellite settled, events per second as a ratio of the wire limit, and the
    wire's busy share (no targets: one event in flight per satellite, by design).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import verdict
from satmc.sensors import SensorClient
from satmc.sim.chassis import ChassisSimulator
from satmc.transports import connect
from soak import storm

SATMC = str(Path(sys.executable).parent / "satmc")
ROUNDS = 5  # storm rounds: every satellite's Board Temp up past UNC, UC, UNR, and down


def _busy(chassis, action) -> tuple[float, float]:
    """(seconds action took, wire busy time / elapsed) on the chassis IPMB."""
    chassis.control("reset_stats", bus="ipmb")
    t0 = time.monotonic()
    action()
    dt = time.monotonic() - t0
    return dt, chassis.control("stats", bus="ipmb")["wire_time"] / dt


def _span(phases: list[dict], key: str) -> str:
    xs = [p[key] for p in phases if p.get(key) is not None]
    return f"{min(xs):.2f}..{max(xs):.2f}" if xs else "?"


def run_one(freq: int, tmp: Path) -> None:
    khz = freq // 1000
    chassis = ChassisSimulator(
        "full16",
        socket_path=str(tmp / f"full16-{khz}.sock"),
        build_dir=tmp / f"build-{khz}",
        freq_hz=freq,
    )
    chassis.start(timeout=300)
    try:
        addrs = chassis.addresses
        r = subprocess.run(
            [SATMC, "-t", chassis.url, "scan", "--first", "0x70", "--last", "0x8e"],
            capture_output=True,
            text=True,
        )
        found = sum(f"0x{a:02x}: device" in r.stdout for a in addrs)
        print(
            f"{khz} kHz scan: {found}/{len(addrs)} satellites answered  "
            f"{verdict(found == len(addrs))}"
        )
        for label, cache in (("cold", None), ("warm", tmp / f"cache-{khz}")):
            n = [0]

            def listing(cache=cache, n=n):
                for a in addrs:
                    with connect(chassis.url, address=a) as sat:
                        d = cache or Path(tempfile.mkdtemp(dir=tmp))
                        n[0] += len(SensorClient(sat, cache_dir=d).read_all())

            if label == "warm":
                listing()  # fill the cache
                n[0] = 0
            dt, ratio = _busy(chassis, listing)
            print(
                f"{khz} kHz sensors {label}: {n[0]} readings from {len(addrs)} satellites "
                f"in {dt:.1f} s, wire busy {ratio:.2f} of the wire limit (no target)"
            )
        r = storm.run(chassis, tmp / f"storm-{khz}", rounds=ROUNDS)
        sel = r["sel_ipmitool"]
        print(
            f"{khz} kHz event storm into the bench BMC's SEL: {r['events']} events from "
            f"{r['satellites']} satellites x {ROUNDS} rounds (up and down); SEL holds {sel} "
            f"(ipmitool sel elist) / {r['sel_ipmi_sel']} (ipmi-sel) of {r['acked']} acked "
            f"{verdict(sel == r['sel_ipmi_sel'] == r['acked'] == r['events'])}, dropped "
            f"{r['dropped']} + {r['overflow']} queue full "
            f"{verdict(r['dropped'] + r['overflow'] == 0)}, "
            f"silent losses and problems {len(r['problems'])} {verdict(not r['problems'])}"
        )
        for p in r["problems"][:5]:
            print(f"  problem: {p}")
        limit = r["wire_limit_events_per_s"]
        for phase in ("up", "down"):
            ps = r["phases"][0 if phase == "up" else 1 :: 2]
            rates = sorted(p.get("events_per_s") or 0 for p in ps)
            busy = sorted(p.get("wire_busy") or 0 for p in ps)
            print(
                f"{khz} kHz event storm {phase}: {ps[0]['events']} events a round; from the "
                f"first event request to the last acknowledgement {_span(ps, 'burst_s')} s, "
                f"median {rates[len(ps) // 2]:.0f} events/s = "
                f"{rates[len(ps) // 2] / limit:.2f} of the wire limit ({limit:.0f}/s), "
                f"wire busy {busy[len(ps) // 2]:.2f}; every satellite settled "
                f"{_span(ps, 'settled_s')} s after the change (no targets)"
            )
    finally:
        chassis.stop()


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-chassis-") as tmp:
        for freq in (100_000, 400_000):
            run_one(freq, Path(tmp))
