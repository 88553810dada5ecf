"""The chassis side `satmc bmc` serves: a BenchBmc for the target URL's satellites, or
for a simulated chassis started for the purpose (--chassis)."""

from __future__ import annotations

import contextlib

from ..errors import SatmcError


@contextlib.contextmanager
def responder_for(
    target: str | None,
    addresses: list[int],
    chassis: str | None = None,
    log=print,
    socket: str | None = None,
):
    """-> (BenchBmc, not started yet); a --chassis simulator (at `socket`, else the
    chassis's default socket) runs while the block does."""
    from .chassis import BenchBmc

    if socket is not None and chassis is None:
        raise SatmcError("--socket goes with --chassis; a running simulator is -t sim://PATH")
    if chassis is None:
        from ..transports import default_sim_url

        yield BenchBmc(target or default_sim_url(), addresses)
        return
    if target:
        raise SatmcError("--chassis starts a simulated chassis: give it or -t, not both")
    from ..sim.chassis import ChassisSimulator

    with ChassisSimulator(chassis, socket_path=socket) as sim:
        sats = [s.address for s in sim.satellites]
        log(f"simulated chassis {chassis}: satellites {', '.join(f'0x{a:02x}' for a in sats)}")
        yield BenchBmc(sim.url, sats)
