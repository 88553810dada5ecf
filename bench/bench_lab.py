"""The lab: a simulated rig as a labgrid place on a real coordinator and exporter
(127.0.0.1, tests/labgrid_lab.py).

Figures: the time from `labgrid-client acquire` to the rig "answering on IPMB" (the
acquire, then in a client process labgrid's Environment resolving the RemotePlace and
SatmcStrategy's transition to "answering"), and the wall time of one HIL slice
(hil/test_conformance.py without the Cold Reset test) run on the same simulator directly
(--hil-target sim://...) and through the coordinator (--lg-env), each the best of RUNS
pytest processes. DESIGN.md sets no targets for the lab, so no figure has a verdict.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

from tests.labgrid_lab import ROOT, Lab

RUNS = 2
SLICE = ["hil/test_conformance.py", "-k", "not cold_reset"]


def _answering(env_file, env: dict) -> float:
    """Seconds, in a fresh process, from labgrid's Environment to "answering"."""
    code = (
        "import time; t = time.perf_counter()\n"
        "from labgrid import Environment\n"
        f"env = Environment({str(env_file)!r})\n"
        "s = env.get_target('main').get_driver('SatmcStrategy')\n"
        "s.transition('answering'); print(time.perf_counter() - t)\n"
        "env.cleanup()\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    if r.returncode:
        raise RuntimeError(f"the strategy did not reach answering: {r.stderr[-400:]}")
    return float(r.stdout.strip().splitlines()[-1])


def _slice(cmd_args, env) -> float:
    t = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SLICE, *cmd_args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    if r.returncode:
        raise RuntimeError(f"the HIL slice failed: {r.stdout[-600:]}")
    return time.perf_counter() - t


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="satmc-bench-lab-") as tmp, Lab(tmp) as lab:
        [rig] = lab.add_rigs(["bench-sim"])
        t = time.perf_counter()
        lab.acquire(rig.place)  # the exporter up first: the figure is the acquire itself
        lab.client("release", place=rig.place)
        t = time.perf_counter()
        lab.client("acquire", place=rig.place)
        acquire = time.perf_counter() - t
        try:
            answering = _answering(rig.env_file, lab.env)
            print(f"acquire a place (labgrid-client)        {acquire:6.2f} s")
            print(
                f"  then answering on IPMB (strategy)     {answering:6.2f} s "
                f"(a fresh client process: imports, RemotePlace, Get Device ID, verify)"
            )
            print(f"acquire to answering                    {acquire + answering:6.2f} s")
            local = min(
                _slice(["--hil-target", rig.sim.ipmb_url, "--hil-board", "sim"], lab.env)
                for _ in range(RUNS)
            )
            remote = min(_slice(["--lg-env", str(rig.env_file)], lab.env) for _ in range(RUNS))
            print(f"HIL slice, local (--hil-target sim://)  {local:6.2f} s")
            print(
                f"HIL slice, through the coordinator      {remote:6.2f} s "
                f"(+{remote - local:.2f} s, best of {RUNS})"
            )
        finally:
            lab.client("release", place=rig.place)
