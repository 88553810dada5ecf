"""`make sim` / `python -m satmc.sim`: run the simulated board until Ctrl-C.

python -m satmc.sim --board sim [--socket PATH] [--pacing] [--pcap trace.pcap] [--fresh]
"""

from __future__ import annotations

import argparse
import sys

from ..errors import SatmcError
from .simulator import Simulator, default_socket, serve_until_stopped, state_lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m satmc.sim", description=__doc__.split("\n")[0])
    p.add_argument("--board", default="sim", help="board file name or path (sim)")
    p.add_argument("--socket", default=default_socket(), help="bus socket path")
    p.add_argument("--pacing", action="store_true", help="hold the bus to 100 kHz wire time")
    p.add_argument("--pcap", help="write the bus trace to this pcap file (Wireshark)")
    p.add_argument("--heapsize", help="MicroPython heap size, e.g. 128K")
    p.add_argument("-q", "--quiet", action="store_true", help="do not echo firmware output")
    p.add_argument(
        "--fresh", action="store_true", help="forget the EEPROM state: start from the board file"
    )
    args = p.parse_args(argv)
    log = (lambda line: None) if args.quiet else (lambda line: print(f"  [firmware] {line}"))
    sim = Simulator(
        args.board,
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


if __name__ == "__main__":
    sys.exit(main())
