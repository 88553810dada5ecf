"""A simulated chassis: several satellites on one virtual IPMB, from a chassis file.

    with ChassisSimulator("bench2") as chassis:       # chassis/bench2.yaml, or a path
        print(chassis.url)                            # sim://.../bench2.sock: the shared IPMB
        sat = chassis.satellite(0x74)                 # that satellite's Simulator
        sat.url                                       # sim://.../bench2-74.sock: its own buses
        chassis.control("device", address=0x74, name="temp0", set={"temperature": 80})

Options: socket_path, pacing (hold the backplane to wire time), pcap (trace of the
backplane), freq_hz (its clock; 400_000 for a fast-mode chassis), heapsize, build_dir,
fresh (forget every satellite's EEPROM state), log (called with "NAME: line").

The chassis socket carries one bus, "ipmb" (the backplane), which every satellite's
firmware and every host (satmc -t sim://CHASSIS.sock, the bench BMC) join. Each
satellite is a Simulator of its own (satmc.sim.simulator): its own firmware process,
bundle copy, socket, private bus, device models and EEPROM state, so one satellite's
stimulus never reaches another. The chassis socket's control ops `device`, `devices`,
`pin`, `adc` and `firmware` take an "address" and are answered by that satellite; op
`satellites` lists them.

The slot's address reaches the firmware as a backplane's geographic address does: the
slot drives the board's hardware-address pins (satmc.board.simulation.in_slot, in the
manner of ATCA's HA pins, IPMB address = 2 x HA) and the firmware reads them at boot
through its ordinary ga_pins code, unchanged. That is the mechanism a real board in a
real slot uses, so the firmware has no simulator-only path (an environment variable or a
file would be one) and every slot runs the same bundle.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..board.chassis import Chassis, load_chassis
from ..bundle import build_bundle
from ..resources import build_root
from ..vbus.server import BusServer
from .simulator import SimError, Simulator, default_socket

ROUTED_OPS = ("device", "devices", "pin", "adc", "firmware")


def satellite_socket(chassis_socket: str, address: int) -> str:
    """A satellite's own socket beside the chassis socket: bench2.sock -> bench2-74.sock."""
    root, ext = os.path.splitext(chassis_socket)
    return f"{root}-{address:02x}{ext or '.sock'}"


class ChassisSimulator:
    def __init__(
        self,
        chassis: str | Path | Chassis = "bench2",
        socket_path: str | None = None,
        pacing: bool = False,
        pcap: str | None = None,
        heapsize: str | None = None,
        log=None,
        fresh: bool = False,
        build_dir: Path | None = None,
        freq_hz: int | None = None,
    ):
        self.chassis = chassis if isinstance(chassis, Chassis) else load_chassis(chassis)
        self.socket_path = socket_path or default_socket(self.chassis.name)
        self.pacing = pacing
        self.pcap = pcap
        # the backplane's clock (wire time, pacing): the first satellite's board's, unless given
        self.freq_hz = freq_hz or self.chassis.satellites[0].board.config["ipmb"]["freq"]
        self.log = log or (lambda line: None)
        self.build_dir = Path(build_dir or build_root() / "chassis")
        self.server: BusServer | None = None
        self.satellites: list[Simulator] = []
        for slot in self.chassis.satellites:
            self.satellites.append(
                Simulator(
                    slot.board,
                    socket_path=satellite_socket(self.socket_path, slot.address),
                    heapsize=heapsize,
                    build_dir=self.build_dir / self.chassis.name / f"{slot.address:02x}",
                    log=self._logger(slot.name),
                    fresh=fresh,
                    slot_address=slot.address,
                    backplane=self.socket_path,
                )
            )
        self.names = {
            sim.address: slot.name
            for sim, slot in zip(self.satellites, self.chassis.satellites, strict=True)
        }

    def _logger(self, name: str):
        return lambda line: self.log(f"{name}: {line}")

    @property
    def url(self) -> str:
        return f"sim://{self.socket_path}"

    @property
    def addresses(self) -> list[int]:
        return [s.address for s in self.satellites]

    def satellite(self, address: int) -> Simulator:
        """The Simulator of the satellite at `address` (AddressError naming those there)."""
        slot = self.chassis.slot(address)
        return self.satellites[self.chassis.satellites.index(slot)]

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> ChassisSimulator:
        """The backplane, then every satellite's firmware side by side; returns when every
        satellite serves (SimError naming the first that did not)."""
        Path(self.socket_path).parent.mkdir(parents=True, exist_ok=True)
        self.server = BusServer(
            self.socket_path,
            buses=["ipmb"],
            freq_hz=self.freq_hz,
            pacing=self.pacing,
            pcap_path=self.pcap,
        ).start()
        for sim in self.satellites:
            sim.backplane_bus = self.server.buses["ipmb"]
        for op in ROUTED_OPS:
            self.server.handlers[op] = self._routed(op)
        self.server.handlers["satellites"] = lambda req: {
            "chassis": True,
            "satellites": self.describe(),
        }
        try:
            bundles: dict[str, Path] = {}
            for sim in self.satellites:
                name = sim.board.name
                if name not in bundles:  # one build per board; each satellite copies it
                    bundles[name] = build_bundle(sim.board, self.build_dir / "bundles" / name).root
                sim.bundle_from = bundles[name]
                sim.start(timeout=0)
            deadline = time.monotonic() + timeout
            for sim, slot in zip(self.satellites, self.chassis.satellites, strict=True):
                try:
                    sim.wait_ready(max(1.0, deadline - time.monotonic()))
                except SimError as e:
                    raise SimError(f"satellite {slot.name} at {sim.address:#04x}: {e}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def _routed(self, op: str):
        def handle(req: dict) -> dict:
            if "address" not in req:
                raise ValueError(
                    f"op {op!r} on a chassis needs an address (one of "
                    f"{', '.join(f'{a:#04x}' for a in self.addresses)})"
                )
            sim = self.satellite(int(req["address"]))
            return sim.server.control({k: v for k, v in req.items() if k != "address"})

        return handle

    def describe(self) -> list[dict]:
        return [
            {
                "address": s.address,
                "name": self.names[s.address],
                "board": s.board.name,
                "url": s.url,
            }
            for s in self.satellites
        ]

    def stop(self) -> None:
        for sim in self.satellites:
            sim.stop()
        if self.server:
            self.server.close()

    def control(self, op: str, **args) -> dict:
        return self.server.control({"op": op, **args})

    def __enter__(self) -> ChassisSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
