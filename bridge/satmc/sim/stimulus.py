"""The simulated board's physical values, from outside the simulator process.

    set_values("sim:///run/user/1000/satmc-1000/sim.sock", "temp0", temperature=80.0)
    state("sim://", "temp0")          # {"temperature": 80.0, "present": True}
    devices("sim://")                 # every device model and its state
    set_values("sim://.../bench2.sock", "temp0", address=0x74, temperature=80.0)
    satellites("sim://.../bench2.sock")   # [{address, name, board, url}, ...]

Device names and stimulus keys come from the board file's `sim.devices`; the control
op `device` does the work (see satmc.sim.simulator). On a chassis (satmc.sim.chassis)
`address` picks the satellite; a single simulator has one and ignores it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import SatmcError
from ..vbus.client import BusControl


def socket_path(target: str | None) -> str:
    """The bus socket of a sim:// target URL (None or sim:// alone: the default one)."""
    from .simulator import default_socket

    if not target:
        return default_socket()
    parts = urlsplit(target)
    if parts.scheme != "sim":
        raise SatmcError(f"{target!r} is not a simulator; stimulus needs a sim:// target")
    return (parts.netloc + parts.path) or default_socket()


def satellites(target: str | None) -> list[dict]:
    """The satellites a simulator runs: [{address, name, board, url}] (one without a chassis)."""
    with BusControl(socket_path(target)) as c:
        return c.call("satellites")["satellites"]


def _call(target: str | None, address: int | None, op: str, **args) -> dict:
    with BusControl(socket_path(target)) as c:
        if address is not None and c.call("satellites")["chassis"]:
            there = [s["address"] for s in satellites(target)]
            if address not in there:
                have = ", ".join(f"{a:#04x}" for a in there)
                raise SatmcError(
                    f"no simulated satellite at {address:#04x} on {target or 'sim://'}; "
                    f"there: {have} (choose one with -a)"
                )
            args["address"] = address
        return c.call(op, **args)


def set_values(target: str | None, name: str, address: int | None = None, **values) -> dict:
    """Set physical values of device `name` (of the satellite at `address` on a chassis);
    returns its new state."""
    return _call(target, address, "device", name=name, set=values)["state"]


def state(target: str | None, name: str, address: int | None = None) -> dict:
    return _call(target, address, "device", name=name)["state"]


def devices(target: str | None, address: int | None = None) -> dict[str, dict]:
    """Every device model's state, by name."""
    return _call(target, address, "devices")
