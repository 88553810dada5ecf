"""The `ftdi` transport: an FTDI MPSSE adapter (FT232H and kin) through pyftdi.

    intf = FtdiInterface("ftdi://ftdi:232h/1")
    intf = FtdiInterface("ftdi://ftdi:232h/1?freq=400000&clockstretching=0")
    intf = FtdiInterface("ftdi://ftdi:232h/1", twin="/run/.../sim.sock")   # the FTDI twin
    ipmi = pyipmi.create_connection(intf); ipmi.target = pyipmi.Target(0x72)

MPSSE is an I2C controller only, so the adapter cannot receive master writes:
responses and events are fetched from the satellite by readback (see readback.py).
Each I2C transaction is one USB round trip (ftdi_batch.py); batched=False uses
pyftdi's I2cPort as it comes (a round trip per written byte, three per read).
With twin=SOCKET the adapter is an emulated FT232H on the simulator's bus (satmc.twin).

URL options (after `?`, joined by `&`): `freq` (I2C clock in Hz, 10000..1000000,
default 100000) and `clockstretching` (1/0, default 1: pyftdi's adaptive clocking,
each clock waits for SCL to read high on AD7; an RP2040 target holds SCL low while
its IRQ handler supplies each byte it sends, so without it the adapter reads garbage).
A try that timed out holds its rqSeq back for IPMB's 5 s (satmc.transports.sequence):
the satellite keeps an answer it could not deliver, and a readback may fetch it late.
Caveats: only the FT232H has true open-drain outputs (AD1 and AD2 joined as SDA);
clock stretching needs AD7 wired to SCL.

Access: pyftdi needs libusb-1.0 (Debian/Ubuntu: libusb-1.0-0), and a user other than
root needs a udev rule giving the adapter (0403:6014 for the FT232H) to the plugdev
group, and membership of that group; boards/README.md, "FTDI adapter access", has the
rule. The errors below name that section when either is missing.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit, urlunsplit

from pyipmi.interfaces.ipmb import IpmbInterface

from ..errors import AdapterError, BusError, BusNackError
from . import ftdi_batch
from .options import flag, url_options
from .readback import ReadbackPoller
from .retry import is_response, write_answer, write_retrying_nack
from .sequence import HoldsSequences

DEFAULT_FREQUENCY = 100_000
FREQUENCY_RANGE = (10_000, 1_000_000)
URL_OPTIONS = ("freq", "clockstretching")
_ACCESS_DOC = "boards/README.md, 'FTDI adapter access'"


def parse_url(url: str) -> tuple[str, dict]:
    """(pyftdi's URL, {"frequency": Hz, "clockstretching": bool} as far as given), or
    AdapterError naming the option that is wrong."""
    given = url_options(url, URL_OPTIONS, example="freq=100000&clockstretching=1")
    options: dict = {}
    if "freq" in given:
        value, (lo, hi) = given["freq"], FREQUENCY_RANGE
        if not value.isdigit() or not lo <= int(value) <= hi:
            raise AdapterError(f"{url}: freq={value!r}: give the I2C clock in Hz, {lo}..{hi}")
        options["frequency"] = int(value)
    if "clockstretching" in given:
        options["clockstretching"] = flag(url, "clockstretching", given["clockstretching"])
    return urlunsplit(urlsplit(url)._replace(query="")), options


def open_i2c(url: str, frequency: float = DEFAULT_FREQUENCY, clockstretching: bool = True):
    """A configured pyftdi I2cController, or AdapterError saying what is wrong."""
    try:
        from pyftdi.ftdi import FtdiError
        from pyftdi.i2c import I2cController
        from pyftdi.usbtools import UsbToolsError
        from usb.core import USBError
    except ImportError as e:  # pragma: no cover - pyftdi is a dependency
        raise AdapterError(f"pyftdi is not installed: {e}") from e
    ctrl = I2cController()
    try:
        ctrl.configure(url, frequency=frequency, clockstretching=clockstretching)
    except FtdiError as e:  # an adapter answered, but not as the URL wants (an interface)
        present = _present_urls()
        raise AdapterError(
            f"{url}: {e}. An FT232H has one interface, /1"
            + (f"; adapters present: {', '.join(present)}" if present else "")
        ) from e
    except UsbToolsError as e:
        present = _present_urls()
        raise AdapterError(
            f"{url}: {e}. "
            + (
                f"Adapters present: {', '.join(present)}"
                if present
                else "No FTDI adapter is plugged in"
            )
            + " (FTDI URLs look like ftdi://ftdi:232h/1 or ftdi://ftdi:232h:SERIAL/1)"
        ) from e
    except ValueError as e:
        msg = str(e)
        if "backend" in msg.lower():
            msg = (
                "no USB backend: install libusb-1.0 (Debian/Ubuntu: apt-get install "
                f"libusb-1.0-0; {_ACCESS_DOC})"
            )
        elif "device" in msg.lower() and "not" in msg.lower():
            msg = f"no FTDI adapter matches {url} ({e}); is it plugged in?"
        raise AdapterError(f"{url}: {msg}") from e
    except USBError as e:
        raise AdapterError(
            f"{url}: USB error {e}: this user may not open the adapter; add the udev rule and "
            f"join the plugdev group ({_ACCESS_DOC})"
        ) from e
    return ctrl


def _present_urls() -> list[str]:
    """URLs of the FTDI adapters pyftdi can see (empty when USB cannot be searched)."""
    from pyftdi.ftdi import Ftdi
    from pyftdi.usbtools import UsbTools
    from usb.core import USBError

    try:
        found = Ftdi.list_devices()
    except (ValueError, USBError):
        return []
    strings = UsbTools.build_dev_strings("ftdi", Ftdi.VENDOR_IDS, Ftdi.PRODUCT_IDS, found)
    return [url for url, _ in strings]


class FtdiInterface(HoldsSequences, IpmbInterface):
    NAME = "ftdi"

    def __init__(
        self,
        url: str,
        slave_address: int = 0x20,
        frequency: float | None = None,
        clockstretching: bool | None = None,
        router=None,
        batched: bool = True,
        twin: str | None = None,
    ):
        """frequency and clockstretching: where the URL gives no option of its own."""
        super().__init__(slave_address=slave_address, router=router)
        self.url, options = parse_url(url)
        given = {"frequency": frequency, "clockstretching": clockstretching}
        defaults = {"frequency": DEFAULT_FREQUENCY, "clockstretching": True}
        for name, value in given.items():
            options.setdefault(name, defaults[name] if value is None else value)
        self.frequency = options["frequency"]
        self.clockstretching = options["clockstretching"]
        self.batched = batched
        self.twin = twin
        self.responses_failed = 0  # answers the bus refused (satmc.transports.retry)
        self.i2c = None
        self._lock = threading.Lock()
        self.poller = ReadbackPoller(self._read)

    def open(self) -> None:
        if self.i2c is None:
            if self.twin:
                from .. import twin

                twin.ensure_installed(self.twin)
            i2c = open_i2c(self.url, self.frequency, self.clockstretching)
            if self.batched:
                try:
                    ftdi_batch.check_pyftdi(i2c)
                except AdapterError:
                    i2c.close()
                    raise
            self.i2c = i2c
            self._start_receiver()

    def _port(self, addr7: int):
        return self.i2c.get_port(addr7)

    def _write(self, addr7: int, data: bytes) -> None:
        from pyftdi.i2c import I2cIOError, I2cNackError

        with self._lock:
            if self.batched:
                return ftdi_batch.write_frame(self.i2c, addr7, data)
            try:
                self._port(addr7).write(data)
            except I2cNackError as e:
                raise BusNackError(addr7) from e
            except I2cIOError as e:
                raise BusError(f"I2C error at 0x{addr7:02x}: {e}") from e

    def _read(self, addr7: int, n: int) -> bytes:
        from pyftdi.i2c import I2cIOError, I2cNackError

        with self._lock:
            if self.batched:
                return ftdi_batch.read_frame(self.i2c, addr7, n)
            try:
                return bytes(self._port(addr7).read(n))
            except I2cNackError as e:
                raise BusNackError(addr7) from e
            except I2cIOError as e:
                raise BusError(f"I2C error at 0x{addr7:02x}: {e}") from e

    broadcast_next = False  # set by Satellite.broadcast_get_device_id for one frame

    def send_frame(self, frame: bytes) -> None:
        self._logger.debug("IPMB TX [%s]", bytes(frame).hex(" "))
        if self.i2c is None:
            self.open()
        addr7 = frame[0] >> 1
        self.poller.watch(addr7, self.timeout * (self.max_retries + 1) + 1.0)
        if self.broadcast_next:
            self._write(0x00, frame)
        elif is_response(frame):
            write_answer(self, lambda: self._write(addr7, frame[1:]))
        else:
            write_retrying_nack(lambda: self._write(addr7, frame[1:]))

    def _read_frame(self, timeout: float) -> bytes | None:
        return self.poller.read_frame(timeout)

    def _wakeup_receiver(self) -> None:
        self.poller.wake()

    def close(self) -> None:
        self._stop_receiver()
        if self.i2c is not None:
            self.i2c.close()
            self.i2c = None
        super().close()
