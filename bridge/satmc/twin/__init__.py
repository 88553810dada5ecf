"""The FTDI twin: emulated FT232H adapters under real pyftdi, wired to the simulator's bus.

    twin = satmc.twin.install("/tmp/satmc/sim.sock", serials=["SATMC01"])
    i2c = pyftdi.i2c.I2cController()
    i2c.configure("ftdi://ftdi:232h/1")          # finds the twin, not real hardware
    i2c.get_port(0x39).write(frame)
    twin.chip("SATMC01").counters                  # USB transfers so far
    satmc.twin.uninstall()

The twin lives in the host process (pyftdi and pyusb call it in place of libusb);
each chip is an I2C controller on the simulator's virtual bus through the socket.
While installed, pyftdi sees only the twin's chips: real adapters are hidden.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..vbus.client import BusController
from . import usb_backend
from .ft232h import FT232H
from .usb_backend import TwinBackend

_pyftdi_backends: tuple[str, ...] | None = None  # UsbTools.BACKENDS before install()


def install(
    socket_path: str, serials: Sequence[str] = ("SATMC01",), bus: str = "ipmb"
) -> TwinBackend:
    """Plug one FT232H twin per serial number into pyftdi; replaces an earlier install.

    Raises SimNotRunningError when no simulator serves socket_path."""
    from pyftdi.usbtools import UsbTools

    global _pyftdi_backends
    if not serials or len(set(serials)) != len(serials) or not all(serials):
        raise ValueError(f"serial numbers must be distinct and non-empty: {list(serials)}")
    uninstall()
    chips = []
    try:
        for i, serial in enumerate(serials):
            ctl = BusController(socket_path, bus, name=f"ftdi:{serial}")
            chips.append(FT232H(serial, ctl, address=i + 1))
    except BaseException:
        for chip in chips:
            chip.bus.close()
        raise
    backend = TwinBackend(chips, socket_path)
    usb_backend.set_backend(backend)
    if _pyftdi_backends is None:
        _pyftdi_backends = UsbTools.BACKENDS
    UsbTools.BACKENDS = (usb_backend.__name__,)
    UsbTools.flush_cache()
    return backend


def uninstall() -> None:
    """Unplug the twin's chips and give pyftdi its usual backends back."""
    from pyftdi.usbtools import UsbTools

    backend = usb_backend.get_backend()
    if backend is None:
        return
    UsbTools.release_all_devices(FT232H)
    for chip in backend.chips:
        chip.bus.close()
    usb_backend.set_backend(None)
    if _pyftdi_backends is not None:
        UsbTools.BACKENDS = _pyftdi_backends
    UsbTools.flush_cache()


def installed() -> TwinBackend | None:
    return usb_backend.get_backend()


def ensure_installed(socket_path: str) -> TwinBackend:
    """The installed twin if it serves socket_path, else a fresh install() for it."""
    backend = usb_backend.get_backend()
    if backend is not None and backend.socket_path == socket_path:
        return backend
    return install(socket_path)
