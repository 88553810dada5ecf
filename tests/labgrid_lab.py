"""A labgrid lab on 127.0.0.1 for the tests and the bench: a real coordinator, one exporter
per simulated rig, places created, tagged and acquired with labgrid-client.

    with Lab(tmp) as lab:
        [rig] = lab.add_rigs(["satmc-sim-1"])   # a Simulator exported as a place
        lab.acquire(rig.place)
        lab.hil(rig, ["hil/test_conformance.py"]).communicate()
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from satmc.sim.simulator import Simulator

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
START_S = 60  # a loaded 2-core machine: grpc imports and the first registration are slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabRig:
    place: str
    group: str
    sim: Simulator
    exporter: subprocess.Popen
    env_file: Path


class Lab:
    def __init__(self, tmp: Path):
        self.tmp = Path(tmp)
        self.address = f"127.0.0.1:{_free_port()}"
        self.rigs: list[LabRig] = []
        self.procs: list[subprocess.Popen] = []
        self.env = dict(os.environ, LG_COORDINATOR=self.address, LG_HOSTNAME="lab-client")
        self.env.pop("LG_ENV", None)

    def __enter__(self):
        log = open(self.tmp / "coordinator.log", "wb")
        self.procs.append(
            subprocess.Popen(
                [BIN / "labgrid-coordinator", "--listen", self.address],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
            )
        )
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for rig in self.rigs:
            rig.sim.stop()

    def client(self, *args, place=None, user=None, check=True):
        env = dict(self.env, LG_USERNAME=user) if user else self.env
        cmd = [BIN / "labgrid-client"] + (["-p", place] if place else []) + list(args)
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=START_S)
        if check and r.returncode:
            raise AssertionError(f"labgrid-client {' '.join(args)}: {r.stdout}{r.stderr}")
        return r

    def add_rigs(
        self, places: list[str], tags: str = "satmc-capabilities=fru-write", bmc: bool = False
    ) -> list[LabRig]:
        """One simulator per place, exported as groups of one exporter, and the places
        made, matched and tagged (not acquired: acquire() waits for the export). bmc: a
        bench BMC (`satmc bmc`) in front of each simulator, exported as SatmcBMC, is the
        place's IPMB path (self.env gets its one-run password as $SATMC_LAN_PASSWORD)."""
        host = f"host-{places[0]}"  # one exporter per name: the coordinator refuses a second
        d = self.tmp / host
        d.mkdir()
        sims = [
            Simulator("sim", socket_path=str(d / f"{p}.sock"), build_dir=d / p) for p in places
        ]
        for sim in sims:
            sim.start(timeout=0)  # they boot side by side
        for sim in sims:
            sim.wait_ready()
        groups = []
        for place, sim in zip(places, sims, strict=True):
            ipmb = f"  ipmb: {{cls: SatmcIPMB, url: '{sim.ipmb_url}', address: 0x72}}\n"
            if bmc:
                ipmb = self._bmc(sim, d)
            groups.append(
                f"{place}:\n{ipmb}"
                f"  serial: {{cls: NetworkSerialPort, host: 127.0.0.1, port: {sim.serial.port},"
                " protocol: raw}\n"
            )
        exporter_file = d / "exporter.yaml"
        exporter_file.write_text("".join(groups))
        log = open(d / "exporter.log", "wb")
        exporter = subprocess.Popen(
            [BIN / "labgrid-exporter", "-c", self.address, "-n", host, exporter_file],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=d,
            env=self.env,
        )
        self.procs.append(exporter)
        rigs = []
        for place, sim in zip(places, sims, strict=True):
            env_file = d / f"{place}.yaml"
            env_file.write_text(
                (ROOT / "hil" / "lab" / "env-sim.yaml")
                .read_text()
                .replace("satmc-sim", place)
                .replace("{port: ipmb}", "{port: bmc}" if bmc else "{port: ipmb}")
            )
            rigs.append(LabRig(place, place, sim, exporter, env_file))
        self.rigs += rigs

        def make(place):  # a place needs no resources yet: matches are patterns
            self.client("create", place=place)
            self.client("add-match", f"{host}/{place}/*", place=place)
            self.client("set-tags", "satmc-board=sim", "satmc-address=0x72", tags, place=place)

        threads = [threading.Thread(target=make, args=(p,)) for p in places]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return rigs

    def acquire(self, place: str) -> None:
        """labgrid-client acquire, again while the exporter has not registered the place's
        resources yet (the client then refuses: "... has no matching remote resource")."""
        deadline = time.monotonic() + START_S
        while True:
            r = self.client("acquire", place=place, check=False)
            if r.returncode == 0:
                return
            if "no matching remote resource" not in r.stderr or time.monotonic() > deadline:
                raise AssertionError(f"labgrid-client acquire: {r.stdout}{r.stderr}")
            time.sleep(0.2)

    def _bmc(self, sim: Simulator, d: Path) -> str:
        """Start `satmc bmc` in front of the simulator on a free UDP port; -> its exporter
        entry. Its login for this run is the line it prints first."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [BIN / "satmc", "-t", sim.ipmb_url, "-a", "0x72", "bmc", "--port", str(port)]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=d
        )
        self.procs.append(proc)
        for line in proc.stdout:  # the login line comes before it serves
            if "-P " in line:
                self.env["SATMC_LAN_PASSWORD"] = line.split("-P ", 1)[1].split()[0]
                break
        else:
            raise AssertionError(f"satmc bmc printed no login: exit {proc.wait()}")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain it
        return f"  bmc: {{cls: SatmcBMC, host: 127.0.0.1, port: {port}, user: admin}}\n"

    def hil(self, rig: LabRig, args: list[str], user: str | None = None) -> subprocess.Popen:
        env = dict(self.env, LG_USERNAME=user) if user else self.env
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--lg-env",
            str(rig.env_file),
            "--hil-results",
            str(self.tmp / rig.place),
        ]
        return subprocess.Popen(
            cmd + args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
