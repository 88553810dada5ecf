"""A board on the emulated RP2040: the official MicroPython rp2 image joined to the buses.

    with Rp2emuSimulator("pico_sim") as sim:     # the board's flash state, or a blank board
        sim.serial.pty_path                      # the chip's USB CDC: mpremote, ipmitool
        sim.url                                  # sim://... : IPMB on the virtual bus

The chip is satmc.ports.rp2emu's runner (Node.js): I2C0 a target and I2C1 a controller
on bus "ipmb", the private SoftI2C pins on bus "board" with the board file's device
models, ADC channels and tach/GPIO pins fed from the same stimulus (control ops) as the
unix port. The board keeps its flash in the state directory (flash.bin, per socket as
the EEPROMs): a new board is blank (MicroPython only) until `make flash` deploys the
bundle through mpremote, or starts from `image=` (a flash image provisioned before).
Reset and the watchdog reboot the chip inside the runner; the buses live on.

TIME_FACTOR: how much slower than the chip the emulator runs (about 15 % of 125 MHz
here): host timeouts on this target are multiplied by it (satmc.hil.rig's time_factor).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from ..board import Board, load_board
from ..ports import rp2emu
from ..resources import build_root
from .simulator import READY, SimError, Simulator, TextLog, spawn

TIME_FACTOR = 8.0
MAX_TIME_FACTOR = 40.0  # a loaded host: timeouts at most this much longer
STATS = "rp2emu: stats "
REBOOT = re.compile(r"rp2emu: reboot \d+ \((\w+)\)")
FLASH_STATE = "flash.bin"
_PULLED_UP = ("ipmb", "board")  # IPMB and the private bus have pull-up resistors


def runner_config(board: Board) -> dict:
    """What the runner is told about the board: bus pins, stimulus pins and ADC channels."""
    cfg = board.config
    wiring = board.sim.get("wiring") or {
        "ipmb": [cfg["ipmb"][r][k] for r in ("target", "controller") for k in ("scl", "sda")],
        **(
            {"board": [cfg["private_bus"]["scl"], cfg["private_bus"]["sda"]]}
            if cfg["private_bus"]
            else {}
        ),
    }
    pb = cfg["private_bus"]
    soft = [{"bus": "board", "scl": pb["scl"], "sda": pb["sda"]}] if pb else []
    pins = sorted(
        {int(d["pin"]) for d in board.sim.get("devices") or [] if "pin" in d and d["pin"] < 26}
    )
    return {
        "freq": cfg["ipmb"]["freq"],
        "hw": {"ipmb": wiring.get("ipmb", [])},
        "soft": soft,
        "pins": pins,
        "pullups": sorted({p for bus in _PULLED_UP for p in wiring.get(bus, [])}),
    }


class Rp2emuSimulator(Simulator):
    platform = "rp2emu"

    def __init__(self, board: str | Board = "pico_sim", image: Path | None = None, **kw):
        real = board if isinstance(board, Board) else load_board(board)
        if real.mcu != "rp2040":
            raise SimError(f"board {real.name!r} is not an RP2040 board (mcu: {real.mcu})")
        kw.setdefault("build_dir", build_root() / real.name / "rp2emu")
        super().__init__(real, **kw)
        self.board = real  # the chip runs the board's own bundle, pins as on the board
        self.image = Path(image) if image else None
        self.stats: dict = {}
        self.reboots = 0
        self._stats_seen = threading.Event()

    @property
    def flash_state(self) -> Path:
        return self.state_dir / FLASH_STATE

    @property
    def time_factor(self) -> float:
        """How much slower than the chip the emulator runs here: 125 MHz over the cycles it
        executes per wall second (measured once it has run a second; TIME_FACTOR before),
        at least TIME_FACTOR."""
        cps = self.runner_stats().get("cycles_per_s", 0) if self.alive() else 0
        return max(TIME_FACTOR, min(MAX_TIME_FACTOR, 125e6 / cps)) if cps else TIME_FACTOR

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass on the emulated chip's clock (it runs behind the host's)."""
        start = self.runner_stats().get("emulated_s", 0.0)
        deadline = time.monotonic() + seconds * MAX_TIME_FACTOR
        while time.monotonic() < deadline:
            time.sleep(min(0.25, seconds / 4))
            if self.runner_stats().get("emulated_s", 0.0) - start >= seconds:
                return

    def start(self, timeout: float = 60.0, serving: bool | None = True) -> Rp2emuSimulator:
        """Start the buses and the chip; wait until the firmware serves (serving=False: a
        blank board, until MicroPython's banner; None: whichever comes first)."""
        self.uf2, self.bootrom = rp2emu.inputs()
        rp2emu.install()
        self._start_bus()
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            if self.image is not None and not self.flash_state.exists():
                shutil.copyfile(self.image, self.flash_state)
            from .serial_line import SerialLine

            self.serial = SerialLine(self._to_firmware)
            self._spawn()
            if serving:
                self.wait_ready(timeout)
            elif not self._wait_any(
                ("MicroPython", READY) if serving is None else ("MicroPython",), timeout
            ):
                raise SimError(f"the emulated RP2040 did not boot MicroPython in {timeout:.0f} s")
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def serving(self) -> bool:
        return self._ready.is_set()

    def _wait_any(self, texts, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(t in line for line in self.output for t in texts):
                return True
            if self.proc is not None and self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def _spawn(self, reset_cause: int | None = None) -> None:
        cmd = rp2emu.command(
            self.uf2, self.bootrom, self.flash_state, self.socket_path, runner_config(self.board)
        )
        self._ready.clear()
        self.proc = spawn(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()
        threading.Thread(target=self._pump_runner, args=(self.proc,), daemon=True).start()

    def _pump_runner(self, proc: subprocess.Popen) -> None:
        """The runner's own lines (stderr): reboots, statistics; the rest to the log."""
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if line.startswith(STATS):
                self.stats = json.loads(line[len(STATS) :])
                self._stats_seen.set()
                continue
            m = REBOOT.match(line)
            if m:
                self.reboots += 1
                self.resets += 1
                self._ready.clear()
            self.output.append(line)
            self.log(line)

    def runner_stats(self, timeout: float = 5.0) -> dict:
        """The runner's statistics: boots, emulated seconds, cycles per wall second,
        turnarounds (emulated us from a request's STOP to the response's START), flash ops."""
        self._stats_seen.clear()
        if self.alive():
            os.kill(self.proc.pid, signal.SIGUSR2)
            self._stats_seen.wait(timeout)
        return self.stats

    def reset(self, cause: int | None = None) -> None:
        """A board reset: the runner reboots the chip (flash kept)."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGUSR1)

    def _on_board_reset(self, req: dict) -> dict:
        self.reset(req.get("cause"))
        return {}

    def wait_reboot(self, since: int, timeout: float = 60.0) -> None:
        """Wait until the chip rebooted after `since` reboots and serves again."""
        deadline = time.monotonic() + timeout
        while self.reboots <= since and time.monotonic() < deadline:
            time.sleep(0.05)
        self.wait_ready(max(1.0, deadline - time.monotonic()))


def provision(board: str | Board, cache: Path, deploy, timeout: float = 300.0) -> Path:
    """A flash image of the board with its bundle deployed, made once per (image, bundle):
    a blank emulated board is started, deploy(sim) puts the firmware on it (make flash's
    path: mpremote on the pty), and its flash state is kept under `cache`."""
    from ..bundle import build_bundle

    real = board if isinstance(board, Board) else load_board(board)
    uf2, _ = rp2emu.inputs()
    bundle = build_bundle(real, Path(cache) / "bundle")
    manifest = (bundle.root / "manifest.json").read_bytes()
    key = rp2emu.digest(uf2)[:12] + "-" + __import__("hashlib").sha256(manifest).hexdigest()[:12]
    image = Path(cache) / f"flash-{key}.bin"
    if image.is_file():
        return image
    sock = Path(cache) / "provision.sock"
    sim = Rp2emuSimulator(real, socket_path=str(sock), build_dir=Path(cache) / "provision")
    if sim.flash_state.exists():
        sim.flash_state.unlink()
    sim.start(timeout=timeout, serving=False)
    try:
        deploy(sim)
    finally:
        sim.stop()
    tmp = image.with_suffix(".partial")
    shutil.copyfile(sim.flash_state, tmp)
    tmp.replace(image)
    shutil.rmtree(sim.state_dir, ignore_errors=True)
    return image


__all__ = ["Rp2emuSimulator", "TIME_FACTOR", "TextLog", "provision", "runner_config"]
