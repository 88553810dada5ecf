"""`make sim` / `python -m satmc.sim`: run the simulated board until Ctrl-C.

python -m satmc.sim --board sim [--socket PATH] [--pacing] [--pcap trace.pcap] [--fresh]
python -m satmc.sim --chassis bench2 [...]     several satellites on one IPMB (chassis/)
python -m satmc.sim --platform rp2emu [--board pico_sim] [--blank]

--platform rp2emu runs an RP2040 board (default pico_sim) on the emulated chip with the
official MicroPython image (RP2_UF2, RP2_BOOTROM): its flash persists per socket; a new
(or --blank) board has MicroPython only, and `make flash BOARD=... PORT=<its pty>` puts the
firmware on it.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import SatmcError
from .chassis import ChassisSimulator
from .simulator import Simulator, default_socket, serve_until_stopped, state_lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m satmc.sim", description=__doc__.split("\n")[0])
    p.add_argument("--board", help="board file name or path (sim; rp2emu: pico_sim)")
    p.add_argument(
        "--chassis", help="chassis file name or path (chassis/NAME.yaml): several satellites"
    )
    p.add_argument(
        "--platform",
        choices=("unix", "rp2emu"),
        default="unix",
        help="unix: the MicroPython unix port (default); rp2emu: the emulated RP2040",
    )
    p.add_argument("--blank", action="store_true", help="rp2emu: start with a blank flash")
    p.add_argument(
        "--socket",
        help="bus socket path (default: per user, sim.sock, CHASSIS.sock or rp2emu.sock)",
    )
    p.add_argument("--pacing", action="store_true", help="hold the bus to 100 kHz wire time")
    p.add_argument("--pcap", help="write the bus trace to this pcap file (Wireshark)")
    p.add_argument("--heapsize", help="MicroPython heap size, e.g. 128K")
    p.add_argument("-q", "--quiet", action="store_true", help="do not echo firmware output")
    p.add_argument(
        "--fresh", action="store_true", help="forget the EEPROM state: start from the board file"
    )
    args = p.parse_args(argv)
    log = (lambda line: None) if args.quiet else (lambda line: print(f"  [firmware] {line}"))
    if args.chassis:
        return run_chassis(args, log)
    args.socket = args.socket or default_socket("rp2emu" if args.platform == "rp2emu" else "sim")
    if args.platform == "rp2emu":
        return run_rp2emu(args, log)
    sim = Simulator(
        args.board or "sim",
        socket_path=args.socket,
        pacing=args.pacing,
        pcap=args.pcap,
        heapsize=args.heapsize,
        log=log,
        fresh=args.fresh,
    )
    try:
        sim.start()
    except SatmcError as e:
        print(f"satmc.sim: error: {e}", file=sys.stderr)
        sim.stop()
        return 1
    print(
        f"""
Simulated board '{sim.board.name}' answers at IPMB 0x{sim.address:02x} on {sim.url}
Its serial line (Serial Basic Mode): {sim.serial.pty_path} and {sim.serial.socket_url}
In another terminal:
    .venv/bin/satmc -t {sim.url} info
    .venv/bin/satmc -t {sim.url} --readback info      # as a master-only (FTDI-like) host
    export SATMC_TARGET={sim.url}                          # then just: satmc info
    ipmitool -I serial-basic -D {sim.serial.pty_path}:115200 sdr list   # stock ipmitool
{"Bus trace: " + args.pcap + chr(10) if args.pcap else ""}{state_lines(sim)}
Ctrl-C stops the simulator.""",
        flush=True,
    )
    serve_until_stopped(sim.stop)
    print("simulator stopped")
    return 0


def run_chassis(args, log) -> int:
    try:
        chassis = ChassisSimulator(
            args.chassis,
            socket_path=args.socket,
            pacing=args.pacing,
            pcap=args.pcap,
            heapsize=args.heapsize,
            log=log,
            fresh=args.fresh,
        )
        chassis.start()
    except SatmcError as e:
        print(f"satmc.sim: error: {e}", file=sys.stderr)
        if "chassis" in locals():
            chassis.stop()
        return 1
    rows = "\n".join(
        f"    0x{s['address']:02x}  {s['name']:<12} {s['board']:<10} "
        f".venv/bin/satmc -t {chassis.url} -a 0x{s['address']:02x} info"
        for s in chassis.describe()
    )
    first = chassis.addresses[0]
    n = len(chassis.satellites)
    state = chassis.build_dir / chassis.chassis.name
    trace = f"Bus trace: {args.pcap}\n" if args.pcap else ""
    print(
        f"""
Simulated chassis '{chassis.chassis.name}': {n} satellites on one IPMB at {chassis.url}
{rows}
In another terminal:
    .venv/bin/satmc -t {chassis.url} scan               # every satellite
    .venv/bin/satmc -t {chassis.url} -a 0x{first:02x} sensors     # one satellite
    .venv/bin/satmc -t {chassis.url} -a 0x{first:02x} sim get     # its device models
{trace}EEPROM state: per satellite under {state} (--fresh: from the board files)
Ctrl-C stops the chassis.""",
        flush=True,
    )
    serve_until_stopped(chassis.stop)
    print("chassis stopped")


def run_rp2emu(args, log) -> int:
    from .rp2emu import Rp2emuSimulator

    try:
        sim = Rp2emuSimulator(
            args.board or "pico_sim",
            socket_path=args.socket,
            pcap=args.pcap,
            log=log,
            fresh=args.fresh,
            pacing=args.pacing,
        )
        if args.blank and sim.flash_state.exists():
            sim.flash_state.unlink()
        sim.start(timeout=120, serving=None)
    except SatmcError as e:
        print(f"satmc.sim: error: {e}", file=sys.stderr)
        return 1
    pty = sim.serial.pty_path
    what = (
        f"serves IPMB 0x{sim.address:02x} on {sim.url}"
        if sim.serving
        else f"is blank (MicroPython only). Put the firmware on it:\n"
        f"    make flash BOARD={sim.board.name} PORT={pty} "
        f"VERIFY_TIMEOUT={20 * sim.time_factor:.0f}"
    )
    print(
        f"""
Emulated RP2040 board '{sim.board.name}' {what}
USB serial: {pty} (mpremote connect {pty}; ipmitool -I serial-basic -D {pty}:115200)
            {sim.serial.socket_url}
Flash state: {sim.flash_state} (--blank starts from MicroPython alone)
{"Bus trace: " + args.pcap + chr(10) if args.pcap else ""}Ctrl-C stops the emulator.""",
        flush=True,
    )
    serve_until_stopped(sim.stop)
    print("emulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
