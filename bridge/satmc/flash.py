"""Deploy a firmware bundle to a MicroPython board over its USB serial REPL, and verify it.

    result = flash(load_board("pico"), port="auto")
    result.copied        # bundle files written: those whose SHA-256 differed on the board
    result.device_id     # the Get Device ID answer of the firmware after the reset

Steps: open the port with mpremote's serial transport and stop the running program
(Ctrl-C); check the board runs MicroPython >= 1.26 on the bundle's chip; hash the
board's copies of the bundle files (one round trip) and write only the ones that
differ, then manifest.json, and remove files an older manifest listed that the bundle
no longer has; reset the board; then ask the firmware for Get Device ID, either in
Serial Basic Mode on the same USB serial once it prints its serving line (nothing is
interrupted: a slow boot is waited for, and the board serves on after one reset) or
over IPMB through an I2C adapter (`via="ftdi://..."`), and compare the firmware
revision with the bundle's. Deploying removes the HPM.1 boot record (hpm/boot), so
the board boots what was just deployed, not a bundle an earlier upgrade left active.

Without the USB serial, `upgrade_via(board, "ftdi://...")` upgrades over IPMB with
PICMG HPM.1 (satmc.hpm): the bundle goes into the board's free slot, the board resets
into it and keeps it once it serves and passes its self test; Get Device ID verifies.
"""

from __future__ import annotations

import ast
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from .board import MCUS, Board
from .bundle import MANIFEST, MIN_MICROPYTHON, Bundle, build_bundle
from .errors import MalformedResponseError, SatmcError
from .ipmi.client import decode_device_id
from .ipmi.codes import CC_OK, CMD_GET_DEVICE_ID, NETFN_APP
from .resources import require

BOOT_RECORD = "hpm/boot"  # the boot selector's record (firmware/satboot.py)
ENTER_TRIES = 5  # x 2 s: how long a booting board may ignore Ctrl-C
PROBE_AFTER_S = 2.0  # after a reset, without a serving line: ask Get Device ID anyway
_PROBE_RQ_SA = 0x81  # the probe's requester: a remote console (as transports.serial)
_PROBE_SEQ = 0x20  # keeps Ctrl-C (03) and Ctrl-D (04) out of the probe
_SEE_TRACEBACK = "mpremote connect %s repl, then Ctrl-D, shows why"
MICROPYTHON_VIDS = {0x2E8A: "Raspberry Pi", 0xF055: "MicroPython (pyboard)"}
UF2_HELP = (
    "To put MicroPython on a blank or outdated board: download the firmware for your board "
    "from https://micropython.org/download/ (Pico: RPI_PICO, Pico 2: RPI_PICO2, pyboard: "
    "PYBV11). Pico/Pico 2: hold BOOTSEL while plugging in USB, copy the .uf2 file onto the "
    "RPI-RP2 (or RP2350) drive; it reboots into MicroPython. pyboard: use the .dfu file with "
    "dfu-util (docs/flashing.md). Then run make flash again."
)


class FlashError(SatmcError):
    """The bundle could not be deployed to the board, or the board did not verify."""


@dataclass
class FlashResult:
    port: str
    copied: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    micropython: str = ""
    device_id: bytes = b""


# --- board-side snippets (MicroPython) ----------------------------------------------------

_INFO = (
    "import sys\n"
    "print(repr((sys.platform, tuple(sys.implementation.version[:3]),"
    " getattr(sys.implementation, '_machine', ''))))\n"
)

_HASHES = """\
import hashlib, binascii
def _h(p, b=bytearray(512)):
    try:
        f = open(p, "rb")
    except OSError:
        return None
    h = hashlib.sha256()
    while True:
        n = f.readinto(b)
        if not n:
            break
        h.update(memoryview(b)[:n])
    f.close()
    return binascii.hexlify(h.digest()).decode()
print(repr([_h(p) for p in %r]))
"""

_MKDIRS = """\
import os
for d in %r:
    try:
        os.mkdir(d)
    except OSError:
        pass
"""

_REMOVE = """\
import os
for p in %r:
    try:
        os.remove(p)
    except OSError:
        pass
"""

# --- the serial connection ----------------------------------------------------------------


def find_port() -> str:
    """The first USB serial port of a MicroPython board (Raspberry Pi or pyboard VID)."""
    from serial.tools import list_ports

    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    for p in ports:
        if p.vid in MICROPYTHON_VIDS:
            return p.device
    seen = ", ".join(f"{p.device} ({p.description})" for p in ports) or "none"
    raise FlashError(
        f"no MicroPython board on USB serial (serial ports: {seen}); give PORT=/dev/ttyACM0 if "
        f"yours has another USB ID. {UF2_HELP}"
    )


class Connection:
    """mpremote's serial transport, with the program on the board stopped (raw REPL)."""

    def __init__(self, port: str, wait_s: float = 0):
        require("mpremote", "satmc flash")
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        self.port = port
        self._error = TransportError
        deadline = time.monotonic() + wait_s
        while True:
            try:
                # timeout: reads give up after 1 s instead of blocking (a pty never times out)
                self.t = SerialTransport(port, baudrate=115200, timeout=1)
                break
            except TransportError as e:
                if time.monotonic() > deadline:
                    raise FlashError(
                        f"cannot open {port} ({e}); is it the board's port, and is no other "
                        "program (a terminal, mpremote) holding it?"
                    ) from None
                time.sleep(0.25)
        try:
            self._enter()
        except Exception:
            self.t.close()
            raise

    def _enter(self) -> None:
        """Ctrl-C, then Ctrl-A; again while the board is still booting (Ctrl-C is lost then)."""
        for attempt in range(ENTER_TRIES):
            try:
                self.t.enter_raw_repl(soft_reset=False, timeout_overall=2)
                return
            except self._error as e:
                if attempt == ENTER_TRIES - 1:
                    raise FlashError(
                        f"{self.port}: no MicroPython raw REPL ({e}); is this a MicroPython "
                        f"board? {UF2_HELP}"
                    ) from None

    def _exec(self, code: str) -> bytes:
        from mpremote.transport import TransportExecError

        try:
            return self.t.exec(code)
        except TransportExecError as e:
            raise FlashError(f"{self.port}: board raised {e.error_output.strip()}") from None
        except self._error as e:
            raise FlashError(f"{self.port}: {e}") from None

    def run(self, code: str):
        """Execute code on the board; the Python value it printed (repr)."""
        return ast.literal_eval(self._exec(code).decode().strip())

    def exec(self, code: str) -> None:
        self._exec(code)

    def write_file(self, path: str, data: bytes) -> None:
        try:
            self.t.fs_writefile(path, data, chunk_size=1024)
        except (OSError, self._error) as e:
            raise FlashError(f"{self.port}: writing {path}: {e}") from None

    def read_file(self, path: str) -> bytes | None:
        try:
            return self.t.fs_readfile(path)
        except (OSError, self._error):
            return None

    def reset(self) -> None:
        """machine.reset(); the connection is gone afterwards."""
        try:
            self.t.exec_raw_no_follow("import machine\nmachine.reset()")
        except self._error:
            pass
        self.close()

    def close(self) -> None:
        try:
            self.t.close()
        except OSError:
            pass


# --- the steps --------------------------------------------------------------------------------


def check_port(board: Board, info: tuple) -> str:
    """Refuse a board whose MicroPython is too old or runs on another chip; its version text."""
    platform, version, machine = info
    text = ".".join(map(str, version))
    if tuple(version) < MIN_MICROPYTHON:
        raise FlashError(
            f"the board runs MicroPython {text}; satmc needs {'.'.join(map(str, MIN_MICROPYTHON))}"
            f" or newer (machine.I2CTarget). {UF2_HELP}"
        )
    mcu = MCUS[board.mcu]
    if platform != mcu.platform or mcu.chip not in machine:
        raise FlashError(
            f"the board is {machine or platform!r} ({platform}); the {board.name} bundle is for "
            f"{board.mcu}: pick the matching BOARD="
        )
    return text


def deploy(conn: Connection, bundle: Bundle, progress=None) -> tuple[list[str], list[str]]:
    """Write the bundle files whose hash differs; (copied, removed). progress(bytes
    copied, bytes to copy) after each file."""
    files = bundle.manifest["files"]
    names = sorted(files)
    on_board = conn.run(_HASHES % (names,))
    changed = [n for n, h in zip(names, on_board, strict=True) if h != files[n]["sha256"]]
    old = conn.read_file(MANIFEST)
    stale: list[str] = []
    if old:
        try:
            stale = sorted(set(json.loads(old).get("files", {})) - set(files))
        except ValueError:
            stale = []
    conn.exec(_REMOVE % (stale + [BOOT_RECORD],))  # the bundle deployed here boots next
    dirs = sorted({str(Path(n).parent) for n in changed if "/" in n})
    if dirs:
        conn.exec(_MKDIRS % (dirs,))
    total, done = sum(files[n]["size"] for n in changed), 0
    for n in changed:
        conn.write_file(n, (bundle.root / n).read_bytes())
        done += files[n]["size"]
        if progress is not None:
            progress(done, total)
    manifest = (bundle.root / MANIFEST).read_bytes()
    if changed or stale or old != manifest:
        conn.write_file(MANIFEST, manifest)
    return changed, stale


def expected_revision(bundle: Bundle) -> tuple[int, int]:
    """Get Device ID bytes 3-4 for the bundle's firmware version: major, minor in BCD."""
    major, minor = (int(x) for x in bundle.manifest["firmware_version"].split(".")[:2])
    return major & 0x7F, ((minor % 100) // 10) << 4 | minor % 10


def _check_device_id(data: bytes, bundle: Bundle, board: Board, where: str) -> None:
    want = expected_revision(bundle)
    try:
        dev = decode_device_id(data)
        got, product = dev["firmware_revision"], dev["product_id"]
    except MalformedResponseError:
        got = product = None
    if got != want or product != board.config["device"]["product_id"]:
        raise FlashError(
            f"{where}: Get Device ID answered {data.hex(' ')}; expected firmware revision "
            f"{want[0]}.{want[1]:02x} and product 0x{board.config['device']['product_id']:04x}"
        )


def _serial_probe() -> bytes:
    """Get Device ID to the BMC address in Serial Basic Mode (A0 .. A5), then CR.

    Harmless to a board that is not serving yet: sequence number 20h keeps Ctrl-C
    (03) and Ctrl-D (04) out of it, a booting board keeps it in its input until the
    firmware reads the line (which ignores the CR between frames). A board left at
    its REPL answers with a prompt (the CR; on rp2 the command byte 01 is Ctrl-A,
    which enters the raw REPL)."""
    from pyipmi.interfaces.ipmb import IpmbHeaderReq, encode_ipmb_msg

    from .transports.serial import encode_basic_mode

    h = IpmbHeaderReq()
    h.netfn, h.rs_lun, h.rs_sa, h.rq_sa, h.rq_lun = NETFN_APP, 0, 0x20, _PROBE_RQ_SA, 0
    h.rq_seq, h.cmdid = _PROBE_SEQ, CMD_GET_DEVICE_ID
    return encode_basic_mode(encode_ipmb_msg(h, b"")) + b"\r"


_RAW = "raw REPL; CTRL-B to exit"


def _at_repl(text, lines: list[str]) -> bool:
    return text.buf.startswith(b">>> ") or any(_RAW in x for x in lines)


def _probe_answer(msg: bytes) -> tuple[int, bytes] | None:
    """(completion code, data) if msg answers _serial_probe(), else None."""
    if (
        len(msg) >= 8
        and msg[0] == _PROBE_RQ_SA
        and msg[1] >> 2 == NETFN_APP | 1
        and msg[4:6] == bytes((_PROBE_SEQ << 2, CMD_GET_DEVICE_ID))
    ):
        return msg[6], bytes(msg[7:-1])
    return None


def _open_serial(port: str, deadline: float):
    """pyserial on port, retried while it is gone (a board re-enumerates after a reset)."""
    import serial

    while True:
        try:
            return serial.Serial(port, 115200, timeout=0.1)
        except (serial.SerialException, OSError) as e:
            if time.monotonic() > deadline:
                raise FlashError(f"{port}: did not come back after the reset ({e})") from None
            time.sleep(0.05)


def verify_serial(port: str, board: Board, bundle: Bundle, timeout: float) -> bytes:
    """After a reset: wait for the firmware's serving line, ask Get Device ID in Serial
    Basic Mode on the same line, check it against the bundle. Nothing is interrupted
    (no Ctrl-C goes out), so the board boots once and serves on. When no serving line
    comes within PROBE_AFTER_S of opening the port (it may have come before the port
    was open again), the probe goes out anyway, then every second."""
    import serial

    from .sim.simulator import READY, TextLog
    from .transports.serial import BasicModeDecoder

    deadline = time.monotonic() + timeout
    lines: list[str] = []  # the board's text output since the port opened (the last 50)
    served = False

    def line(text: str) -> None:
        nonlocal served
        served = served or READY in text
        lines.append(text)
        del lines[:-50]

    frames = BasicModeDecoder()
    text = TextLog(line)
    probe = _serial_probe()
    ser = _open_serial(port, deadline)
    next_probe = time.monotonic() + PROBE_AFTER_S
    before_probe: int | None = None  # lines the board printed before the first probe
    try:
        while time.monotonic() < deadline:
            try:
                if time.monotonic() >= next_probe or (served and before_probe is None):
                    before_probe = len(lines) if before_probe is None else before_probe
                    ser.write(probe)
                    next_probe = time.monotonic() + 1.0
                data = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError):  # opened just before USB went away
                ser.close()
                ser = _open_serial(port, deadline)
                continue
            text.feed(data)
            for msg in frames.feed(data):
                answer = _probe_answer(msg)
                if answer is None:
                    continue
                if answer[0]:
                    raise FlashError(
                        f"{port}: Get Device ID failed with completion code 0x{answer[0]:02x}"
                    )
                _check_device_id(answer[1], bundle, board, port)
                return answer[1]
            if not served and _at_repl(text, lines):
                ser.write(b"\x02")  # leave a raw REPL the probe may have entered
                shown = lines[: len(lines) if before_probe is None else before_probe][-10:]
                raise FlashError(
                    f"{port}: main.py did not start the firmware after the reset; the board "
                    "is at its REPL"
                    + (":\n" + "\n".join(shown) + "\n" if shown else " ")
                    + f"({_SEE_TRACEBACK % port})"
                )
    finally:
        ser.close()
    said = "it printed its serving line but" if served else "no serving line and"
    raise FlashError(
        f"{port}: the firmware did not answer within {timeout:.0f} s of the reset ({said} no "
        "Get Device ID answer in Serial Basic Mode)"
        + (":\n" + "\n".join(lines[-10:]) if lines else "")
    )


def verify_ipmb(url: str, board: Board, bundle: Bundle, timeout: float, address: int) -> bytes:
    """After a reset: Get Device ID over IPMB through an I2C adapter (e.g. ftdi://...)."""
    from .transports import connect

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with connect(url, address=address) as sat:
                cc, data = sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)
            if cc == CC_OK:
                _check_device_id(data, bundle, board, url)
                return data
            last = FlashError(f"completion code 0x{cc:02x}")
        except SatmcError as e:
            last = e
        time.sleep(0.5)
    raise FlashError(f"{url}: no Get Device ID answer from 0x{address:02x}: {last}")


def flash(
    board: Board,
    port: str = "auto",
    via: str | None = None,
    bundle_dir: Path | None = None,
    log=print,
    timeout: float = 20.0,
    address: int | None = None,
    progress=None,
) -> FlashResult:
    """Build the bundle, deploy what changed, reset, verify; see the module docstring.
    progress(bytes copied, bytes to copy) while the files are copied."""
    bundle = build_bundle(board, bundle_dir)
    if port == "auto":
        port = find_port()
    result = FlashResult(port)
    conn = Connection(port)
    try:
        result.micropython = check_port(board, conn.run(_INFO))
        log(f"{port}: MicroPython {result.micropython}")
        result.copied, result.removed = deploy(conn, bundle, progress)
    except BaseException:
        conn.close()
        raise
    for n in result.copied:
        log(f"  copied {n} ({bundle.manifest['files'][n]['size']} bytes)")
    for n in result.removed:
        log(f"  removed {n}")
    if not result.copied and not result.removed:
        log("  nothing changed")
    conn.reset()
    how = f"over {via}" if via else "in Serial Basic Mode on the USB serial"
    log(f"{port}: reset; verifying Get Device ID {how}")
    if via:
        result.device_id = verify_ipmb(via, board, bundle, timeout, address or board.address)
    else:
        result.device_id = verify_serial(port, board, bundle, timeout)
    major, minor = expected_revision(bundle)
    log(
        f"{port}: firmware {bundle.manifest['firmware_version']} (revision {major}.{minor:02x}) "
        f"answers as {board.name}"
    )
    return result


def upgrade_via(
    board: Board,
    url: str,
    address: int | None = None,
    bundle_dir: Path | None = None,
    log=print,
    progress=None,
    timeout: float = 20.0,
    twin: str | None = None,
) -> dict:
    """Build the bundle and upgrade the board to it over IPMB (HPM.1); see the docstring.
    twin: ftdi:// is the FT232H twin on this simulator's bus socket."""
    from . import hpm
    from .ipmi import client
    from .transports import connect

    bundle = build_bundle(board, bundle_dir)
    data = hpm.image(board, bundle)
    serial = url.split(":", 1)[0] in ("serial", "socket")
    block = client.HPM_BLOCK_SERIAL if serial else client.HPM_BLOCK_IPMB
    address = address or board.address
    version = bundle.manifest["firmware_version"]
    log(f"{url}: HPM.1 upgrade of 0x{address:02x} to firmware {version}")
    start = time.monotonic()
    with connect(url, address=address, timeout=1.0 if serial else 0.25, twin=twin) as sat:
        result = hpm.upgrade(sat, data, block=block, progress=progress)
        result["seconds"] = time.monotonic() - start
        data_id = verify_ipmb_on(sat, board, bundle, timeout)
    result["device_id"] = data_id
    major, minor = expected_revision(bundle)
    log(
        f"{url}: {result['sent']} bytes in {result['blocks']} blocks, "
        f"{result['seconds']:.1f} s; firmware {bundle.manifest['firmware_version']} "
        f"(revision {major}.{minor:02x}) answers as {board.name}"
    )
    return result


def verify_ipmb_on(sat, board: Board, bundle: Bundle, timeout: float) -> bytes:
    """Get Device ID on an open connection, checked against the bundle."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            cc, data = sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)
            if cc == CC_OK:
                _check_device_id(data, bundle, board, "over IPMB")
                return data
            last = FlashError(f"completion code 0x{cc:02x}")
        except SatmcError as e:
            last = e
        time.sleep(0.2)
    raise FlashError(f"no Get Device ID answer after the upgrade: {last}")
