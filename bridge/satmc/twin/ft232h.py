"""One emulated FT232H: USB descriptors, FTDI vendor requests, bulk endpoints, counters.

    chip = FT232H("SATMC01", BusController(path, "ipmb", name="ftdi:SATMC01"), address=1)
    chip.control(0x40, 0x0B, 0x0203, 1, b"")     # set bitmode MPSSE
    chip.bulk_out(bytes((0x81, 0x87)))           # get pins, send immediate
    chip.bulk_in(512)                            # b"\\x32\\x60" + pins
    chip.counters       # {"bulk_out": 1, "bulk_in": 1, "round_trips": 1, "control": 1}

Bulk IN data comes in 512-byte packets, each opening with the chip's two modem-status
bytes; an IN with nothing queued returns the two status bytes alone (as the chip does
when its latency timer expires). Bytes written to the OUT endpoint are MPSSE commands
once bitmode 0x02 is set; in other modes they would be UART data and are dropped.

Counters: bulk OUT and IN transfers, control transfers, and round trips: turnarounds
from OUT to IN (commands sent, then the host waits for their answer). Stock pyftdi
makes one per written I2C byte; a batch split over two OUT transfers by pyftdi's
FIFO-sized chunking is still one round trip.
"""

from __future__ import annotations

import threading

from .mpsse import MPSSE

VENDOR_ID = 0x0403
PRODUCT_ID = 0x6014
BCD_DEVICE = 0x0900  # FT232H
PACKET_SIZE = 512
EP_IN = 0x81
EP_OUT = 0x02
MODEM_STATUS = bytes((0x32, 0x60))  # CTS | DSR; THRE | TEMT (TX empty)
LATENCY_DEFAULT = 16

STRINGS = {1: "FTDI", 2: "Single RS232-HS"}  # 3: the serial number

# Vendor requests (bRequest) and their wValue codes
SIO_RESET, SIO_SET_MODEM_CTRL, SIO_SET_FLOW_CTRL, SIO_SET_BAUDRATE, SIO_SET_DATA = range(5)
SIO_POLL_MODEM_STATUS = 0x05
SIO_SET_EVENT_CHAR = 0x06
SIO_SET_ERROR_CHAR = 0x07
SIO_SET_LATENCY_TIMER = 0x09
SIO_GET_LATENCY_TIMER = 0x0A
SIO_SET_BITMODE = 0x0B
SIO_READ_PINS = 0x0C
RESET_SIO, PURGE_RX, PURGE_TX = range(3)
BITMODE_MPSSE = 0x02

GET_DESCRIPTOR = 0x06
DESC_STRING = 0x03
LANGID_EN_US = 0x0409


class Stall(Exception):
    """The chip refuses a control request (a STALL handshake on endpoint 0)."""


class Descriptor:
    """A USB descriptor as pyusb reads it: fields as attributes."""

    def __init__(self, **fields):
        self.extra_descriptors = []
        self.__dict__.update(fields)


class FT232H:
    """An FT232H whose MPSSE port drives a virtual I2C bus."""

    def __init__(self, serial: str, bus, address: int, usb_bus: int = 1):
        self.serial = serial
        self.bus = bus
        self.mpsse = MPSSE(bus)
        self.counters = {"bulk_out": 0, "bulk_in": 0, "round_trips": 0, "control": 0}
        self._last_out = False
        self.latency = LATENCY_DEFAULT
        self.bitmode = 0
        self.bitmask = 0
        self.event_char = 0
        self.error_char = 0
        self._lock = threading.Lock()
        self._tx = bytearray()  # chip -> host, waiting for bulk IN
        self.device = Descriptor(
            bLength=18,
            bDescriptorType=1,
            bcdUSB=0x0200,
            bDeviceClass=0,
            bDeviceSubClass=0,
            bDeviceProtocol=0,
            bMaxPacketSize0=64,
            idVendor=VENDOR_ID,
            idProduct=PRODUCT_ID,
            bcdDevice=BCD_DEVICE,
            iManufacturer=1,
            iProduct=2,
            iSerialNumber=3,
            bNumConfigurations=1,
            address=address,
            bus=usb_bus,
            port_number=address,
            port_numbers=(address,),
            speed=3,  # high speed
        )
        self.configuration = Descriptor(
            bLength=9,
            bDescriptorType=2,
            wTotalLength=32,
            bNumInterfaces=1,
            bConfigurationValue=1,
            iConfiguration=0,
            bmAttributes=0x80,
            bMaxPower=45,
        )
        self.interface = Descriptor(
            bLength=9,
            bDescriptorType=4,
            bInterfaceNumber=0,
            bAlternateSetting=0,
            bNumEndpoints=2,
            bInterfaceClass=0xFF,
            bInterfaceSubClass=0xFF,
            bInterfaceProtocol=0xFF,
            iInterface=2,
        )
        self.endpoints = [
            Descriptor(
                bLength=7,
                bDescriptorType=5,
                bEndpointAddress=ep,
                bmAttributes=2,
                wMaxPacketSize=PACKET_SIZE,
                bInterval=0,
                bRefresh=0,
                bSynchAddress=0,
            )
            for ep in (EP_IN, EP_OUT)
        ]

    def usb_reset(self) -> None:
        """A USB port reset: back to the power-on state (UART mode, buffers empty)."""
        with self._lock:
            self.mpsse.reset()
            self._tx.clear()
            self.bitmode = self.bitmask = 0
            self.latency = LATENCY_DEFAULT

    def reset_counters(self) -> None:
        for k in self.counters:
            self.counters[k] = 0

    # --- endpoint 0 -----------------------------------------------------------------------

    def control(
        self, request_type: int, request: int, value: int, index: int, data: bytes, length: int
    ) -> bytes:
        """One control transfer; returns the IN data stage (empty for OUT requests)."""
        with self._lock:
            self.counters["control"] += 1
            if request_type == 0x80 and request == GET_DESCRIPTOR:
                return self._descriptor(value >> 8, value & 0xFF)[:length]
            if request_type == 0x40:
                self._vendor_out(request, value)
                return b""
            if request_type == 0xC0:
                return self._vendor_in(request)[:length]
        raise Stall(f"request type 0x{request_type:02x} request 0x{request:02x}")

    def _descriptor(self, kind: int, index: int) -> bytes:
        if kind != DESC_STRING:
            raise Stall(f"descriptor type {kind}")
        if index == 0:
            body = LANGID_EN_US.to_bytes(2, "little")
        elif index == 3:
            body = self.serial.encode("utf-16-le")
        elif index in STRINGS:
            body = STRINGS[index].encode("utf-16-le")
        else:
            raise Stall(f"string {index}")
        return bytes((2 + len(body), DESC_STRING)) + body

    def _vendor_out(self, request: int, value: int) -> None:
        if request == SIO_RESET:
            if value in (RESET_SIO, PURGE_TX):
                self._tx.clear()
            if value in (RESET_SIO, PURGE_RX):
                self.mpsse.purge()
        elif request == SIO_SET_BITMODE:
            mode, mask = value >> 8, value & 0xFF
            if self.bitmode == BITMODE_MPSSE and mode != BITMODE_MPSSE:
                self.mpsse.reset()
            self.bitmode, self.bitmask = mode, mask
        elif request == SIO_SET_LATENCY_TIMER:
            if not 1 <= value <= 255:
                raise Stall(f"latency {value}")
            self.latency = value
        elif request == SIO_SET_EVENT_CHAR:
            self.event_char = value
        elif request == SIO_SET_ERROR_CHAR:
            self.error_char = value
        elif request not in (
            SIO_SET_MODEM_CTRL,
            SIO_SET_FLOW_CTRL,
            SIO_SET_BAUDRATE,
            SIO_SET_DATA,
        ):
            raise Stall(f"vendor request 0x{request:02x}")

    def _vendor_in(self, request: int) -> bytes:
        if request == SIO_GET_LATENCY_TIMER:
            return bytes((self.latency,))
        if request == SIO_POLL_MODEM_STATUS:
            return MODEM_STATUS
        if request == SIO_READ_PINS:
            return bytes((self.mpsse.pins() & 0xFF,))
        raise Stall(f"vendor request 0x{request:02x}")

    # --- bulk endpoints -------------------------------------------------------------------

    def bulk_out(self, data: bytes) -> int:
        with self._lock:
            self.counters["bulk_out"] += 1
            self._last_out = True
            if self.bitmode == BITMODE_MPSSE:
                self._tx += self.mpsse.execute(data)
            return len(data)

    def bulk_in(self, size: int) -> bytes:
        """Up to `size` bytes: packets of status + up to 510 data bytes; a short packet
        ends the transfer."""
        with self._lock:
            self.counters["bulk_in"] += 1
            if self._last_out:
                self.counters["round_trips"] += 1
                self._last_out = False
            out = bytearray()
            while len(out) + len(MODEM_STATUS) <= size:
                room = min(PACKET_SIZE, size - len(out)) - len(MODEM_STATUS)
                chunk = self._tx[:room]
                del self._tx[:room]
                out += MODEM_STATUS + chunk
                if not self._tx or len(chunk) < PACKET_SIZE - len(MODEM_STATUS):
                    break
            return bytes(out)
