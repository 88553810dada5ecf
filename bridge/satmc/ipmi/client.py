"""Requests to a satellite, encoded and decoded with python-ipmi's message classes.

    from satmc.ipmi import client
    dev = client.get_device_id(sat)              # a transports.Satellite (or anything
    dev["firmware"], dev["capabilities"]         # with .raw(netfn, cmd, data, lun))
    client.read_counters(sat)["malformed"]
    rsp = client.send(sat, GetDeviceGuidReq())   # any python-ipmi request message

Each function sends exactly one request (read_counters one per page of COUNTERS_PER_PAGE). A
completion code other than 00 raises CompletionCodeError (its .cc says which); an
answer that does not decode as its message raises MalformedResponseError. python-ipmi
is an implementation independent of the firmware's encoders (DESIGN.md decision 6),
so every answer decoded here also checks the firmware.
"""

from __future__ import annotations

import uuid

from pyipmi.errors import DecodingError
from pyipmi.msgs import Message, create_response_message, decode_message, encode_message
from pyipmi.msgs.bmc import (
    ColdResetReq,
    GetDeviceGuidReq,
    GetDeviceIdReq,
    GetDeviceIdRsp,
    GetSelftestResultsReq,
    WarmResetReq,
)
from pyipmi.msgs.fru import GetFruInventoryAreaInfoReq, ReadFruDataReq, WriteFruDataReq
from pyipmi.msgs.hpm import (
    AbortFirmwareUpgradeReq,
    ActivateFirmwareReq,
    FinishFirmwareUploadReq,
    GetComponentPropertiesReq,
    GetTargetUpgradeCapabilitiesReq,
    GetUpgradeStatusReq,
    InitiateManualRollbackReq,
    InitiateUpgradeActionReq,
    QueryRollbackStatusReq,
    QuerySelftestResultsReq,
    UploadFirmwareBlockReq,
)
from pyipmi.msgs.picmg import GetPicmgPropertiesReq
from pyipmi.msgs.sensor import (
    GetDeviceSdrInfoReq,
    GetDeviceSdrReq,
    GetSensorEventEnableReq,
    GetSensorHysteresisReq,
    GetSensorReadingReq,
    GetSensorThresholdsReq,
    ReserveDeviceSdrRepositoryReq,
    SetSensorHysteresisReq,
)

from ..errors import CompletionCodeError, MalformedResponseError
from . import codes
from .messages import (
    COUNTER_NAMES,
    GetCommandEnablesReq,
    GetCommandSubfunctionEnablesReq,
    GetCommandSubfunctionSupportReq,
    GetCommandSupportReq,
    GetConfigurableCommandsReq,
    GetConfigurableCommandSubfunctionsReq,
    GetDeviceSdrCountReq,
    GetDeviceSdrCountRsp,
    GetEventReceiverAddressReq,
    GetEventReceiverAddressRsp,
    GetNetFnSupportReq,
    SatmcGetHeapInfoReq,
    SatmcGetStatisticsReq,
    SetCommandEnablesReq,
    SetCommandSubfunctionEnablesReq,
    SetEventReceiverAddressReq,
    SetEventReceiverAddressRsp,
)

SDR_CHUNK = 22  # record bytes one Get Device SDR response carries on IPMB
FRU_READ_CHUNK = 23  # FRU bytes one Read FRU Data response carries on IPMB
FRU_WRITE_MAX = 22  # FRU bytes one Write FRU Data request carries on IPMB


def _decode(rsp: Message, data: bytes, what: str) -> Message:
    try:
        decode_message(rsp, bytes((codes.CC_OK,)) + bytes(data))
    except (DecodingError, IndexError) as e:
        raise MalformedResponseError(what, bytes(data), str(e)) from None
    return rsp


def send(sat, req: Message, what: str = "", rsp: Message | None = None) -> Message:
    """Send a request message; its decoded response (rsp, or the registered class)."""
    what = what or type(req).__name__[:-3]
    cc, data = sat.raw(req.netfn, req.cmdid, encode_message(req), lun=req.lun)
    if cc:
        raise CompletionCodeError(cc, what)
    return _decode(rsp if rsp is not None else create_response_message(req), data, what)


# --- App ----------------------------------------------------------------------------------


def decode_device_id(data: bytes) -> dict:
    """Fields of a Get Device ID answer (data after the completion code)."""
    return _device_id(_decode(GetDeviceIdRsp(), data, "Get Device ID"))


def get_device_id(sat) -> dict:
    """Get Device ID, decoded (see decode_device_id)."""
    return _device_id(send(sat, GetDeviceIdReq(), "Get Device ID"))


def _device_id(r: GetDeviceIdRsp) -> dict:
    fw = r.firmware_revision
    support = int(r.additional_support)
    return {
        "device_id": r.device_id,
        "device_revision": r.device_revision.device_revision,
        "provides_sdrs": bool(r.device_revision.provides_device_sdrs),
        "firmware": f"{fw.major}.{(fw.minor >> 4) * 10 + (fw.minor & 0x0F):02d}",
        "firmware_revision": (fw.major, fw.minor),  # minor in BCD, as sent
        "update_in_progress": bool(fw.device_available),  # spec: [7] update in progress
        "ipmi_version": f"{r.ipmi_version & 0x0F}.{r.ipmi_version >> 4}",
        "support": support,
        "capabilities": [name for bit, name in codes.SUPPORT_BITS if support & bit],
        "manufacturer_id": r.manufacturer_id & 0xFFFFF,  # 20 bits; [23:20] reserved
        "product_id": r.product_id,
        "aux": bytes(r.auxiliary) if r.auxiliary is not None else None,
    }


def get_self_test_results(sat) -> tuple[int, int]:
    """(result, detail): 55h 00h passed; 57h and the failing bits otherwise."""
    r = send(sat, GetSelftestResultsReq(), "Get Self Test Results")
    return r.result, int(r.status)


def self_test(sat) -> dict:
    """Get Self Test Results, decoded: result and detail (the two bytes), passed, text
    and failures (the parts a 57h names, in the spec's words)."""
    result, detail = get_self_test_results(sat)
    failures = []
    if result == codes.SELF_TEST_OK:
        text = "passed"
    elif result == codes.SELF_TEST_NOT_IMPLEMENTED:
        text = "self test not implemented"
    elif result == codes.SELF_TEST_ERROR:
        text = "corrupted or inaccessible data or devices"
        failures = [name for bit, name in codes.SELF_TEST_57_BITS if detail & bit]
    elif result == codes.SELF_TEST_FATAL:
        text = f"fatal hardware error (device-specific code 0x{detail:02x})"
    elif result == 0xFF:
        text = "reserved result 0xff"
    else:
        text = f"device-specific internal failure 0x{result:02x} 0x{detail:02x}"
    return {
        "result": result,
        "detail": detail,
        "passed": result == codes.SELF_TEST_OK,
        "text": text,
        "failures": failures,
    }


def get_device_guid(sat) -> bytes:
    """The 16 GUID bytes as sent (IPMI order: least significant byte first)."""
    return bytes(send(sat, GetDeviceGuidReq(), "Get Device GUID").device_guid)


def guid_text(raw: bytes) -> str:
    """A GUID as sent by Get Device GUID in the standard text form (RFC 4122): IPMI sends
    the 16 bytes of the RFC's big-endian form in reverse order."""
    return str(uuid.UUID(bytes=bytes(reversed(raw))))


def cold_reset(sat) -> None:
    """Cold Reset: answered first, then the satellite restarts."""
    send(sat, ColdResetReq(), "Cold Reset")


def warm_reset(sat) -> None:
    """Warm Reset (many controllers, satmc's included, answer C1h: not supported)."""
    send(sat, WarmResetReq(), "Warm Reset")


# --- satmc OEM ----------------------------------------------------------------------------


def read_counters(sat) -> dict[str, int]:
    """All counters, by name (unknown extra counters as counter_N)."""
    values: dict[str, int] = {}
    page = 0
    while True:
        req = SatmcGetStatisticsReq()
        req.page = page
        r = send(sat, req, "Get Statistics")
        raw = bytes(r.values)
        for i in range(len(raw) // 4):  # u32 LE each
            idx = r.first + i
            name = COUNTER_NAMES[idx] if idx < len(COUNTER_NAMES) else f"counter_{idx}"
            values[name] = int.from_bytes(raw[4 * i : 4 * i + 4], "little")
        if r.first + len(raw) // 4 >= r.total:
            return values
        page += 1


def events_open(c: dict[str, int]) -> int:
    """From read_counters (or deltas of it): events queued and not yet acknowledged or
    given up on after all tries (events_dropped also counts those never queued: the
    queue full, events_overflow). 0: every event is settled."""
    return c["events_queued"] - c["events_acked"] - (c["events_dropped"] - c["events_overflow"])


def read_heap(sat, collect: bool = False) -> dict[str, int]:
    """free, used: the GC heap now (collect: just after a collection, so "used" is the
    live heap, garbage not counted); hot_alloc: bytes allocated while handling requests
    since boot (rp2: since the first Get Heap Info, which arms the measurement);
    hot_frames: requests handled since boot."""
    req = SatmcGetHeapInfoReq()
    req.options = 1 if collect else 0
    r = send(sat, req, "Get Heap Info")
    return {"free": r.free, "used": r.used, "hot_alloc": r.hot_alloc, "hot_frames": r.hot_frames}


# --- events -------------------------------------------------------------------------------


def set_event_receiver(sat, address: int, lun: int = 0) -> None:
    """Where the satellite sends its Platform Events (8-bit address; FFh: nowhere)."""
    req = SetEventReceiverAddressReq()
    req.address, req.receiver_lun = address, lun
    send(sat, req, "Set Event Receiver", SetEventReceiverAddressRsp())


def get_event_receiver(sat) -> tuple[int, int]:
    """(8-bit address, LUN) of the event receiver; address FFh: events are off."""
    r = send(sat, GetEventReceiverAddressReq(), "Get Event Receiver", GetEventReceiverAddressRsp())
    return r.address, r.receiver_lun & 0x03


# --- sensors and device SDRs --------------------------------------------------------------


def get_device_sdr_info(sat) -> Message:
    """number_of_sensors, flags.dynamic_population, sensor_population_change (or None)."""
    return send(sat, GetDeviceSdrInfoReq(), "Get Device SDR Info")


def get_device_sdr_count(sat) -> int:
    """How many SDRs the device holds (Get Device SDR Info, operation 1)."""
    r = send(sat, GetDeviceSdrCountReq(), "Get Device SDR Info", GetDeviceSdrCountRsp())
    return r.number_of_sdrs


def reserve_device_sdr_repository(sat) -> int:
    """A reservation id for reading device SDRs from a non-zero offset."""
    return send(sat, ReserveDeviceSdrRepositoryReq(), "Reserve Device SDR").reservation_id


def get_device_sdr(
    sat, reservation: int, record_id: int, offset: int = 0, length: int = SDR_CHUNK
) -> tuple[int, bytes]:
    """(next record id, record bytes) of one Get Device SDR."""
    req = GetDeviceSdrReq()
    req.reservation_id, req.record_id = reservation, record_id
    req.offset, req.bytes_to_read = offset, length
    r = send(sat, req, "Get Device SDR")
    return r.next_record_id, bytes(r.record_data)


def get_sensor_reading(sat, number: int) -> Message:
    """sensor_reading, config, states1, states2 (None when not sent). python-ipmi names
    the config bits for their 0 value: event_message_disabled is [7] "event messages
    enabled", sensor_scanning_disabled [6] "scanning enabled", initial_update_in_progress
    [5] "reading unavailable"."""
    req = GetSensorReadingReq()
    req.sensor_number = number
    return send(sat, req, f"Get Sensor Reading {number}")


def get_sensor_thresholds(sat, number: int) -> dict[str, int]:
    """Raw thresholds the sensor reports readable, keyed lnc lcr lnr unc ucr unr."""
    req = GetSensorThresholdsReq()
    req.sensor_number = number
    r = send(sat, req, f"Get Sensor Thresholds {number}")
    return {
        k: getattr(r.threshold, k)
        for k in ("lnc", "lcr", "lnr", "unc", "ucr", "unr")
        if getattr(r.readable_mask, k)
    }


def get_sensor_hysteresis(sat, number: int) -> tuple[int, int]:
    """(positive-going, negative-going) hysteresis in raw counts."""
    req = GetSensorHysteresisReq()
    req.sensor_number = number
    r = send(sat, req, f"Get Sensor Hysteresis {number}")
    return r.positive_going_hysteresis, r.negative_going_hysteresis


def set_sensor_hysteresis(sat, number: int, positive: int, negative: int) -> None:
    """Set both hysteresis values, in raw counts (0..255)."""
    req = SetSensorHysteresisReq()
    req.sensor_number = number
    req.positive_going_hysteresis, req.negative_going_hysteresis = positive, negative
    send(sat, req, f"Set Sensor Hysteresis {number}")


def get_sensor_event_enable(sat, number: int) -> dict:
    """events and scanning (enabled or not), assertions and deassertions (the 16-bit
    masks of enabled event offsets)."""
    req = GetSensorEventEnableReq()
    req.sensor_number = number
    r = send(sat, req, f"Get Sensor Event Enable {number}")
    b = [x or 0 for x in (r.byte3, r.byte4, r.byte5, r.byte6)]
    return {
        "events": bool(r.enabled.event_message),
        "scanning": bool(r.enabled.sensor_scanning),
        "assertions": b[0] | b[1] << 8,
        "deassertions": b[2] | b[3] << 8,
    }


# --- FRU ----------------------------------------------------------------------------------


def get_fru_inventory_area_info(sat, fru_id: int = 0) -> tuple[int, bool]:
    """(size in bytes, accessed by words) of a FRU device."""
    req = GetFruInventoryAreaInfoReq()
    req.fru_id = fru_id
    r = send(sat, req, f"Get FRU Inventory Area Info (FRU {fru_id})")
    return r.area_size, bool(r.area_info.access)


def read_fru_data(sat, fru_id: int, offset: int, count: int) -> bytes:
    """count bytes (at most FRU_READ_CHUNK on IPMB) of a FRU device from offset."""
    req = ReadFruDataReq()
    req.fru_id, req.offset, req.count = fru_id, offset, count
    return bytes(send(sat, req, f"Read FRU Data (FRU {fru_id} at 0x{offset:04x})").data)


def write_fru_data(sat, fru_id: int, offset: int, data: bytes) -> int:
    """Write data (at most FRU_WRITE_MAX bytes on IPMB) at offset; bytes written."""
    req = WriteFruDataReq()
    req.fru_id, req.offset, req.data = fru_id, offset, bytes(data)
    return send(sat, req, f"Write FRU Data (FRU {fru_id} at 0x{offset:04x})").count_written


# --- PICMG HPM.1 firmware upgrade ---------------------------------------------------------
# One request each; a long-duration command answers CC_HPM_IN_PROGRESS (raised as
# CompletionCodeError), then get_upgrade_status says when it is done (satmc.hpm polls).
HPM_BLOCK_IPMB = 23  # image bytes one Upload Firmware Block request carries on IPMB
HPM_BLOCK_SERIAL = 31  # ... and in Serial Basic Mode (40-byte messages)


def get_picmg_properties(sat) -> dict:
    r = send(sat, GetPicmgPropertiesReq(), "Get PICMG Properties")
    v = r.extension_version
    return {
        "extension": f"{v & 0x0F}.{v >> 4}",
        "max_fru_id": r.max_fru_device_id,
        "fru_id": r.fru_device_id,
    }


def get_target_upgrade_capabilities(sat) -> dict:
    """HPM.1 version, capability bits (codes.HPM_CAP_*), timeouts in seconds, components."""
    r = send(sat, GetTargetUpgradeCapabilitiesReq(), "Get Target Upgrade Capabilities")
    t = r.timeout
    unit = codes.HPM_TIMEOUT_UNIT_S
    return {
        "hpm_version": r.hpm_1_version,
        "capabilities": int(r.capabilities),
        "upgrade_s": t.upgrade * unit,
        "self_test_s": t.selftest * unit,
        "rollback_s": t.rollback * unit,
        "inaccessible_s": t.inaccessibility * unit,
        "components": r.component_present,
    }


def get_component_properties(sat, component: int, selector: int) -> bytes:
    """The property's bytes (after the PICMG identifier)."""
    req = GetComponentPropertiesReq()
    req.id, req.selector = component, selector
    return bytes(send(sat, req, f"Get Component Properties {component}/{selector}").data)


def abort_firmware_upgrade(sat) -> None:
    send(sat, AbortFirmwareUpgradeReq(), "Abort Firmware Upgrade")


def initiate_upgrade_action(sat, components: int, action: int) -> None:
    req = InitiateUpgradeActionReq()
    req.components, req.action = components, action
    send(sat, req, "Initiate Upgrade Action")


def upload_firmware_block(sat, number: int, data: bytes) -> None:
    req = UploadFirmwareBlockReq()
    req.number, req.data = number & 0xFF, bytes(data)
    send(sat, req, f"Upload Firmware Block {number & 0xFF}")


def finish_firmware_upload(sat, component: int, length: int) -> None:
    req = FinishFirmwareUploadReq()
    req.component_id, req.image_length = component, length
    send(sat, req, "Finish Firmware Upload")


def get_upgrade_status(sat) -> tuple[int, int]:
    """(command in progress, its last completion code)."""
    r = send(sat, GetUpgradeStatusReq(), "Get Upgrade Status")
    return r.command_in_progress, r.last_completion_code


def activate_firmware(sat) -> None:
    send(sat, ActivateFirmwareReq(), "Activate Firmware")


def query_self_test_results(sat) -> tuple[int, int]:
    """(result 1, result 2): 55h 00h passed."""
    r = send(sat, QuerySelftestResultsReq(), "Query Self-test Results")
    return r.selftest_result_1, r.selftest_result_2


def query_rollback_status(sat) -> int:
    """Mask of the components the last rollback put back (0: none)."""
    return send(sat, QueryRollbackStatusReq(), "Query Rollback Status").rollback_status


def initiate_manual_rollback(sat) -> None:
    send(sat, InitiateManualRollbackReq(), "Initiate Manual Rollback")


# --- Firmware Firewall (IPMI 2.0 ch. 21) --------------------------------------------------

LUN_SUPPORT = ("none", "commands", "restricted", "reserved")  # Get NetFn Support, per LUN


def _netfn_extra(netfn: int) -> bytes:
    """What a request about netfn carries last: PICMG's body code (2Ch), an IANA (2Eh)."""
    return {codes.NETFN_GROUP: b"\x00", 0x2E: b"\x00\x00\x00"}.get(netfn, b"")


def _bits(mask: bytes, first: int = 0) -> set[int]:
    return {first + i for i in range(8 * len(mask)) if mask[i >> 3] >> (i & 7) & 1}


def _mask(numbers, first: int = 0, size: int = 16) -> bytes:
    out = bytearray(size)
    for n in numbers:
        if first <= n < first + 8 * size:
            out[(n - first) >> 3] |= 1 << ((n - first) & 7)
    return bytes(out)


def netfn_support(sat, channel: int = codes.CHANNEL_PRESENT) -> dict:
    """{"luns": [LUN_SUPPORT name per LUN], "netfns": {lun: [request netFns with commands]}}."""
    req = GetNetFnSupportReq()
    req.channel = channel
    r = send(sat, req, "Get NetFn Support")
    pairs = _bits(bytes(r.netfns))
    return {
        "luns": [LUN_SUPPORT[(r.lun_support >> (2 * lun)) & 3] for lun in range(4)],
        "netfns": {
            lun: sorted(2 * (p - 32 * lun) for p in pairs if p // 32 == lun) for lun in range(4)
        },
    }


def _command_mask(sat, cls, what: str, channel: int, netfn: int, lun: int) -> set[int]:
    out: set[int] = set()
    for half in (0, 1):
        req = cls()
        req.channel, req.of_netfn, req.of_lun = channel, half << 6 | netfn, lun
        req.extra = _netfn_extra(netfn)
        out |= _bits(bytes(send(sat, req, f"{what} (netFn {netfn:#04x})").mask), 128 * half)
    return out


def supported_commands(
    sat, netfn: int, channel: int = codes.CHANNEL_PRESENT, lun: int = 0
) -> set[int]:
    """The commands the satellite reports supported on netfn (Get Command Support, twice)."""
    args = (channel, netfn, lun)
    return set(range(256)) - _command_mask(sat, GetCommandSupportReq, "Get Command Support", *args)


def commands(sat, netfn: int, channel: int = codes.CHANNEL_PRESENT, lun: int = 0) -> dict:
    """{cmd: {"configurable": bool, "enabled": bool}} of every command the satellite reports
    supported on netfn (six requests: support, configurable, enables, two halves each)."""
    supported = supported_commands(sat, netfn, channel, lun)
    configurable = _command_mask(
        sat, GetConfigurableCommandsReq, "Get Configurable Commands", channel, netfn, lun
    )
    enabled = _command_mask(sat, GetCommandEnablesReq, "Get Command Enables", channel, netfn, lun)
    return {
        c: {"configurable": c in configurable, "enabled": c in enabled} for c in sorted(supported)
    }


def set_command_enabled(
    sat, netfn: int, cmd: int, enabled: bool, channel: int = codes.CHANNEL_PRESENT, lun: int = 0
) -> None:
    """Enable or disable one command on a channel (the rest of its half as it is)."""
    half = cmd >> 7
    req = GetCommandEnablesReq()
    req.channel, req.of_netfn, req.of_lun = channel, half << 6 | netfn, lun
    req.extra = _netfn_extra(netfn)
    now = _bits(bytes(send(sat, req, "Get Command Enables").mask), 128 * half)
    now = now | {cmd} if enabled else now - {cmd}
    s = SetCommandEnablesReq()
    s.channel, s.of_netfn, s.of_lun = channel, half << 6 | netfn, lun
    s.mask, s.extra = _mask(now, 128 * half), _netfn_extra(netfn)
    send(sat, s, f"Set Command Enables (netFn {netfn:#04x} cmd {cmd:#04x})")


def _subfn_request(cls, channel: int, netfn: int, cmd: int, lun: int, extra: bytes = b""):
    req = cls()
    req.channel, req.of_netfn, req.of_lun, req.of_command = channel, netfn, lun, cmd
    req.extra = _netfn_extra(netfn) + extra
    return req


def subfunctions(
    sat, netfn: int, cmd: int, channel: int = codes.CHANNEL_PRESENT, lun: int = 0
) -> dict:
    """{sub-function: {"configurable": bool, "enabled": bool}} of the ones a command offers."""
    what = f"(netFn {netfn:#04x} cmd {cmd:#04x})"
    args = (channel, netfn, cmd, lun)
    r = send(
        sat,
        _subfn_request(GetCommandSubfunctionSupportReq, *args),
        f"Get Sub-function Support {what}",
    )
    unsupported = _bits(bytes(r.mask)[:4])
    configurable = _bits(
        bytes(send(sat, _subfn_request(GetConfigurableCommandSubfunctionsReq, *args)).mask)[:4]
    )
    enabled = _bits(
        bytes(send(sat, _subfn_request(GetCommandSubfunctionEnablesReq, *args)).mask)[:4]
    )
    return {
        n: {"configurable": n in configurable, "enabled": n in enabled}
        for n in range(32)
        if n not in unsupported
    }


def set_subfunction_enabled(
    sat,
    netfn: int,
    cmd: int,
    subfn: int,
    enabled: bool,
    channel: int = codes.CHANNEL_PRESENT,
    lun: int = 0,
) -> None:
    """Enable or disable one sub-function of a command on a channel (the others as they are)."""
    args = (channel, netfn, cmd, lun)
    now = _bits(bytes(send(sat, _subfn_request(GetCommandSubfunctionEnablesReq, *args)).mask)[:4])
    now = now | {subfn} if enabled else now - {subfn}
    req = _subfn_request(SetCommandSubfunctionEnablesReq, *args, extra=_mask(now, 0, 4))
    send(sat, req, f"Set Sub-function Enables (netFn {netfn:#04x} cmd {cmd:#04x})")
