"""The satellite's heap figures (satmc OEM command netFn 0x30 cmd 0x02)."""

from __future__ import annotations

import struct

NETFN_OEM = 0x30
CMD_GET_HEAP_INFO = 0x02


def read_heap(sat) -> dict[str, int]:
    """free, used: the GC heap now; hot_alloc: bytes allocated while handling requests
    since boot; hot_frames: requests handled since boot."""
    d = sat.call(NETFN_OEM, CMD_GET_HEAP_INFO, what="Get Heap Info")
    free, used, hot_alloc, hot_frames = struct.unpack("<IIII", d[:16])
    return {"free": free, "used": used, "hot_alloc": hot_alloc, "hot_frames": hot_frames}
