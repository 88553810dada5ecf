"""The chassis side of the bench BMC: the BMC at IPMB 0x20 in front of the satellites.

    bmc = BenchBmc("sim:///tmp/chassis.sock", [0x72, 0x74], log=EventLog(path, 1024))
    await bmc.start()                   # connects, becomes every satellite's event
                                        # receiver, reads their device SDRs
    cc, data = await bmc.handle(BmcRequest(netfn, cmd, data, privilege=USER, emit=...))
    await bmc.rescan()                  # the SDR repository, read again now
    await bmc.close()

It answers, as a BMC would: its own Get Device ID (11 bytes), self test, Device and
System GUID, channel info and access for IPMB channel 0 and the LAN channel; C1 for
the PICMG/VITA/HPM.2 probes ipmitool sends (netFn 2Ch) and for Serial over LAN, whose
configuration parameters are all "not supported" (80h) so `ipmitool sol info` says so;
Send Message with tracking to channel 0, nested for `-T/-B` (bridging.py); the SDR
repository (read-only: writes get C1) and SEL (repository.py) and its own FRU 0 (built
with frugy); Get Chassis Status/Capabilities and Chassis Identify as a BMC that switches
no power reports them (Chassis Control answers D5), Get POH Counter (the BMC's own
running minutes) and Get System Restart Cause ("unknown"); its own Cold and Warm Reset, taken
after the answer has gone (`restart`). Every command has a privilege (`PRIVILEGE`; a
bridged command is checked as the command it carries): a session below it gets D4 and
nothing happens.

Hand-written: no Python library is a BMC's chassis side (pyghmi's BMC answers Get
Device ID, resets and a few chassis commands; OpenIPMI's lanserv is C).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import logging
import struct
import time
import uuid
from dataclasses import replace
from pathlib import Path

from pyipmi.sdr import SdrCommon

from .. import __version__
from ..errors import CompletionCodeError, SatmcError
from ..eventlog import EventLog, EventReceiver, default_path, parse_platform_event
from ..fru.image import build_from_source
from ..ipmi import client, codes
from ..sensors import NoSensorsError, SensorClient, default_cache_dir
from ..transports import connect_many
from .api import ADMINISTRATOR, OPERATOR, USER, BmcRequest
from .bridging import FrameError, Links, TrackingTable, bridge, parse_request, response_message
from .repository import SdrRepository, Sel

log = logging.getLogger(__name__)

ADDRESS = 0x20
LAN_CHANNEL = 1
DEVICE_ID = 0x20
MANUFACTURER_ID = 32473  # IANA number reserved for documentation, as the boards use
PRODUCT_ID = 0x5342
SEL_CAPACITY = 1024
RECHECK_INTERVAL = 2.0  # seconds between SDR change indicator checks (in the background)
MAX_NESTING = 2  # Send Message inside Send Message (ipmitool -T/-B), no deeper
SDR_WRITES = (
    codes.CMD_ADD_SDR,
    codes.CMD_PARTIAL_ADD_SDR,
    codes.CMD_DELETE_SDR,
    codes.CMD_CLEAR_SDR_REPOSITORY,
)

FRU_SOURCE = {
    "BoardInfo": {
        "manufacturer": "satmc",
        "product_name": "Bench BMC",
        "serial_number": "",
        "part_number": "SATMC-BMC",
        "fru_file_id": "",
    },
    "ProductInfo": {
        "manufacturer": "satmc",
        "product_name": "Bench BMC",
        "part_number": "SATMC-BMC",
        "version": __version__,
        "serial_number": "",
        "asset_tag": "",
    },
}

_A, _S, _T = codes.NETFN_APP, codes.NETFN_SENSOR, codes.NETFN_STORAGE
_C = codes.NETFN_CHASSIS
PRIVILEGE = {  # (netFn, cmd) -> the lowest privilege level allowed; absent: administrator
    (_C, codes.CMD_GET_CHASSIS_CAPABILITIES): USER,
    (_C, codes.CMD_GET_CHASSIS_STATUS): USER,
    (_C, codes.CMD_CHASSIS_CONTROL): OPERATOR,
    (_C, codes.CMD_CHASSIS_IDENTIFY): OPERATOR,
    (_C, codes.CMD_GET_SYSTEM_RESTART_CAUSE): USER,
    (_C, codes.CMD_GET_POH_COUNTER): USER,
    (_A, codes.CMD_COLD_RESET): ADMINISTRATOR,
    (_A, codes.CMD_WARM_RESET): ADMINISTRATOR,
    (_A, codes.CMD_GET_DEVICE_ID): USER,
    (_A, codes.CMD_GET_SELF_TEST_RESULTS): USER,
    (_A, codes.CMD_GET_DEVICE_GUID): USER,
    (_A, codes.CMD_GET_SYSTEM_GUID): USER,
    (_A, codes.CMD_GET_CHANNEL_ACCESS): USER,
    (_A, codes.CMD_GET_CHANNEL_INFO): USER,
    (_A, codes.CMD_SEND_MESSAGE): USER,  # and the command it carries, checked on its own
    (codes.NETFN_TRANSPORT, codes.CMD_GET_SOL_CONFIGURATION): USER,
    (_S, codes.CMD_GET_EVENT_RECEIVER): USER,
    (_S, codes.CMD_GET_DEVICE_SDR_INFO): USER,
    (_S, codes.CMD_GET_DEVICE_SDR): USER,
    (_S, codes.CMD_RESERVE_DEVICE_SDR_REPOSITORY): USER,
    (_S, codes.CMD_GET_SENSOR_READING_FACTORS): USER,
    (_S, codes.CMD_GET_SENSOR_HYSTERESIS): USER,
    (_S, codes.CMD_GET_SENSOR_THRESHOLDS): USER,
    (_S, codes.CMD_GET_SENSOR_EVENT_ENABLE): USER,
    (_S, codes.CMD_GET_SENSOR_EVENT_STATUS): USER,
    (_S, codes.CMD_GET_SENSOR_READING): USER,
    (_S, codes.CMD_SET_EVENT_RECEIVER): OPERATOR,
    (_S, codes.CMD_PLATFORM_EVENT): OPERATOR,
    (_S, codes.CMD_SET_SENSOR_HYSTERESIS): OPERATOR,
    (_S, codes.CMD_SET_SENSOR_THRESHOLDS): OPERATOR,
    (_S, codes.CMD_SET_SENSOR_EVENT_ENABLE): OPERATOR,
    (_S, codes.CMD_REARM_SENSOR_EVENTS): OPERATOR,
    (_T, codes.CMD_GET_FRU_INVENTORY_AREA_INFO): USER,
    (_T, codes.CMD_READ_FRU_DATA): USER,
    (_T, codes.CMD_WRITE_FRU_DATA): ADMINISTRATOR,
    (_T, codes.CMD_GET_SDR_REPOSITORY_INFO): USER,
    (_T, codes.CMD_GET_SDR_REPOSITORY_ALLOCATION_INFO): USER,
    (_T, codes.CMD_RESERVE_SDR_REPOSITORY): USER,
    (_T, codes.CMD_GET_SDR): USER,
    **{(_T, c): OPERATOR for c in SDR_WRITES},  # refused: the repository is read-only
    (_T, codes.CMD_GET_SEL_INFO): USER,
    (_T, codes.CMD_RESERVE_SEL): USER,
    (_T, codes.CMD_GET_SEL_ENTRY): USER,
    (_T, codes.CMD_GET_SEL_TIME): USER,
    (_T, codes.CMD_GET_SEL_ALLOCATION_INFO): USER,
    (_T, codes.CMD_ADD_SEL_ENTRY): OPERATOR,
    (_T, codes.CMD_DELETE_SEL_ENTRY): OPERATOR,
    (_T, codes.CMD_CLEAR_SEL): OPERATOR,
    (_T, codes.CMD_SET_SEL_TIME): OPERATOR,
    (codes.NETFN_OEM, codes.CMD_GET_STATISTICS): USER,
    (codes.NETFN_OEM, codes.CMD_GET_HEAP_INFO): USER,
}


def required_privilege(netfn: int, cmd: int) -> int:
    """The privilege a command needs; PICMG/VITA probes and unknown commands: admin."""
    return PRIVILEGE.get((netfn, cmd), ADMINISTRATOR)


def mc_locator(address: int, capabilities: int, name: str) -> bytes:
    """A Management Controller Device Locator record (type 12h), record id 0."""
    text = name.encode()[:16]
    body = (
        bytes(
            (
                address,
                codes.CHANNEL_IPMB,
                0x00,  # no power state notification, events enabled
                capabilities,
                0,
                0,
                0,
                codes.ENTITY_SYSTEM_MANAGEMENT_MODULE,
                0x01,  # entity instance
                0x00,  # OEM
                0xC0 | len(text),
            )
        )
        + text
    )
    return struct.pack("<HBBB", 0, codes.SDR_VERSION, codes.SDR_TYPE_MC_LOCATOR, len(body)) + body


def presence_record(number: int, satellite: int) -> bytes:
    """A Compact Sensor Record (type 02h) of the BMC's presence sensor for a satellite:
    entity presence (25h), sensor specific, states present/absent, no events."""
    text = f"Sat {satellite:02X} Presence".encode()
    body = bytes(
        (
            ADDRESS,
            0x00,  # LUN 0
            number,
            codes.ENTITY_SYSTEM_BOARD,
            number,  # entity instance: one per satellite
            0x01,  # initialisation: scanning enabled
            0x43,  # auto re-arm, no hysteresis, no thresholds, no event messages
            codes.SENSOR_TYPE_ENTITY_PRESENCE,
            codes.EVENT_TYPE_SENSOR_SPECIFIC,
        )
    )
    states = codes.PRESENCE_PRESENT | codes.PRESENCE_ABSENT
    body += struct.pack("<HHH", states, 0, states)  # assertion, deassertion, reading masks
    body += bytes((0xC0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))  # no analog reading; no sharing
    body += bytes((0xC0 | len(text),)) + text
    return (
        struct.pack("<HBBB", 0, codes.SDR_VERSION, codes.SDR_TYPE_COMPACT_SENSOR, len(body)) + body
    )


class BmcError(SatmcError):
    """The bench BMC cannot start as asked (no satellite named)."""


class BenchBmc:
    """The chassis side: a `satmc.bmc.api.Responder` for the satellites at `addresses`
    on the bus at `url` (sim://, ftdi://, serial://)."""

    def __init__(
        self,
        url: str,
        addresses: list[int],
        log: EventLog | None = None,
        address: int = ADDRESS,
        lan_channel: int = LAN_CHANNEL,
        guid: bytes | None = None,
        fru_source: dict | None = None,
        cache_dir: Path | None = None,
        timeout: float = 0.25,
        retries: int = 3,
        tracking_entries: int = 32,
        presence: bool = True,
        twin: str | None = None,
    ):
        if not addresses:
            raise BmcError("the bench BMC needs the IPMB address of at least one satellite")
        self.url = url
        self.addresses = list(addresses)
        self.presence = presence  # a presence sensor per satellite, on the BMC
        self.address = address
        self.lan_channel = lan_channel
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        if log is None:  # beside the host's event log, not in it: a SEL of its own
            log = EventLog(default_path().with_name("bmc-sel.sqlite"), SEL_CAPACITY)
        self.log = log
        if self.log.capacity is None:
            self.log.capacity = SEL_CAPACITY
        self.guid = guid or uuid.uuid5(uuid.NAMESPACE_URL, f"satmc-bmc:{url}").bytes_le
        self.fru = build_from_source(fru_source or FRU_SOURCE)
        self.timeout, self.retries = timeout, retries
        self.twin = twin  # ftdi:// on the FT232H twin of the simulator at this socket
        key = hashlib.sha256(f"{url}|{address:02x}".encode()).hexdigest()[:16]
        self.sdr = SdrRepository(self.cache_dir / f"bmc-sdr-{key}.json")
        self.sel = Sel(self.log)
        self.tracking = TrackingTable(tracking_entries)
        self.links: Links | None = None
        self.receiver: EventReceiver | None = None
        self.present: dict[int, bool] = {}
        self.notes: list[str] = []  # what start and rescans found worth saying
        self._clients: dict[int, SensorClient] = {}
        self._scan_lock: asyncio.Lock | None = None
        self._checked = 0.0
        self._recheck: asyncio.Task | None = None
        self.recheck_interval = RECHECK_INTERVAL
        self.faults = 0  # requests a fault in the BMC answered with FFh (each logged)
        self.resets = {"cold": 0, "warm": 0}  # the BMC's own resets done
        self.identify_until = 0.0  # chassis identify: monotonic deadline, inf: until off
        self.powered_since = time.monotonic()  # the POH counter's start: the BMC's own
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def support(self) -> int:
        return (
            (codes.SUPPORT_SENSOR if self.presence and self.addresses else 0)
            | codes.SUPPORT_SDR_REPOSITORY
            | codes.SUPPORT_SEL
            | codes.SUPPORT_FRU
            | codes.SUPPORT_EVENT_RECEIVER
            | codes.SUPPORT_BRIDGE
        )

    async def start(self) -> BenchBmc:
        loop = asyncio.get_running_loop()
        self._scan_lock = asyncio.Lock()
        sats = await loop.run_in_executor(
            None,
            lambda: connect_many(
                self.url,
                self.addresses,
                self.address,
                timeout=self.timeout,
                retries=self.retries,
                twin=self.twin,
            ),
        )
        self.links = Links(sats)
        self._clients = {s.address: SensorClient(s, self.cache_dir) for s in sats}
        if sats:
            self.receiver = EventReceiver(sats[0], self.log, clock=self.sel.now).start()
            for s in sats[1:]:
                self.receiver.follow(s.address)
        await asyncio.gather(*(self._set_receiver(link) for link in self.links))
        await self.rescan()
        return self

    async def _set_receiver(self, link) -> bool:
        try:
            await link.run(client.set_event_receiver, self.address)
        except SatmcError as e:
            self.notes.append(f"0x{link.address:02x}: event receiver not set ({e})")
            return False
        return True

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self.receiver is not None:
            self.receiver.stop()
        if self.links is not None:
            self.links.close()

    async def __aenter__(self) -> BenchBmc:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # --- SDR repository --------------------------------------------------------------------

    async def rescan(self) -> bool:
        """Read every satellite's device SDRs (each costs one Get Device SDR Info while its
        change indicator stays) and serve them; True when the repository changed."""
        async with self._scan_lock:
            self._checked = time.monotonic()
            parts = await asyncio.gather(*(self._records_of(link) for link in self.links))
            records = [mc_locator(self.address, self.support, "Bench BMC")]
            if self.presence:
                records += [presence_record(i, a) for i, a in enumerate(self.addresses, 1)]
            for recs in parts:
                records += recs
            changed = self.sdr.update(records)
            if changed and self.receiver is not None:
                decoded = []
                for r in records[1:]:
                    try:
                        decoded.append(SdrCommon.from_data(r))
                    except Exception:  # noqa: BLE001 - a record python-ipmi cannot decode
                        continue  # only names its events less well
                self.receiver.add_records(decoded)
            return changed

    async def _records_of(self, link) -> list[bytes]:
        """A satellite's device SDRs; for one that answers but serves none, an MC Device
        Locator made from its Get Device ID (so tools still find it and its FRU)."""
        was = self.present.get(link.address)
        try:
            recs = await link.run(lambda sat: self._clients[sat.address].raw_records())
        except (CompletionCodeError, NoSensorsError) as e:  # there, without device SDRs
            try:
                dev = await link.run(client.get_device_id)
            except SatmcError:
                dev = None
            if dev is None:
                recs = []
            else:
                recs = [mc_locator(link.address, dev["support"], f"Sat {link.address:02X}")]
            if was is None:
                self.notes.append(f"0x{link.address:02x}: no device SDRs ({e})")
        except SatmcError as e:
            if was is not False:
                self.notes.append(f"0x{link.address:02x}: absent ({e})")
            self.present[link.address] = False
            return []
        if was is False:  # back: it may have restarted and forgotten its event receiver
            await self._set_receiver(link)
        self.present[link.address] = True
        return recs

    def _maybe_recheck(self) -> None:
        """Check the satellites' SDR change indicators in the background when the last
        check is older than recheck_interval: the request that asks goes on at once, with
        the repository as it is; a change is served from the moment the check ends (a
        listing under way loses its reservation and starts over), so no listing waits
        for the check's transactions and a change is seen at most recheck_interval plus
        one check after it was made, by the first listing after that."""
        busy = self._recheck is not None and not self._recheck.done()
        if busy or time.monotonic() - self._checked < self.recheck_interval:
            return
        self._checked = time.monotonic()
        self._recheck = task = asyncio.get_running_loop().create_task(self.rescan())
        self._tasks.add(task)
        task.add_done_callback(self._rechecked)

    def _rechecked(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.faults += 1
            log.error("bench BMC: SDR recheck failed", exc_info=task.exception())

    # --- requests --------------------------------------------------------------------------

    async def handle(self, req: BmcRequest) -> tuple[int, bytes]:
        """Answer one request; messages that follow it (bridged responses) are emitted
        with req.emit once this has returned, in order."""
        try:
            cc, data, follow = await self._dispatch(req, 0)
        except Exception:  # noqa: BLE001 - a fault in one request answers that request
            self.faults += 1
            log.exception("bench BMC: netFn 0x%02x cmd 0x%02x failed", req.netfn, req.cmd)
            return codes.CC_UNSPECIFIED, b""
        if follow:
            task = asyncio.get_running_loop().create_task(self._emit_after(req.emit, follow))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return cc, data

    @staticmethod
    async def _emit_after(emit, follow: list) -> None:
        """What follows the response, in order: messages (bytes) are emitted, actions
        (coroutine functions, such as a reset) awaited."""
        # the LAN side sends the response when handle() returns, before it awaits again;
        # two turns of the loop put these after it even when handle() ran as a task
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        for m in follow:
            if callable(m):
                await m()
            else:
                emit(m)

    async def _dispatch(self, req: BmcRequest, depth: int) -> tuple[int, bytes, list[bytes]]:
        if (req.netfn, req.cmd) == (_A, codes.CMD_SEND_MESSAGE):
            if req.privilege < required_privilege(req.netfn, req.cmd):
                return codes.CC_PRIVILEGE, b"", []
            return await self._send_message(req, depth)
        result = self._local(req)  # (cc, data[, follow]), or a coroutine of it
        result = await result if inspect.isawaitable(result) else result
        return result if len(result) == 3 else (*result, [])

    def _local(self, req: BmcRequest):
        """(cc, data) of a command the BMC answers itself, or a coroutine of it."""
        handler = self._LOCAL.get((req.netfn, req.cmd))
        if handler is None:
            return codes.CC_INVALID_COMMAND, b""  # PICMG, VITA, HPM.2 probes too
        if req.privilege < required_privilege(req.netfn, req.cmd):
            return codes.CC_PRIVILEGE, b""
        if req.lun != 0:
            return codes.CC_INVALID_FOR_LUN, b""
        return handler(self, req)

    def answer_now(self, req: BmcRequest) -> tuple[int, bytes] | None:
        """The answer to a request the BMC gives without waiting for anything (its own
        commands with a plain handler), or None: then handle() answers it. Called on
        the event loop's thread; the LAN side sends the answer at once, with no task."""
        if (req.netfn, req.cmd) == (_A, codes.CMD_SEND_MESSAGE):
            return None
        try:
            result = self._local(req)
        except Exception:  # noqa: BLE001 - a fault in one request answers that request
            self.faults += 1
            log.exception("bench BMC: netFn 0x%02x cmd 0x%02x failed", req.netfn, req.cmd)
            return codes.CC_UNSPECIFIED, b""
        if inspect.isawaitable(result):
            result.close()  # never started, so nothing of it ran: handle() runs it
            return None
        return result

    # --- bridging --------------------------------------------------------------------------

    async def _send_message(self, req: BmcRequest, depth: int) -> tuple[int, bytes, list[bytes]]:
        if len(req.data) < 1:
            return codes.CC_LENGTH, b"", []
        channel, tracking = req.data[0] & 0x0F, req.data[0] >> 6
        if channel != codes.CHANNEL_IPMB or tracking != 1:
            return codes.CC_INVALID_DATA, b"", []  # only IPMB, only with tracking
        frame = req.data[1:]
        if len(frame) > 32:
            return codes.CC_FIELD_LENGTH, b"", []
        try:
            inner, data = parse_request(frame)
        except FrameError:
            return codes.CC_INVALID_DATA, b"", []
        if req.privilege < required_privilege(inner.netfn, inner.cmdid):
            return codes.CC_PRIVILEGE, b"", []
        if inner.rs_sa == self.address:  # to the BMC itself, as ipmitool -T 0x20 nests it
            if depth + 1 >= MAX_NESTING and inner.cmdid == codes.CMD_SEND_MESSAGE:
                return codes.CC_INVALID_DATA, b"", []
            sub = replace(
                req,
                netfn=inner.netfn,
                cmd=inner.cmdid,
                data=data,
                lun=inner.rs_lun,
                rq_addr=inner.rq_sa,
                rq_seq=inner.rq_seq,
                rq_lun=inner.rq_lun,
                channel=codes.CHANNEL_IPMB,
            )
            cc, rsp, follow = await self._dispatch(sub, depth + 1)
            return codes.CC_OK, b"", [response_message(inner, cc, rsp)] + follow
        try:
            link = self.links.get(inner.rs_sa)
        except SatmcError:
            return codes.CC_INVALID_DATA, b"", []
        key = (req.session_id, inner.rq_sa, inner.rq_seq, inner.rs_sa, inner.rs_lun,
               inner.netfn, inner.cmdid, data)  # fmt: skip
        entry, new = self.tracking.open(key)
        if entry is None:
            return codes.CC_BUSY, b"", []  # the tracking table is full
        if not new:  # the same request again (a client's retry): the answer in flight
            try:
                result = await asyncio.shield(entry.future)
            except asyncio.CancelledError:
                result = None  # it expired
        else:
            try:
                result = await bridge(link, inner, data)
            except Exception:  # noqa: BLE001 - a fault in one request answers that request
                result = (codes.CC_UNSPECIFIED, None)
            if not self.tracking.holds(entry):
                result = None  # past the sequence lifetime: a late answer is not delivered
            self.tracking.close(entry)
            if not entry.future.done():
                entry.future.set_result(result)
        if result is None:
            return codes.CC_TIMEOUT, b"", []
        cc, message = result
        return cc, b"", [message] if message is not None else []

    # --- the BMC's own commands (each: request -> (cc, data)) ------------------------------

    def _device_id(self, req):
        major, minor = (__version__.split(".") + ["0"])[:2]
        minor = int(minor) % 100
        manufacturer = struct.pack("<I", MANUFACTURER_ID)[:3]
        return codes.CC_OK, bytes(
            (
                DEVICE_ID,
                0x01,  # device revision 1, no device SDRs (the repository has them)
                int(major) & 0x7F,  # [7] clear: no update in progress
                minor // 10 << 4 | minor % 10,  # BCD
                0x02,  # IPMI 2.0
                self.support,
            )
        ) + manufacturer + struct.pack("<H", PRODUCT_ID)  # 11 bytes, no auxiliary revision

    def _self_test(self, req):
        return codes.CC_OK, bytes((codes.SELF_TEST_OK, 0x00))

    def _guid(self, req):
        return codes.CC_OK, self.guid

    def _channel(self, number: int, req: BmcRequest) -> int | None:
        number &= 0x0F
        if number == codes.CHANNEL_PRESENT:
            number = req.channel
        return number if number in (codes.CHANNEL_IPMB, self.lan_channel) else None

    def _channel_info(self, req):
        if len(req.data) != 1:
            return codes.CC_LENGTH, b""
        ch = self._channel(req.data[0], req)
        if ch is None:
            return codes.CC_INVALID_DATA, b""
        iana = struct.pack("<I", codes.IPMI_IANA)[:3]
        if ch == codes.CHANNEL_IPMB:
            medium, sessions = codes.CHANNEL_MEDIUM_IPMB, 0x00  # session-less
        else:
            medium, sessions = codes.CHANNEL_MEDIUM_LAN, 0x80  # multi-session
        return codes.CC_OK, bytes(
            (ch, medium, codes.CHANNEL_PROTOCOL_IPMB, sessions)
        ) + iana + b"\0\0"

    def _channel_access(self, req):
        if len(req.data) != 2:
            return codes.CC_LENGTH, b""
        ch = self._channel(req.data[0], req)
        if ch is None or req.data[1] >> 6 not in (1, 2):  # non-volatile or volatile
            return codes.CC_INVALID_DATA, b""
        # always available, PEF alerting off, privilege limit administrator
        return codes.CC_OK, bytes((0x20 | 0x02, ADMINISTRATOR))

    def _sol_configuration(self, req):
        return codes.CC_SOL_PARAMETER_NOT_SUPPORTED, b""  # no Serial over LAN here

    def _platform_event(self, req):
        """A Platform Event from a LAN client: logged with the client as generator."""
        try:
            ev = parse_platform_event(req.rq_addr, req.data, now=self.sel.now())
        except ValueError:
            return codes.CC_LENGTH, b""
        rec = bytearray(self.sel.record(replace(ev, id=0)))
        rec[8] = (req.channel & 0x0F) << 4 | (req.rq_lun & 0x03)
        ev.record = bytes(rec)
        cc, _ = self.sel.add(ev)
        return cc, b""

    def _sdr_info(self, req):
        self._maybe_recheck()
        return codes.CC_OK, self.sdr.info()

    def _sensor(self, req) -> int | None:
        """The satellite address of the presence sensor a request names (None: no such)."""
        if not req.data or not self.presence or not 1 <= req.data[0] <= len(self.addresses):
            return None
        return self.addresses[req.data[0] - 1]

    def _sensor_reading(self, req):
        if len(req.data) != 1:
            return codes.CC_LENGTH, b""
        address = self._sensor(req)
        if address is None:
            return codes.CC_NOT_PRESENT, b""
        self._maybe_recheck()
        state = codes.PRESENCE_PRESENT if self.present.get(address) else codes.PRESENCE_ABSENT
        return codes.CC_OK, bytes((0x00, 0x40, state, 0x80))  # scanning on, events off

    def _sensor_other(self, req):
        """Thresholds, hysteresis and factors of a presence sensor: there are none."""
        if self._sensor(req) is None:
            return codes.CC_NOT_PRESENT, b""
        return codes.CC_ILLEGAL_FOR_TYPE, b""

    def _fru_info(self, req):
        if len(req.data) != 1:
            return codes.CC_LENGTH, b""
        if req.data[0] != 0:
            return codes.CC_NOT_PRESENT, b""
        return codes.CC_OK, struct.pack("<HB", len(self.fru), 0x00)  # accessed by bytes

    def _fru_read(self, req):
        if len(req.data) != 4:
            return codes.CC_LENGTH, b""
        fru_id, offset, count = req.data[0], req.data[1] | req.data[2] << 8, req.data[3]
        if fru_id != 0:
            return codes.CC_NOT_PRESENT, b""
        if offset >= len(self.fru):
            return codes.CC_OUT_OF_RANGE, b""
        if count > 64:
            return codes.CC_CANNOT_RETURN, b""
        part = self.fru[offset : offset + count]
        return codes.CC_OK, bytes((len(part),)) + part

    def _fru_write(self, req):
        if len(req.data) < 3:
            return codes.CC_LENGTH, b""
        if req.data[0] != 0:
            return codes.CC_NOT_PRESENT, b""
        return codes.CC_FRU_WRITE_PROTECTED, b""  # built from its source, not stored

    # --- chassis -------------------------------------------------------------------------

    def _chassis_capabilities(self, req):
        """No intrusion sensor, front panel lockout, diagnostic interrupt or power
        interlock; the BMC itself is the chassis' FRU, SDR, SEL, management and bridge
        device."""
        return codes.CC_OK, bytes((0x00,) + (self.address,) * 5)

    def identify_state(self) -> int:
        left = self.identify_until - time.monotonic()
        if left <= 0:
            return codes.IDENTIFY_OFF
        return codes.IDENTIFY_ON if left == float("inf") else codes.IDENTIFY_TIMED

    def _chassis_status(self, req):
        """The bench BMC switches no power: power is "on" while a satellite of the
        chassis answers, with no power fault, interlock, overload or control fault
        known; the restore policy is unknown."""
        self._maybe_recheck()
        on = any(self.present.get(a) for a in self.addresses)
        return codes.CC_OK, bytes(
            (
                codes.POWER_RESTORE_UNKNOWN << 5 | int(on),
                0x00,  # no last power event known
                codes.CHASSIS_IDENTIFY_SUPPORTED | self.identify_state() << 4,
            )
        )

    def _chassis_control(self, req):
        if len(req.data) != 1:
            return codes.CC_LENGTH, b""
        if req.data[0] & 0x0F > codes.CHASSIS_CONTROL_LAST or req.data[0] & 0xF0:
            return codes.CC_INVALID_DATA, b""
        return codes.CC_NOT_IN_STATE, b""  # no power control on a bench: nothing done

    def _chassis_identify(self, req):
        """Interval in seconds (default 15, 0 off) and force on: there is no light, so
        it is a state (Get Chassis Status shows it) and a line in the BMC's log."""
        if len(req.data) > 2:
            return codes.CC_LENGTH, b""
        if len(req.data) == 2 and req.data[1] & 0xFE:
            return codes.CC_INVALID_DATA, b""
        seconds = req.data[0] if req.data else codes.CHASSIS_IDENTIFY_DEFAULT_S
        if len(req.data) == 2 and req.data[1] & 0x01:
            self.identify_until = float("inf")
        else:
            self.identify_until = time.monotonic() + seconds
        log.warning(
            "bench BMC: chassis identify %s",
            {codes.IDENTIFY_OFF: "off", codes.IDENTIFY_ON: "on"}.get(
                self.identify_state(), f"on for {seconds} s"
            ),
        )
        return codes.CC_OK, b""

    def _restart_cause(self, req):
        """The bench BMC restarts no system (Chassis Control does nothing), so the
        cause it knows is "unknown", with channel 0: no command caused one."""
        if req.data:
            return codes.CC_LENGTH, b""
        return codes.CC_OK, bytes((codes.RESTART_CAUSE_UNKNOWN, 0))

    def _poh_counter(self, req):
        """One count a minute of the BMC's own running time (kept across its own Cold
        and Warm Resets, which restart no power)."""
        if req.data:
            return codes.CC_LENGTH, b""
        minutes = int((time.monotonic() - self.powered_since) // 60)
        return codes.CC_OK, struct.pack("<BI", 1, min(minutes, 0xFFFFFFFF))

    # --- the BMC's own resets ----------------------------------------------------------

    async def restart(self, cold: bool, drop_sessions=lambda: None) -> None:
        """What a Cold or Warm Reset of the BMC does once it has answered: a cold one
        drops every session (`drop_sessions`, from the LAN side), the identify state and
        the event receivers' setting (set again); both cancel the reservations and scan
        the chassis' SDRs again. The SEL, its time and the users are kept."""
        kind = "cold" if cold else "warm"
        log.warning("bench BMC: %s reset", kind)
        if cold:
            drop_sessions()
            self.identify_until = 0.0
        self.sdr.reservations.cancel()
        self.sel.reservations.cancel()
        if cold:
            await asyncio.gather(*(self._set_receiver(link) for link in self.links))
        await self.rescan()
        self.resets[kind] += 1  # done

    async def _reset(self, req):  # a coroutine: answer_now leaves it to handle()
        if req.data:
            return codes.CC_LENGTH, b""
        cold = req.cmd == codes.CMD_COLD_RESET
        return codes.CC_OK, b"", [functools.partial(self.restart, cold, req.drop_sessions)]

    # (netFn, cmd) -> handler(bmc, request) -> (cc, data[, follow]), or a coroutine of it
    # for one that must wait or has a follow (answer_now leaves those to handle())
    _LOCAL = {
        (_C, codes.CMD_GET_CHASSIS_CAPABILITIES): _chassis_capabilities,
        (_C, codes.CMD_GET_CHASSIS_STATUS): _chassis_status,
        (_C, codes.CMD_CHASSIS_CONTROL): _chassis_control,
        (_C, codes.CMD_CHASSIS_IDENTIFY): _chassis_identify,
        (_C, codes.CMD_GET_SYSTEM_RESTART_CAUSE): _restart_cause,
        (_C, codes.CMD_GET_POH_COUNTER): _poh_counter,
        (_A, codes.CMD_GET_DEVICE_ID): _device_id,
        (_A, codes.CMD_COLD_RESET): _reset,
        (_A, codes.CMD_WARM_RESET): _reset,
        (_A, codes.CMD_GET_SELF_TEST_RESULTS): _self_test,
        (_A, codes.CMD_GET_DEVICE_GUID): _guid,
        (_A, codes.CMD_GET_SYSTEM_GUID): _guid,
        (_A, codes.CMD_GET_CHANNEL_INFO): _channel_info,
        (_A, codes.CMD_GET_CHANNEL_ACCESS): _channel_access,
        (codes.NETFN_TRANSPORT, codes.CMD_GET_SOL_CONFIGURATION): _sol_configuration,
        (_S, codes.CMD_PLATFORM_EVENT): _platform_event,
        (_S, codes.CMD_GET_SENSOR_READING): _sensor_reading,
        (_S, codes.CMD_GET_SENSOR_THRESHOLDS): _sensor_other,
        (_S, codes.CMD_GET_SENSOR_HYSTERESIS): _sensor_other,
        (_S, codes.CMD_GET_SENSOR_READING_FACTORS): _sensor_other,
        (_S, codes.CMD_SET_SENSOR_THRESHOLDS): _sensor_other,
        (_T, codes.CMD_GET_SDR_REPOSITORY_INFO): _sdr_info,
        (_T, codes.CMD_GET_SDR_REPOSITORY_ALLOCATION_INFO): lambda b, r: (
            0,
            b.sdr.allocation_info(),
        ),
        (_T, codes.CMD_RESERVE_SDR_REPOSITORY): lambda b, r: (0, b.sdr.reserve()),
        (_T, codes.CMD_GET_SDR): lambda b, r: b.sdr.get_sdr(r.data),
        # the repository is read-only (built from the satellites): writes are not
        # supported (C1, the spec's code for that), so ipmitool's "rebuild" changes nothing
        **{(_T, c): lambda b, r: (codes.CC_INVALID_COMMAND, b"") for c in SDR_WRITES},
        (_T, codes.CMD_GET_SEL_INFO): lambda b, r: (0, b.sel.info()),
        (_T, codes.CMD_GET_SEL_ALLOCATION_INFO): lambda b, r: (0, b.sel.allocation_info()),
        (_T, codes.CMD_DELETE_SEL_ENTRY): lambda b, r: b.sel.delete_entry(r.data),
        (_T, codes.CMD_RESERVE_SEL): lambda b, r: (0, b.sel.reserve()),
        (_T, codes.CMD_GET_SEL_ENTRY): lambda b, r: b.sel.get_entry(r.data),
        (_T, codes.CMD_ADD_SEL_ENTRY): lambda b, r: b.sel.add_entry(r.data),
        (_T, codes.CMD_CLEAR_SEL): lambda b, r: b.sel.clear(r.data),
        (_T, codes.CMD_GET_SEL_TIME): lambda b, r: (0, b.sel.get_time()),
        (_T, codes.CMD_SET_SEL_TIME): lambda b, r: b.sel.set_time(r.data),
        (_T, codes.CMD_GET_FRU_INVENTORY_AREA_INFO): _fru_info,
        (_T, codes.CMD_READ_FRU_DATA): _fru_read,
        (_T, codes.CMD_WRITE_FRU_DATA): _fru_write,
    }
