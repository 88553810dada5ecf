"""A pyusb backend whose only devices are emulated FT232H chips (see ft232h.py).

    backend = TwinBackend([FT232H("SATMC01", bus, address=1)], "/tmp/satmc/sim.sock")
    usb.core.find(idVendor=0x0403, backend=backend)

pyftdi loads backends by module name (`UsbTools.BACKENDS`) and calls the module's
`get_backend()`; `satmc.twin.install()` points it here and sets the backend that
`get_backend()` returns. Descriptors come from the chip; string descriptors and FTDI
vendor requests go through `ctrl_transfer`, as they would on a wire.
"""

from __future__ import annotations

import errno

from usb.backend import IBackend
from usb.core import USBError

from ..errors import SatmcError
from .ft232h import FT232H, Stall

_installed: TwinBackend | None = None


def get_backend() -> TwinBackend | None:
    """The backend pyftdi loads through `UsbTools.BACKENDS` (None: none installed)."""
    return _installed


def set_backend(backend: TwinBackend | None) -> None:
    global _installed
    _installed = backend


class _Handle:
    """An open device (pyusb's dev_handle)."""

    def __init__(self, chip: FT232H):
        self.chip = chip
        self.configuration = 1
        self.claimed: set[int] = set()


def _unplugged(chip: FT232H, e: Exception) -> USBError:
    return USBError(f"FT232H twin {chip.serial}: virtual bus gone ({e})", errno=errno.ENODEV)


class TwinBackend(IBackend):
    def __init__(self, chips: list[FT232H], socket_path: str):
        super().__init__()
        self.chips = chips
        self.socket_path = socket_path

    def chip(self, serial: str) -> FT232H:
        for chip in self.chips:
            if chip.serial == serial:
                return chip
        raise KeyError(f"no FT232H twin with serial {serial!r}")

    # --- enumeration and descriptors ------------------------------------------------------

    def enumerate_devices(self):
        return iter(self.chips)

    def get_parent(self, dev):
        return None

    def get_device_descriptor(self, dev):
        return dev.device

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError(f"configuration {config}")
        return dev.configuration

    def get_interface_descriptor(self, dev, intf, alt, config):
        if config != 0 or intf != 0 or alt != 0:
            raise IndexError(f"interface {intf} alternate setting {alt}")
        return dev.interface

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        self.get_interface_descriptor(dev, intf, alt, config)
        return dev.endpoints[ep]

    # --- device handles -------------------------------------------------------------------

    def open_device(self, dev):
        return _Handle(dev)

    def close_device(self, dev_handle):
        dev_handle.claimed.clear()

    def set_configuration(self, dev_handle, config_value):
        if config_value not in (0, 1):
            raise USBError(f"configuration {config_value}", errno=errno.EINVAL)
        dev_handle.configuration = config_value

    def get_configuration(self, dev_handle):
        return dev_handle.configuration

    def set_interface_altsetting(self, dev_handle, intf, altsetting):
        if intf != 0 or altsetting != 0:
            raise USBError(f"interface {intf} alternate setting {altsetting}", errno=errno.EINVAL)

    def claim_interface(self, dev_handle, intf):
        if intf != 0:
            raise USBError(f"no interface {intf}", errno=errno.ENOENT)
        dev_handle.claimed.add(intf)

    def release_interface(self, dev_handle, intf):
        dev_handle.claimed.discard(intf)

    def is_kernel_driver_active(self, dev_handle, intf):
        return False

    def detach_kernel_driver(self, dev_handle, intf):
        pass

    def attach_kernel_driver(self, dev_handle, intf):
        pass

    def clear_halt(self, dev_handle, ep):
        pass

    def reset_device(self, dev_handle):
        dev_handle.chip.usb_reset()

    # --- transfers ------------------------------------------------------------------------

    def bulk_write(self, dev_handle, ep, intf, data, timeout):
        chip = dev_handle.chip
        try:
            return chip.bulk_out(bytes(data))
        except (OSError, SatmcError) as e:
            raise _unplugged(chip, e) from e

    def bulk_read(self, dev_handle, ep, intf, buff, timeout):
        data = dev_handle.chip.bulk_in(len(buff))
        buff[: len(data)] = type(buff)(buff.typecode, data)
        return len(data)

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):
        chip = dev_handle.chip
        into = bmRequestType & 0x80
        try:
            got = chip.control(
                bmRequestType,
                bRequest,
                wValue,
                wIndex,
                b"" if into else bytes(data),
                len(data) if into else 0,
            )
        except Stall as e:
            raise USBError(f"Pipe error ({e})", errno=errno.EPIPE) from e
        except (OSError, SatmcError) as e:
            raise _unplugged(chip, e) from e
        if into:
            data[: len(got)] = type(data)(data.typecode, got)
            return len(got)
        return len(data)
