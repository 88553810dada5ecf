"""`make sim` / `python -m satmc.sim`: run the simulated board until Ctrl-C.

python -m satmc.sim --board sim [--socket PATH] [--pacing] [--pcap trace.pcap] [--fresh]
python -m satmc.sim --chassis bench2 [...]     several satellites on one IPMB (chassis/)
"""

from __future__ import annotations

import argparse
import sys

from ..errors import SatmcError
from .chassis import ChassisSimulator
from .simulator import Simulator, default_socket, serve_until_stopped, state_lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m satmc.sim", description=__doc__.split("\n")[0])
    p.add_argument("--board", default="sim", help="board file name or path (sim)")
    p.add_argument(
        "--chassis", help="chassis file name or path (chassis/NAME.yaml): several satellites"
    )
    p.add_argument(
        "--socket", help="bus socket path (default: per user, sim.sock or CHASSIS.sock)"
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
    sim = Simulator(
        args.board,
        socket_path=args.socket or default_socket(),
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
