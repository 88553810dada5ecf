"""Deploy for real: mpremote against the MicroPython unix port on a pseudo-terminal.

The PtyBoard is the simulated board with its REPL on a pty, its filesystem a
directory: `satmc flash` copies the bundle there, resets it (the firmware process
restarts and runs main.py), and verifies Get Device ID through the REPL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import yaml

from satmc.board import BOARDS_DIR, FIRMWARE_DIR, REPO, load_board
from satmc.flash import Connection, FlashError, check_port, flash, verify_serial
from satmc.ipmi.codes import CMD_GET_DEVICE_ID, NETFN_APP
from satmc.sim.ptyboard import PtyBoard
from satmc.sim.simulator import READY
from satmc.transports import connect

FILES = sorted(
    [f"ipmc/{p.stem}.mpy" for p in (FIRMWARE_DIR / "ipmc").glob("*.py")]
    + [
        "board_config.mpy",
        "main.py",
        "satboot.mpy",
        "fru1.bin",
    ]  # fru1.bin: sim.yaml's file-backed FRU
)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    d = tmp_path_factory.mktemp("ptyboard")
    b = PtyBoard("sim", flash_dir=d / "fs", socket_path=str(d / "bus.sock"), build_dir=d)
    b.start()
    yield b
    b.stop()


def _device_id(board):
    board.wait_ready(20)
    with connect(board.url, address=0x72) as sat:
        return sat.raw(NETFN_APP, CMD_GET_DEVICE_ID, b"")


def _flash(board, board_file, tmp_path):
    return flash(
        load_board(board_file),
        port=board.port,
        bundle_dir=tmp_path / "bundle",
        log=lambda line: None,
    )


def test_first_deploy_copies_everything_and_the_firmware_runs(board, tmp_path):
    assert not (board.flash_dir / "main.py").exists()  # a blank board: MicroPython only
    result = _flash(board, "sim", tmp_path)
    assert sorted(result.copied) == sorted(FILES) and result.removed == []
    assert result.micropython.startswith("1.")
    assert result.device_id[2:4] == b"\x00\x01"  # firmware 0.1
    assert sorted(
        p.relative_to(board.flash_dir).as_posix()
        for p in board.flash_dir.rglob("*")
        if p.is_file()
    ) == sorted(FILES + ["manifest.json"])
    cc, data = _device_id(board)
    assert cc == 0 and data[9:11] == b"\x01\x53"


def test_redeploy_with_nothing_changed_copies_nothing(board, tmp_path):
    result = _flash(board, "sim", tmp_path)
    assert result.copied == [] and result.removed == []
    assert _device_id(board)[0] == 0


def test_one_changed_file_is_the_only_one_copied(board, tmp_path):
    data = yaml.safe_load((BOARDS_DIR / "sim.yaml").read_text())
    data["device"]["product_id"] = 0x5399
    changed = tmp_path / "sim.yaml"
    changed.write_text(yaml.safe_dump(data))
    result = _flash(board, changed, tmp_path)
    assert result.copied == ["board_config.mpy"]
    cc, answer = _device_id(board)  # the deployed firmware runs with the new config
    assert cc == 0 and answer[9:11] == b"\x99\x53"
    assert _flash(board, "sim", tmp_path).copied == ["board_config.mpy"]


def test_cli_refuses_a_bundle_for_another_chip(board):
    r = subprocess.run(
        [sys.executable, "-m", "satmc.cli.main", "flash", "--board", "pico", "--port", board.port],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert "the pico bundle is for rp2040" in r.stderr and "Traceback" not in r.stderr


def test_old_micropython_is_refused_with_the_way_to_update():
    pico = load_board("pico")
    with pytest.raises(FlashError) as e:
        check_port(pico, ("rp2", (1, 25, 0), "Raspberry Pi Pico with RP2040"))
    assert "MicroPython 1.25.0; satmc needs 1.26 or newer (machine.I2CTarget)" in str(e.value)
    assert "BOOTSEL" in str(e.value) and ".uf2" in str(e.value)
    assert check_port(pico, ("rp2", (1, 26, 1), "Raspberry Pi Pico with RP2040")) == "1.26.1"
    with pytest.raises(FlashError, match="the pico2 bundle is for rp2350"):
        check_port(load_board("pico2"), ("rp2", (1, 28, 0), "Raspberry Pi Pico with RP2040"))
    assert check_port(load_board("pyboard"), ("pyboard", (1, 27, 0), "PYBv1.1 with STM32F405RG"))


def test_verify_over_ipmb_instead_of_the_repl(board, tmp_path):
    """--via: after the reset, Get Device ID goes over the I2C bus (here the vbus)."""
    result = flash(
        load_board("sim"),
        port=board.port,
        via=board.url,
        bundle_dir=tmp_path / "bundle",
        log=lambda line: None,
    )
    assert result.device_id[2:4] == b"\x00\x01" and result.device_id[9:11] == b"\x01\x53"


def test_watchdog_stays_fed_while_at_the_repl(tmp_path):
    """Ctrl-C ends a firmware whose watchdog runs; the board must not reset under the REPL."""
    data = yaml.safe_load((BOARDS_DIR / "sim.yaml").read_text())
    data["watchdog_ms"] = 1000
    board_file = tmp_path / "sim.yaml"
    board_file.write_text(yaml.safe_dump(data))
    b = PtyBoard(
        "sim", flash_dir=tmp_path / "fs", socket_path=str(tmp_path / "s.sock"), build_dir=tmp_path
    )
    b.start()
    try:
        _flash(b, board_file, tmp_path)
        b.wait_ready(20)
        resets = b.resets
        time.sleep(2.5)
        assert b.resets == resets  # served: the firmware feeds it
        conn = Connection(b.port)  # Ctrl-C: the firmware ends, the REPL takes the line
        try:
            time.sleep(2.5)
            assert b.resets == resets
            assert conn.run("print(1 + 1)") == 2
        finally:
            conn.close()
    finally:
        b.stop()


def test_files_the_bundle_dropped_are_removed(board, tmp_path):
    """A module an older firmware had (listed in the board's manifest) goes away."""
    manifest = json.loads((board.flash_dir / "manifest.json").read_text())
    manifest["files"]["ipmc/retired.mpy"] = {"sha256": "0" * 64, "size": 3}
    (board.flash_dir / "manifest.json").write_text(json.dumps(manifest))
    (board.flash_dir / "ipmc" / "retired.mpy").write_bytes(b"old")
    result = _flash(board, "sim", tmp_path)
    assert result.removed == ["ipmc/retired.mpy"] and result.copied == []
    assert not (board.flash_dir / "ipmc" / "retired.mpy").exists()
    assert "retired" not in (board.flash_dir / "manifest.json").read_text()


def test_make_flash_is_the_cli(board):
    r = subprocess.run(
        ["make", "-s", "flash", "BOARD=sim", f"PORT={board.port}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nothing changed" in r.stdout and "answers as sim" in r.stdout


def test_a_slow_boot_is_waited_for_not_interrupted(tmp_path):
    """The rp2 port took 1.4 s from reset to serving. Verification waits for the
    firmware's serving line and asks it over Serial Basic Mode: one reset, never a
    Ctrl-C into a booting board (which stops main.py in its imports)."""
    b = PtyBoard(
        "sim",
        flash_dir=tmp_path / "fs",
        socket_path=str(tmp_path / "s.sock"),
        build_dir=tmp_path,
        boot_delay=2.5,  # longer than the second the old verification let a board boot
    )
    b.start()
    try:
        resets = b.resets
        result = _flash(b, "sim", tmp_path)
        assert result.device_id[2:4] == b"\x00\x01" and result.device_id[9:11] == b"\x01\x53"
        assert b.resets == resets + 1  # the reset after the deploy, and no other
        b.wait_ready(1)  # still serving: verification interrupted nothing
        served = [i for i, line in enumerate(b.output) if READY in line]
        stopped = [i for i, line in enumerate(b.output) if "KeyboardInterrupt" in line]
        # one boot served, and no Ctrl-C reached it (the blank board may have been stopped
        # before the deploy, or may not have been running anything yet)
        assert len(served) == 1 and all(i < served[0] for i in stopped)
    finally:
        b.stop()


def test_a_firmware_that_fails_at_boot_is_reported_with_where_to_look(tmp_path):
    b = PtyBoard(
        "sim", flash_dir=tmp_path / "fs", socket_path=str(tmp_path / "s.sock"), build_dir=tmp_path
    )
    b.start()
    try:
        (b.flash_dir / "main.py").write_text("raise OSError(19, 'I2C block 7 has no pins')\n")
        b.reset()
        with pytest.raises(FlashError) as e:
            verify_serial(b.port, load_board("sim"), None, timeout=10)
        assert "main.py did not start the firmware after the reset" in str(e.value)
        assert "the board is at its REPL" in str(e.value) and "Ctrl-D" in str(e.value)
    finally:
        b.stop()


def _get_device_id_frame(seq: int, extra: bytes = b"") -> bytes:
    """A Serial Basic Mode frame: Get Device ID to the BMC address, from 0x81."""
    from satmc.transports.serial import encode_basic_mode

    head = bytes((0x20, NETFN_APP << 2))
    body = bytes((0x81, seq << 2, CMD_GET_DEVICE_ID)) + extra
    msg = head + bytes(((-sum(head)) & 0xFF,)) + body + bytes(((-sum(body)) & 0xFF,))
    return encode_basic_mode(msg)


def test_frames_through_a_cold_reset_do_not_stop_the_boot_in_the_repl(board, tmp_path):
    """ipmitool goes on sending while a board reboots after a Cold Reset: a 0x03 among
    its frames' bytes used to stop the new boot in the REPL (the board never served
    again). Ctrl-C is off from main.py's first line; mpremote still gets in (CR, Ctrl-C
    between frames) once the board serves."""
    import threading

    import serial

    from satmc.ipmi.codes import CMD_COLD_RESET

    _flash(board, "sim", tmp_path)
    board.wait_ready(20)
    # 0x03 inside the frames (the rqSeq/LUN byte, and CR, Ctrl-C as data), as ipmitool's are
    frames = [_get_device_id_frame(0, b"\x0d\x03"), _get_device_id_frame(0x03 >> 2 | 0x30)]
    frames[1] = frames[1][:5] + b"\x03" + frames[1][6:]  # a torn one: its checksum fails
    line = serial.Serial(board.port, 115200, timeout=0)
    sending = threading.Event()
    sending.set()

    def flood():
        k = 0
        while sending.is_set():
            line.write(frames[k % 2] + b"\x03")
            line.read(4096)  # the board's answers and boot text: read, not kept
            k += 1
            time.sleep(0.02)

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    mark = len(board.output)
    try:
        resets = board.resets
        with connect(board.url, address=0x72) as sat:
            sat.raw(NETFN_APP, CMD_COLD_RESET, b"")
        deadline = time.monotonic() + 20
        while board.resets == resets and time.monotonic() < deadline:
            time.sleep(0.05)
        assert board.resets > resets, "no reboot after the Cold Reset"
        board.wait_ready(20)
        time.sleep(1.0)  # frames keep coming while it serves
        board.wait_ready(1)
    finally:
        sending.clear()
        t.join(5)
        line.close()
    assert not [x for x in board.output[mark:] if "KeyboardInterrupt" in x]
    assert _device_id(board)[0] == 0
    result = _flash(board, "sim", tmp_path)  # mpremote: CR, Ctrl-C, then the raw REPL
    assert result.copied == [] and result.device_id[2:4] == b"\x00\x01"


def test_a_firmware_hung_in_its_boot_gets_ctrl_c_back(tmp_path):
    """Ctrl-C is off while the firmware boots; one that never serves gets it back after
    satboot's BOOT_QUIET_MS, so mpremote reaches the REPL without BOOTSEL."""
    b = PtyBoard(
        "sim", flash_dir=tmp_path / "fs", socket_path=str(tmp_path / "s.sock"), build_dir=tmp_path
    )
    b.start()
    try:
        _flash(b, "sim", tmp_path)
        (b.flash_dir / "main.py").write_text(
            "import micropython\nmicropython.kbd_intr(-1)\nimport satboot, time\n"
            "satboot.quiet_boot(1500)\nprint('hung in set-up')\n"
            "while True:\n    time.sleep_ms(10)\n"
        )
        b.reset()
        assert b.wait_for_output("hung in set-up", 20)
        conn = Connection(b.port)  # CR, Ctrl-C until the REPL answers (about 10 s)
        try:
            assert conn.run("print(6 * 7)") == 42
        finally:
            conn.close()
    finally:
        b.stop()
