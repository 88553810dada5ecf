"""Send Message bridging to the IPMB: the satellites' workers and the tracking table.

    links = Links(satellites)                    # transports.Satellite on one interface
    cc, data = await links.get(0x72).raw(codes.NETFN_APP, codes.CMD_GET_DEVICE_ID)
    table = TrackingTable(size=32, lifetime=5.0)

Each satellite has a worker thread of its own (python-ipmi's interfaces block), so a
slow or absent satellite delays only the requests addressed to it; the sessions and the
other satellites go on. The IPMB side uses the BMC's own requester address and sequence
numbers (python-ipmi's router matches the responses); the tracking table remembers, for
each bridged request in flight, which LAN requester (session, rqSA, rqSeq) it belongs
to, so the response goes back under the requester's own header. The table is bounded
(a full table answers "node busy") and an entry lives 5 s at most (IPMB's sequence
lifetime): a response arriving after that is dropped, never matched to a newer request.

Hand-written: no Python library bridges LAN requests onto an IPMB (pyghmi's BMC side
passes Send Message to the application as an unknown command).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyipmi
from pyipmi.interfaces.ipmb import IpmbHeaderReq, IpmbHeaderRsp, checksum, encode_ipmb_msg

from ..errors import BusError, BusNackError, NoResponseError
from ..ipmi import codes
from ..transports import Satellite, check_address

SEQUENCE_LIFETIME = 5.0  # seconds (IPMB v1.0: a sequence number is not reused sooner)
TRACKING_ENTRIES = 32
IPMB_MAX_FRAME = 32  # bytes, address byte included


class FrameError(ValueError):
    """An embedded IPMB message that is too short or whose checksums do not add up."""


def parse_request(frame: bytes) -> tuple[IpmbHeaderReq, bytes]:
    """The header and data of an IPMB-format request (rsSA first, both checksums)."""
    if len(frame) < 7:
        raise FrameError(f"an IPMB request has at least 7 bytes, not {len(frame)}")
    if checksum(frame[:2]) != frame[2] or checksum(frame[3:-1]) != frame[-1]:
        raise FrameError("checksum mismatch in the embedded IPMB request")
    return IpmbHeaderReq(frame), bytes(frame[6:-1])


def response_message(req: IpmbHeaderReq, cc: int, data: bytes = b"", rs_sa: int | None = None):
    """The IPMB-format response to `req` (rqSA first, both checksums)."""
    h = IpmbHeaderRsp()
    h.from_req_header(req)
    h.netfn = req.netfn + 1  # from_req_header assumes an even netFn, as requests have
    if rs_sa is not None:
        h.rs_sa = rs_sa
    return encode_ipmb_msg(h, bytes((cc,)) + bytes(data))


@dataclass
class Tracked:
    key: tuple
    deadline: float
    future: asyncio.Future


class TrackingTable:
    """Bridged requests in flight, by (session, rqSA, rqSeq, netFn, cmd, data)."""

    def __init__(
        self,
        size: int = TRACKING_ENTRIES,
        lifetime: float = SEQUENCE_LIFETIME,
        clock=time.monotonic,
    ):
        self.size = size
        self.lifetime = lifetime
        self.clock = clock
        self._entries: dict[tuple, Tracked] = {}
        self.expired = 0  # entries dropped after their lifetime
        self.refused = 0  # requests refused because the table was full
        self.duplicates = 0  # requests that joined an identical one in flight

    def __len__(self) -> int:
        return len(self._entries)

    def purge(self) -> None:
        now = self.clock()
        for key in [k for k, e in self._entries.items() if e.deadline <= now]:
            e = self._entries.pop(key)
            self.expired += 1
            if not e.future.done():
                e.future.cancel()

    def open(self, key: tuple) -> tuple[Tracked | None, bool]:
        """(entry, True) for a new request; (the entry in flight, False) for a duplicate;
        (None, False) when the table is full."""
        self.purge()
        e = self._entries.get(key)
        if e is not None:
            self.duplicates += 1
            return e, False
        if len(self._entries) >= self.size:
            self.refused += 1
            return None, False
        e = Tracked(key, self.clock() + self.lifetime, asyncio.get_running_loop().create_future())
        self._entries[key] = e
        return e, True

    def holds(self, entry: Tracked) -> bool:
        """Is the entry still tracked (not expired)? Checked before its response goes out."""
        self.purge()
        return self._entries.get(entry.key) is entry

    def close(self, entry: Tracked) -> None:
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]


class Link:
    """One satellite: its connection and the worker thread its requests run on."""

    def __init__(self, sat: Satellite):
        self.sat = sat
        self.address = sat.address
        self.worker = ThreadPoolExecutor(1, thread_name_prefix=f"bmc-ipmb-{sat.address:02x}")

    async def run(self, fn, *args):
        """fn(sat, *args) on this satellite's worker."""
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, self.sat, *args)

    async def raw(self, netfn: int, cmd: int, data: bytes = b"", lun: int = 0):
        """(cc, data); NoResponseError, BusNackError (nothing at the address), BusError."""
        return await self.run(lambda sat: sat.raw(netfn, cmd, data, lun))

    def close(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)


class Links:
    """The satellites by address; a request to another address gets a link on the same
    interface when first asked (a bus may hold controllers nobody listed)."""

    def __init__(self, satellites: list[Satellite]):
        self.interface = satellites[0].interface if satellites else None
        self._links = {s.address: Link(s) for s in satellites}
        self.configured = [s.address for s in satellites]

    def get(self, address: int) -> Link:
        link = self._links.get(address)
        if link is None:
            check_address(address)
            ipmi = pyipmi.create_connection(self.interface)
            ipmi.target = pyipmi.Target(ipmb_address=address)
            link = self._links[address] = Link(Satellite(self.interface, ipmi, address))
        return link

    def __iter__(self):
        return iter(self._links[a] for a in self.configured)

    def close(self) -> None:
        for link in self._links.values():
            link.close()
        if self.configured:
            self._links[self.configured[0]].sat.close()


async def bridge(link: Link, req: IpmbHeaderReq, data: bytes) -> tuple[int, bytes | None]:
    """Forward one request; (Send Message cc, the response message or None).

    Nothing acknowledging the address is Send Message's own NAK on write (83h); a
    satellite that acknowledges but never answers gets a response with C3 (timeout) in
    its name, so the client is not left waiting."""
    try:
        cc, rsp = await link.raw(req.netfn, req.cmdid, data, req.rs_lun)
    except BusNackError:
        return codes.CC_SEND_NAK_ON_WRITE, None
    except NoResponseError:
        return codes.CC_OK, response_message(req, codes.CC_TIMEOUT)
    except BusError:
        return codes.CC_SEND_BUS_ERROR, None
    return codes.CC_OK, response_message(req, cc, rsp)
