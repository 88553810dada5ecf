"""A labgrid lab on 127.0.0.1 for the tests and the bench: a real coordinator, one exporter
per simulated rig, places created, tagged and acquired with labgrid-client.

    with Lab(tmp) as lab:
        rig = lab.add_rig("satmc-sim-1")     # a Simulator exported as a place
        lab.client("acquire", place=rig.place)
        lab.run_hil(rig, ["hil/test_conformance.py"])
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
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

    def add_rig(self, place: str, tags: str = "satmc-capabilities=fru-write") -> LabRig:
        """A simulator exported as group `place` by its own exporter, and the place made,
        matched and tagged (not acquired)."""
        d = self.tmp / place
        d.mkdir()
        sim = Simulator("sim", socket_path=str(d / "sim.sock"), build_dir=d / "build")
        sim.start()
        exporter_file = d / "exporter.yaml"
        exporter_file.write_text(
            f"{place}:\n"
            f"  ipmb: {{cls: SatmcIPMB, url: '{sim.ipmb_url}', address: 0x72}}\n"
            f"  serial: {{cls: NetworkSerialPort, host: 127.0.0.1, port: {sim.serial.port},"
            " protocol: raw}\n"
        )
        host = f"host-{place}"  # one exporter per name: the coordinator refuses a second
        log = open(d / "exporter.log", "wb")
        exporter = subprocess.Popen(
            [BIN / "labgrid-exporter", "-c", self.address, "-n", host, exporter_file],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=d,
            env=self.env,
        )
        self.procs.append(exporter)
        env_file = d / "env.yaml"
        env_file.write_text(
            (ROOT / "hil" / "lab" / "env-sim.yaml").read_text().replace("satmc-sim", place)
        )
        rig = LabRig(place, place, sim, exporter, env_file)
        self.rigs.append(rig)
        self._wait_exported(f"{host}/{place}/")
        self.client("create", place=place)
        self.client("add-match", f"{host}/{place}/*", place=place)
        self.client("set-tags", "satmc-board=sim", "satmc-address=0x72", tags, place=place)
        return rig

    def _wait_exported(self, prefix: str) -> None:
        deadline = time.monotonic() + START_S
        while True:
            r = self.client("resources", check=False)
            if prefix in r.stdout:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the exporter did not register {prefix}: {r.stderr}")
            time.sleep(0.2)

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
