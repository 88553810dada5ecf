"""The simulated board's physical values, from outside the simulator process.

    set_values("sim:///run/user/1000/satmc-1000/sim.sock", "temp0", temperature=80.0)
    state("sim://", "temp0")          # {"temperature": 80.0, "present": True}
    devices("sim://")                 # every device model and its state

Device names and stimulus keys come from the board file's `sim.devices`; the control
op `device` does the work (see satmc.sim.simulator).
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


def set_values(target: str | None, name: str, **values) -> dict:
    """Set physical values of device `name`; returns its new state."""
    with BusControl(socket_path(target)) as c:
        return c.call("device", name=name, set=values)["state"]


def state(target: str | None, name: str) -> dict:
    with BusControl(socket_path(target)) as c:
        return c.call("device", name=name)["state"]


def devices(target: str | None) -> dict[str, dict]:
    """Every device model's state, by name."""
    with BusControl(socket_path(target)) as c:
        return c.call("devices")
