"""Messages python-ipmi does not declare, in its `__fields__` style.

    from pyipmi.msgs import create_request_by_name
    req = create_request_by_name("SatmcGetStatistics")   # registered: netFn 30h cmd 01h
    req.page = 0

satmc's OEM commands (netFn 30h, answered by firmware/ipmc/app.py) are registered with
python-ipmi's registry, so `pyipmi.Ipmi.send_message` and the registry's lookups know
them like any standard message. Importing this module registers them (once: the
registry refuses a second registration of a netFn/cmd).

The counters' names come from the firmware's own list (firmware/ipmc/counters.py), in
the order Get Statistics reports them: one list serves both sides.

Get Device SDR Info is declared again, unregistered, with its request byte (python-ipmi
sends none, so it can only ask for the sensor count, not the SDR count). Set and Get
Event Receiver are declared again here, unregistered: python-ipmi's
declaration splits the address byte into a reserved bit and a 7-bit address, so it
cannot carry FFh, the address that turns event generation off.
"""

from __future__ import annotations

import importlib.util

from pyipmi.msgs import (
    ByteArray,
    CompletionCode,
    Message,
    RemainingBytes,
    UnsignedInt,
    register_message_class,
)

from ..resources import FIRMWARE_DIR
from . import codes

# the firmware's own list of counters: one list serves both sides
COUNTERS_PY = FIRMWARE_DIR / "ipmc" / "counters.py"


def _firmware_counter_names() -> tuple[str, ...]:
    spec = importlib.util.spec_from_file_location("_ipmc_counters", COUNTERS_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.NAMES)


COUNTER_NAMES = _firmware_counter_names()
COUNTERS_PER_PAGE = 5  # u32 LE each in a Get Statistics answer (firmware/ipmc/app.py)
STATISTICS_PAGES = -(-len(COUNTER_NAMES) // COUNTERS_PER_PAGE)  # requests per read_counters


@register_message_class
class SatmcGetStatisticsReq(Message):
    """One page of the satellite's counters (COUNTERS_PER_PAGE a page)."""

    __netfn__ = codes.NETFN_OEM
    __cmdid__ = codes.CMD_GET_STATISTICS
    __fields__ = (UnsignedInt("page", 1, 0),)


@register_message_class
class SatmcGetStatisticsRsp(Message):
    """total: how many counters; first: index of the first one here; values: u32 LE each
    (a counter stops at 2**30 - 2 in the firmware, counters.CAP; none wraps)."""

    __netfn__ = codes.NETFN_OEM | 1
    __cmdid__ = codes.CMD_GET_STATISTICS
    __fields__ = (
        CompletionCode(),
        UnsignedInt("total", 1),
        UnsignedInt("first", 1),
        RemainingBytes("values"),
    )


@register_message_class
class SatmcGetHeapInfoReq(Message):
    """The firmware's GC heap and what handling requests allocated; options bit 0: the
    firmware collects first, so "used" is the live heap (other bits are refused)."""

    __netfn__ = codes.NETFN_OEM
    __cmdid__ = codes.CMD_GET_HEAP_INFO
    __fields__ = (UnsignedInt("options", 1, 0),)


@register_message_class
class SatmcGetHeapInfoRsp(Message):
    """free, used: the GC heap now; hot_alloc: bytes allocated while handling requests
    since boot (rp2: since the first Get Heap Info, which arms the measurement);
    hot_frames: requests handled since boot (u32 LE each)."""

    __netfn__ = codes.NETFN_OEM | 1
    __cmdid__ = codes.CMD_GET_HEAP_INFO
    __fields__ = (
        CompletionCode(),
        UnsignedInt("free", 4),
        UnsignedInt("used", 4),
        UnsignedInt("hot_alloc", 4),
        UnsignedInt("hot_frames", 4),
    )


class SetEventReceiverAddressReq(Message):
    """Set Event Receiver with the whole 8-bit address (FFh: off); not registered."""

    __netfn__ = codes.NETFN_SENSOR
    __cmdid__ = codes.CMD_SET_EVENT_RECEIVER
    __fields__ = (UnsignedInt("address", 1), UnsignedInt("receiver_lun", 1, 0))


class SetEventReceiverAddressRsp(Message):
    __netfn__ = codes.NETFN_SENSOR | 1
    __cmdid__ = codes.CMD_SET_EVENT_RECEIVER
    __fields__ = (CompletionCode(),)


class GetEventReceiverAddressReq(Message):
    """Get Event Receiver, answered with the whole 8-bit address; not registered."""

    __netfn__ = codes.NETFN_SENSOR
    __cmdid__ = codes.CMD_GET_EVENT_RECEIVER


class GetEventReceiverAddressRsp(Message):
    __netfn__ = codes.NETFN_SENSOR | 1
    __cmdid__ = codes.CMD_GET_EVENT_RECEIVER
    __fields__ = (CompletionCode(), UnsignedInt("address", 1), UnsignedInt("receiver_lun", 1))


# --- Firmware Firewall and command discovery (IPMI 2.0 ch. 21; python-ipmi lacks them) ---
# Requests: channel ([3:0], 0Eh: the one asked on), then netFn ([7:6] the command half for
# the 128-command masks), LUN, and for one command its number; Group Extension (2Ch)
# requests end with the defining body code, OEM/Group (2Eh) with an IANA (`extra`).


def _firewall_message(name: str, cmd: int, doc: str, request: tuple, response: tuple):
    """Declare and register one request/response pair of the firewall commands."""
    classes = []
    for suffix, netfn, fields in (
        ("Req", codes.NETFN_APP, request),
        ("Rsp", codes.NETFN_APP | 1, (CompletionCode(), *response)),
    ):
        cls = type(
            name + suffix,
            (Message,),
            {"__doc__": doc, "__netfn__": netfn, "__cmdid__": cmd, "__fields__": fields},
        )
        classes.append(register_message_class(cls))
    return tuple(classes)


def _mask_request() -> tuple:
    return (
        UnsignedInt("channel", 1, codes.CHANNEL_PRESENT),
        UnsignedInt("of_netfn", 1),  # [7:6] 0: commands 00h-7Fh, 1: 80h-FFh; [5:0] netFn
        UnsignedInt("of_lun", 1, 0),
        RemainingBytes("extra"),
    )


def _command_request() -> tuple:
    return (
        UnsignedInt("channel", 1, codes.CHANNEL_PRESENT),
        UnsignedInt("of_netfn", 1),
        UnsignedInt("of_lun", 1, 0),
        UnsignedInt("of_command", 1),
        RemainingBytes("extra"),
    )


GetNetFnSupportReq, GetNetFnSupportRsp = _firewall_message(
    "GetNetFnSupport",
    codes.CMD_GET_NETFN_SUPPORT,
    "lun_support: 2 bits per LUN (LUN 0 LS; 00b none, 01b commands, 10b restricted); "
    "netfns: 16 bytes, a bit per LUN and netFn pair (LUN 0's 32 pairs first).",
    (UnsignedInt("channel", 1, codes.CHANNEL_PRESENT),),
    (UnsignedInt("lun_support", 1), ByteArray("netfns", 16)),
)
GetCommandSupportReq, GetCommandSupportRsp = _firewall_message(
    "GetCommandSupport",
    codes.CMD_GET_COMMAND_SUPPORT,
    "mask: a bit per command of the half asked for, 0b = supported.",
    _mask_request(),
    (ByteArray("mask", 16),),
)
GetConfigurableCommandsReq, GetConfigurableCommandsRsp = _firewall_message(
    "GetConfigurableCommands",
    codes.CMD_GET_CONFIGURABLE_COMMANDS,
    "mask: a bit per command, 1b = the firewall may disable it.",
    _mask_request(),
    (ByteArray("mask", 16),),
)
GetCommandEnablesReq, GetCommandEnablesRsp = _firewall_message(
    "GetCommandEnables",
    codes.CMD_GET_COMMAND_ENABLES,
    "mask: a bit per command, 1b = enabled on the channel.",
    _mask_request(),
    (ByteArray("mask", 16),),
)
SetCommandEnablesReq, SetCommandEnablesRsp = _firewall_message(
    "SetCommandEnables",
    codes.CMD_SET_COMMAND_ENABLES,
    "mask: a bit per command, 1b = enable; extra: body code (2Ch) or IANA (2Eh).",
    (
        UnsignedInt("channel", 1, codes.CHANNEL_PRESENT),
        UnsignedInt("of_netfn", 1),
        UnsignedInt("of_lun", 1, 0),
        ByteArray("mask", 16),
        RemainingBytes("extra"),
    ),
    (),
)
GetCommandSubfunctionSupportReq, GetCommandSubfunctionSupportRsp = _firewall_message(
    "GetCommandSubfunctionSupport",
    codes.CMD_GET_COMMAND_SUBFUNCTION_SUPPORT,
    "spec: [7:4] specification type (0h IPMI), [3:0] errata; version, revision; mask: "
    "a bit per sub-function, 0b = supported.",
    _command_request(),
    (
        UnsignedInt("spec", 1),
        UnsignedInt("version", 1),
        UnsignedInt("revision", 1),
        RemainingBytes("mask"),
    ),
)
GetConfigurableCommandSubfunctionsReq, GetConfigurableCommandSubfunctionsRsp = _firewall_message(
    "GetConfigurableCommandSubfunctions",
    codes.CMD_GET_CONFIGURABLE_COMMAND_SUBFUNCTIONS,
    "mask: a bit per sub-function, 1b = configurable.",
    _command_request(),
    (RemainingBytes("mask"),),
)
GetCommandSubfunctionEnablesReq, GetCommandSubfunctionEnablesRsp = _firewall_message(
    "GetCommandSubfunctionEnables",
    codes.CMD_GET_COMMAND_SUBFUNCTION_ENABLES,
    "mask: a bit per sub-function, 1b = enabled on the channel.",
    _command_request(),
    (RemainingBytes("mask"),),
)
SetCommandSubfunctionEnablesReq, SetCommandSubfunctionEnablesRsp = _firewall_message(
    "SetCommandSubfunctionEnables",
    codes.CMD_SET_COMMAND_SUBFUNCTION_ENABLES,
    "extra: body code (2Ch) or IANA (2Eh), then the mask (4 bytes, 1b = enable).",
    _command_request(),
    (),
)
GetOemNetFnIanaSupportReq, GetOemNetFnIanaSupportRsp = _firewall_message(
    "GetOemNetFnIanaSupport",
    codes.CMD_GET_OEM_NETFN_IANA_SUPPORT,
    "last: [7] the last in the list; lun_support as Get NetFn Support's; iana: the "
    "defining body code (2Ch) or IANA (2Eh), 3 bytes.",
    (
        UnsignedInt("channel", 1, codes.CHANNEL_PRESENT),
        UnsignedInt("of_netfn", 1),
        UnsignedInt("index", 1, 0),
    ),
    (UnsignedInt("last", 1), UnsignedInt("lun_support", 1), ByteArray("iana", 3)),
)


class GetDeviceSdrCountReq(Message):
    """Get Device SDR Info with operation 1: the number of the device's SDRs; not
    registered."""

    __netfn__ = codes.NETFN_SENSOR
    __cmdid__ = codes.CMD_GET_DEVICE_SDR_INFO
    __fields__ = (UnsignedInt("operation", 1, 1),)


class GetDeviceSdrCountRsp(Message):
    __netfn__ = codes.NETFN_SENSOR | 1
    __cmdid__ = codes.CMD_GET_DEVICE_SDR_INFO
    __fields__ = (
        CompletionCode(),
        UnsignedInt("number_of_sdrs", 1),
        RemainingBytes("rest"),  # flags, change indicator: as for the sensor count
    )
