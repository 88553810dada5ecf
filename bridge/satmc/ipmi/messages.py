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

Set and Get Event Receiver are declared again here, unregistered: python-ipmi's
declaration splits the address byte into a reserved bit and a 7-bit address, so it
cannot carry FFh, the address that turns event generation off.
"""

from __future__ import annotations

import importlib.util

from pyipmi.msgs import (
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


@register_message_class
class SatmcGetStatisticsReq(Message):
    """One page of the satellite's counters (11 a page)."""

    __netfn__ = codes.NETFN_OEM
    __cmdid__ = codes.CMD_GET_STATISTICS
    __fields__ = (UnsignedInt("page", 1, 0),)


@register_message_class
class SatmcGetStatisticsRsp(Message):
    """total: how many counters; first: index of the first one here; values: u16 LE each
    (saturating at FFFFh)."""

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
    """The firmware's GC heap and what handling requests allocated."""

    __netfn__ = codes.NETFN_OEM
    __cmdid__ = codes.CMD_GET_HEAP_INFO


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
