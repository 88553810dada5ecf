"""Bus traces as pcap files that Wireshark/tshark decode (LINKTYPE_I2C_LINUX, 209).

    writer = PcapWriter(open("trace.pcap", "wb"))
    bus.listeners.append(writer.record)

Each record is the 5-byte pseudo-header (bus number, flags; flag 0x1 = read)
followed by the I2C message starting with the 8-bit address byte, so an IPMB frame
starts with rsSA. Decode with:
    tshark -r trace.pcap -d 'i2c.message,ipmi' -o ipmi.dissect_bus_commands:TRUE -V
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable
from typing import BinaryIO

LINKTYPE_I2C_LINUX = 209
_GLOBAL = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_I2C_LINUX)


def pseudo_header(bus_index: int, read: bool) -> bytes:
    return struct.pack(">BI", bus_index & 0x7F, 0x1 if read else 0x0)


class PcapWriter:
    """Appends trace records to a pcap stream as they are made."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._lock = threading.Lock()
        stream.write(_GLOBAL)
        stream.flush()

    def record(self, rec) -> None:
        payload = pseudo_header(rec.bus_index, rec.read) + rec.wire_bytes()
        sec = int(rec.time)
        usec = int((rec.time - sec) * 1_000_000)
        with self._lock:
            self._stream.write(struct.pack("<IIII", sec, usec, len(payload), len(payload)))
            self._stream.write(payload)
            self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def write_pcap(path: str, records: Iterable) -> int:
    """Write records to a new pcap file; returns how many were written."""
    n = 0
    with open(path, "wb") as f:
        writer = PcapWriter(f)
        for rec in records:
            writer.record(rec)
            n += 1
    return n
