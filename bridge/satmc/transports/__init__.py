"""Transports by URL, each a python-ipmi IPMB interface, and a connection helper.

    with connect("sim://", address=0x72) as sat:      # default simulator socket
        print(sat.ipmi.get_device_id())
        cc, data = sat.raw(codes.NETFN_APP, codes.CMD_GET_DEVICE_ID)  # satmc.ipmi.codes

URLs:
    sim://[SOCKET][?readback=1]    the simulator's virtual IPMB (readback: act master-only)
    ftdi://ftdi:232h[:SERIAL]/1[?freq=100000&clockstretching=1]
                                   an FTDI MPSSE adapter through pyftdi (readback);
                                   with twin=SOCKET, the FT232H twin on that simulator
    serial:///dev/ttyACM0[?baud=N] IPMI Serial Basic Mode on a board's USB serial (pyserial)
    socket://HOST:PORT             the same over TCP (the simulator's serial line)
    lan://USER[:PASSWORD]@HOST[:PORT]  through a BMC on the LAN (the bench BMC, an MCH),
                                   bridged to IPMB channel 0: IPMI 1.5 (transports/lan.py)
    lanplus://USER[:PASSWORD]@HOST[:PORT]  the same over RMCP+, IPMI 2.0 (transports/lanplus.py)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyipmi
from pyipmi.errors import CompletionCodeError as SendMessageFailed
from pyipmi.errors import IpmiTimeoutError, RetryError
from pyipmi.interfaces.ipmb import IpmbHeaderReq

from ..board.ipmb import check_address  # noqa: F401  (its home is the board model)
from ..errors import (
    AdapterError,
    BusError,
    CompletionCodeError,
    NoResponseError,
    SendMessageError,
)
from ..ipmi.codes import (
    CC_OK,
    CC_SEND_NAK_ON_WRITE,
    CMD_GET_DEVICE_ID,
    NETFN_APP,
    command_title,
)
from .options import flag, url_options

SCHEMES = ("sim", "ftdi", "serial", "socket", "lan", "lanplus")
LAN_SCHEMES = ("lan://", "lanplus://")  # through a BMC: frames are the BMC's to build


def default_sim_url() -> str:
    from ..sim.simulator import default_socket

    return f"sim://{default_socket()}"


def create_interface(
    url: str, slave_address: int = 0x20, readback: bool | None = None, twin: str | None = None
):
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme == "sim":
        from .sim import SimInterface

        path = parts.netloc + parts.path
        if not path:
            path = default_sim_url()[len("sim://") :]
        q = url_options(url, ("readback",))
        if readback is None:
            readback = flag(url, "readback", q["readback"]) if "readback" in q else False
        return SimInterface(path, slave_address=slave_address, readback=readback)
    if scheme == "ftdi":
        from .ftdi import FtdiInterface

        return FtdiInterface(url, slave_address=slave_address, twin=twin)
    if scheme in ("serial", "socket"):
        from .serial import SerialInterface

        baud = url_options(url, ("baud",)).get("baud", "115200")
        if not baud.isdigit() or not 0 < int(baud) <= 4_000_000:
            raise AdapterError(f"{url}: baud={baud!r}: give the line's rate, e.g. 115200")
        if scheme == "serial" and not (parts.netloc + parts.path):
            raise AdapterError(f"{url!r} names no device; e.g. serial:///dev/ttyACM0")
        if scheme == "socket":
            try:
                port = parts.port
            except ValueError:
                port = None
            if not parts.hostname or not port or parts.path not in ("", "/"):
                raise AdapterError(f"{url!r}: use socket://HOST:PORT (a TCP port, 1..65535)")
        return SerialInterface(url, baudrate=int(baud))
    raise AdapterError(
        f"unknown target URL {url!r}; use one of: " + ", ".join(f"{s}://..." for s in SCHEMES)
    )


def _ipmb_target(address: int) -> pyipmi.Target:
    return pyipmi.Target(ipmb_address=address)


@dataclass
class Satellite:
    """A connection to one satellite: python-ipmi's Ipmi plus raw access.

    via: through a BMC on the LAN (lan://, lanplus://), its HOST:PORT, else "";
    target_for: the python-ipmi Target of an address on this connection (lan:// routes
    it through the BMC)."""

    interface: object
    ipmi: pyipmi.Ipmi
    address: int
    via: str = ""
    target_for: Callable[[int], pyipmi.Target] = _ipmb_target

    def retarget(self, address: int) -> None:
        """Address the controller at `address` from now on (satmc scan)."""
        self.ipmi.target = self.target_for(address)
        self.address = address

    def _tries(self) -> int:
        i = self.interface
        return getattr(i, "tries", None) or max(1, getattr(i, "max_retries", 1))

    def raw(
        self, netfn: int, cmd: int, data: bytes = b"", lun: int = 0, nak_tries: int = 0
    ) -> tuple[int, bytes]:
        """Send a request; returns (completion code, response data).

        Through a BMC (lan://, lanplus://) the BMC's own Send Message may fail: a NAK on
        write (83h: the satellite did not take the request, e.g. busy or resetting) is
        sent again like a lost request, up to the connection's tries; then, or on another
        Send Message code, SendMessageError (a BusError) names the command and the code.
        nak_tries: send it that often on 83h instead (1: never again, as satmc scan does,
        where an empty address is the common case)."""
        tries = nak_tries or self._tries()
        for attempt in range(tries):
            try:
                rsp = self.interface.send_and_receive_raw(
                    self.ipmi.target, lun, netfn, bytes((cmd,)) + bytes(data)
                )
            except (IpmiTimeoutError, RetryError) as e:
                raise NoResponseError(self._no_answer(netfn, cmd)) from e
            except SendMessageFailed as e:  # python-ipmi's, from the bridging BMC
                if e.cc != CC_SEND_NAK_ON_WRITE or attempt == tries - 1:
                    raise SendMessageError(self.address, netfn, cmd, e.cc, self.via) from None
                time.sleep(0.05 * (attempt + 1))
                continue
            return rsp[0], bytes(rsp[1:])
        raise AssertionError("unreachable")

    def call(self, netfn: int, cmd: int, data: bytes = b"", what: str = "") -> bytes:
        """Send a request; returns its data, raising CompletionCodeError unless cc is 00."""
        cc, rsp = self.raw(netfn, cmd, data)
        if cc:
            raise CompletionCodeError(cc, what or f"netFn 0x{netfn:02x} cmd 0x{cmd:02x}")
        return rsp

    def broadcast_get_device_id(self, address: int | None = None, timeout: float | None = None):
        """Broadcast Get Device ID to `address` (never retried); response data or None.
        timeout: the connection's request timeout unless given."""
        intf = self.interface
        if self.via:
            raise AdapterError(
                f"Broadcast Get Device ID needs the bus itself; through the BMC at {self.via} "
                "use Get Device ID (satmc scan without --broadcast)"
            )
        timeout = intf.timeout if timeout is None else timeout
        header = IpmbHeaderReq()
        header.netfn, header.rs_lun, header.rq_lun, header.cmdid = (
            NETFN_APP,
            0,
            0,
            CMD_GET_DEVICE_ID,
        )
        header.rs_sa = self.address if address is None else address
        header.rq_sa = intf.slave_address
        header.rq_seq = intf._inc_sequence_number()
        intf.broadcast_next = True  # the interface sends the next frame as a general call
        try:
            frame = intf.router.request(intf, header, None, timeout)
        except IpmiTimeoutError:
            return None
        finally:
            intf.broadcast_next = False
        return frame[7:-1] if frame[6] == CC_OK else None

    def _no_answer(self, netfn: int, cmd: int) -> str:
        i = self.interface
        tries = getattr(i, "tries_text", None)
        tries = tries or f"after {self._tries()} tries ({i.timeout * 1000:.0f} ms each)"
        if not self.via:
            return f"no response from IPMB 0x{self.address:02x} {tries}"
        name = command_title(netfn, cmd)
        if self.address == 0x20:
            return f"no response from the BMC at {self.via}: {name} to it {tries}"
        return (
            f"no response through the BMC at {self.via}: {name} to IPMB "
            f"0x{self.address:02x} by Send Message {tries}; is the BMC up, this session "
            "still open and the satellite answering?"
        )

    def close(self) -> None:
        self.ipmi.close()

    def __enter__(self) -> Satellite:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(
    url: str,
    address: int = 0x72,
    slave_address: int = 0x20,
    readback: bool | None = None,
    timeout: float = 0.25,
    retries: int = 3,
    twin: str | None = None,
) -> Satellite:
    return connect_many(url, [address], slave_address, readback, timeout, retries, twin)[0]


def connect_many(
    url: str,
    addresses: list[int],
    slave_address: int = 0x20,
    readback: bool | None = None,
    timeout: float = 0.25,
    retries: int = 3,
    twin: str | None = None,
) -> list[Satellite]:
    """One connection per address, all on one interface (one bus, one requester address,
    one router for what the satellites send, such as Platform Events). Closing one
    closes the interface they share."""
    for a in addresses:
        check_address(a)
    if retries < 1:
        raise AdapterError(f"retries={retries}: a request is tried at least once (1 or more)")
    if urlsplit(url).scheme == "lanplus":
        from . import lanplus

        intf = lanplus.open_session(url, timeout, retries)
        via = f"{intf.host}:{intf.port}"
        return [Satellite(intf, lanplus.connection(intf, a), a, via) for a in addresses]
    if urlsplit(url).scheme == "lan":
        from . import lan

        intf, first = lan.open_session(url, timeout, retries)
        out = []
        for i, a in enumerate(addresses):
            ipmi = first if i == 0 else pyipmi.Ipmi(interface=intf, session=None)
            ipmi.target = lan.target(a)
            out.append(Satellite(intf, ipmi, a, intf.via, lan.target))
        return out
    intf = create_interface(url, slave_address=slave_address, readback=readback, twin=twin)
    intf.timeout = timeout
    intf.max_retries = retries
    out = []
    for a in addresses:
        ipmi = pyipmi.create_connection(intf)
        ipmi.target = pyipmi.Target(ipmb_address=a)
        ipmi.open()
        out.append(Satellite(intf, ipmi, a))
    return out


def wait_until_answering(sat: Satellite, seconds: float) -> bool:
    """Poll Get Device ID until the satellite answers (after a reset)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)
            return True
        except (NoResponseError, BusError):
            time.sleep(0.05)
    return False
