"""The simulated board with a USB-serial-like REPL on a pseudo-terminal: a target for flashing.

    with PtyBoard("sim", flash_dir="/tmp/board-fs") as board:
        flash(load_board("sim"), port=board.port)    # mpremote deploys into flash_dir
        board.url                                    # sim://... : the firmware on the vbus

A MicroPython board boots, runs main.py from its filesystem and drops into the REPL
when main.py ends or is interrupted (Ctrl-C); machine.reset() reboots it. Here the
filesystem is flash_dir (empty for a blank board), the REPL is the unix port's own
(which has the raw REPL mpremote uses), and it sits on a pseudo-terminal: `port` is
the path mpremote opens. The unix port is started as `micropython -i -c BOOT` on the
terminal side of one pty pair; a bridge thread joins that pair's controller side to a
second pair whose terminal side is `port` (the controller side of a pty has no path
of its own). The bridge watches the output for the firmware's "serving" line, as the
Simulator does, and turns Ctrl-C into SIGINT (KeyboardInterrupt) whenever the running
code has keyboard interrupts enabled, as a board's USB serial driver does: while
main.py boots (a Ctrl-C then stops it in the middle of its imports, as on rp2) and
while the firmware serves, but not while it reads the line itself (kbd_intr(-1)).
`boot_delay` (seconds) makes every boot that much slower before main.py runs, as a
board importing its modules from flash is (the rp2 port took 1.4 s to serve).
Buses, devices and board reset (machine.reset() restarts the process, same terminal)
are the Simulator's.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import sys
import termios
import threading
import tty
from pathlib import Path

from ..errors import SatmcError
from ..ports import unix
from .simulator import (
    READY,
    Simulator,
    micropython_command,
    serve_until_stopped,
    spawn,
    state_lines,
)

# The board's boot: run main.py from the filesystem if there is one (as pyexec does).
BOOT = """\
import os
try:
    os.stat("main.py")
except OSError:
    pass
else:
    exec(open("main.py").read())
"""


def _controlling_tty():
    """In the child: stdin (the pty's terminal side) becomes the controlling terminal.

    SIGINT starts ignored: the unix port is a module CPython loads, and CPython's own
    handler would turn a Ctrl-C that comes while it starts into a KeyboardInterrupt
    that ends the process (a board loses that byte: its MicroPython is not up yet).
    CPython keeps an ignored SIGINT ignored; the unix port installs its handler when it
    runs code with Ctrl-C on, and takes it away for kbd_intr(-1)."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _catches_sigint(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            caught = next(line for line in f if line.startswith("SigCgt:")).split()[1]
    except (OSError, StopIteration):
        return False
    return bool(int(caught, 16) & 1 << (signal.SIGINT - 1))


class PtyBoard(Simulator):
    def __init__(
        self, board="sim", flash_dir: str | Path | None = None, boot_delay: float = 0, **kw
    ):
        super().__init__(board, **kw)
        self.flash_dir = Path(flash_dir or self.build_dir / "flash")
        self.boot_delay = boot_delay
        self.port: str | None = None
        self._line = bytearray()

    def start(self, timeout: float = 20.0) -> PtyBoard:
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        self._start_bus()
        self._board_ctl, self._board_tty = pty.openpty()  # micropython's terminal
        self._user_ctl, self._user_tty = pty.openpty()  # mpremote's side: self.port
        for fd in (self._board_tty, self._user_tty):
            tty.setraw(fd)
        self.port = os.ttyname(self._user_tty)
        os.set_blocking(self._user_ctl, False)
        self._bridging = True
        threading.Thread(target=self._bridge, daemon=True).start()
        self._spawn()
        if (self.flash_dir / "main.py").exists():
            self.wait_ready(timeout)
        return self

    def _spawn(self, reset_cause: int | None = None) -> None:
        env = dict(os.environ)
        env["MICROPYPATH"] = f"{self.flash_dir}:{unix.machine_path()}:.frozen"
        env["SATMC_VBUS"] = self.socket_path
        env["SATMC_WIRING"] = self._wiring
        env.pop("SATMC_RESET_CAUSE", None)
        if reset_cause:
            env["SATMC_RESET_CAUSE"] = str(reset_cause)
        boot = f"import time\ntime.sleep({self.boot_delay!r})\n" if self.boot_delay else ""
        cmd = micropython_command(self.heapsize, "-i", "-c", boot + BOOT)
        self._ready.clear()
        self.proc = spawn(
            cmd,
            _controlling_tty,
            cwd=self.flash_dir,
            env=env,
            stdin=self._board_tty,
            stdout=self._board_tty,
            stderr=self._board_tty,
            start_new_session=True,
        )

    def _bridge(self) -> None:
        """Copy bytes both ways between the two controller sides; watch the board's output."""
        a, b = self._board_ctl, self._user_ctl
        while self._bridging:
            try:
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for fd in ready:
                    data = os.read(fd, 4096)
                    if fd == a:
                        try:
                            os.write(b, data)
                        except BlockingIOError:
                            pass  # nobody reads the port: output is lost, the board runs on
                        self._watch(data)
                    else:
                        self._interrupt(data)
                        os.write(a, data)
            except OSError:
                if not self._bridging:
                    return

    def _interrupt(self, data: bytes) -> None:
        """Ctrl-C while code runs with keyboard interrupts on: KeyboardInterrupt.

        A board's USB serial driver raises it when micropython.kbd_intr is set (the
        unix port then has a SIGINT handler installed): while main.py boots as well as
        while the firmware serves. With kbd_intr(-1) the byte is plain data for the
        program reading stdin; before the unix port runs any code it is lost, as it is
        while a board's USB is still coming up.
        """
        if b"\x03" in data and self.alive() and _catches_sigint(self.proc.pid):
            self._ready.clear()
            os.kill(self.proc.pid, signal.SIGINT)

    def _watch(self, data: bytes) -> None:
        for c in data:
            if c == 0x0A:
                line = self._line.decode(errors="replace").rstrip("\r")
                self._line.clear()
                self.output.append(line)
                del self.output[:-500]
                self.log(line)
                if READY in line:  # raw REPL output has no newlines: look inside the line
                    self._ready.set()
                elif "KeyboardInterrupt" in line:  # the firmware ended: back at the REPL
                    self._ready.clear()
            else:
                self._line.append(c)
                if len(self._line) > 2000:
                    del self._line[:1000]

    def stop(self) -> None:
        super().stop()
        self._bridging = False
        for name in ("_board_ctl", "_board_tty", "_user_ctl", "_user_tty"):
            fd = getattr(self, name, None)  # none yet when the start failed
            try:
                if fd is not None:
                    os.close(fd)
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    """`python -m satmc.sim.ptyboard`: a board to flash without hardware, until Ctrl-C."""
    import argparse
    import tempfile

    from .simulator import default_socket

    p = argparse.ArgumentParser(prog="python -m satmc.sim.ptyboard", description=main.__doc__)
    p.add_argument("--board", default="sim", help="board file whose buses to simulate (sim)")
    p.add_argument("--flash-dir", help="the board's filesystem (a new temporary directory)")
    p.add_argument("--socket", default=default_socket("ptyboard"), help="bus socket path")
    p.add_argument(
        "--fresh", action="store_true", help="forget the EEPROM state: start from the board file"
    )
    args = p.parse_args(argv)
    flash_dir = args.flash_dir or tempfile.mkdtemp(prefix="satmc-board-fs-")
    board = PtyBoard(args.board, flash_dir=flash_dir, socket_path=args.socket, fresh=args.fresh)
    try:
        board.start()
    except SatmcError as e:
        print(f"satmc.sim.ptyboard: error: {e}", file=sys.stderr)
        board.stop()
        return 1
    print(
        f"Simulated board with a MicroPython REPL on {board.port} (filesystem {flash_dir})\n"
        f"    make flash BOARD={board.board.name} PORT={board.port}\n"
        f"    .venv/bin/satmc -t {board.url} info        # once the firmware runs\n"
        f"{state_lines(board)}\n"
        "Ctrl-C stops it.",
        flush=True,
    )
    serve_until_stopped(board.stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
