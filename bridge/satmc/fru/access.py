"""FRU device access over IPMI: area info, chunked reads and writes, safe image writes.

    dev = FRUAccess(sat, fru_id=0)
    dev.size                                  # Get FRU Inventory Area Info
    img = dev.read()                          # Read FRU Data, 23-byte chunks
    dev.write(0x10, data)                     # Write FRU Data, page-friendly chunks
    report = dev.write_image(img)             # header last, then read back and compare

write_image keeps an interrupted write detectable: it first writes the new common
header with a wrong checksum (the image is then "corrupt" to every reader), then every
chunk that differs, then the valid header. Cut anywhere, the part holds the old image,
an image whose header checksum fails, or the new image. Running it again repairs it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..errors import CompletionCodeError, MalformedResponseError
from ..ipmi import client
from ..ipmi.codes import (
    CC_CANNOT_RETURN,
    CC_FIELD_LENGTH,
    CC_FRU_BUSY,
    CC_FRU_WRITE_PROTECTED,
    CC_INVALID_COMMAND,
    CC_LENGTH,
    CC_NOT_PRESENT,
    FRU_LOCATOR_LOGICAL,
    SUPPORT_FRU_INVENTORY,
)
from . import FRUError, FRUVerifyError, FRUWriteProtectedError

WRITE_CHUNK = 16  # <= 22; aligned, so each chunk touches whole EEPROM pages
BUSY_RETRY_S = 2.0


@dataclass
class WriteReport:
    written: list[tuple[int, int]] = field(default_factory=list)  # (offset, length) chunks
    requests: int = 0
    busy_retries: int = 0
    verified: bool = False


def diff_ranges(a: bytes, b: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each run of differing bytes between a and b (same length)."""
    out = []
    i = 0
    while i < len(a):
        if a[i] != b[i]:
            j = i
            while j < len(a) and a[j] != b[j]:
                j += 1
            out.append((i, j - i))
            i = j
        else:
            i += 1
    return out


def describe_diff(wrote: bytes, got: bytes, limit: int = 8) -> str:
    ranges = diff_ranges(wrote, got)
    parts = []
    for off, n in ranges[:limit]:
        shown = min(n, 8)
        more = "..." if n > shown else ""
        parts.append(
            f"0x{off:04x}+{n}: wrote {wrote[off : off + shown].hex(' ')}{more}, "
            f"read {got[off : off + shown].hex(' ')}{more}"
        )
    extra = f"; and {len(ranges) - limit} more ranges" if len(ranges) > limit else ""
    total = sum(n for _, n in ranges)
    return f"{total} bytes differ in {len(ranges)} ranges: " + "; ".join(parts) + extra


def devices(sat, records) -> list[tuple[int, str | None]]:
    """The FRU devices `ipmitool fru print` lists: (id, description) of FRU 0, the
    controller's own (description None: "Builtin FRU Device"), then of each logical FRU
    Device Locator SDR among `records` (the satellite's SDRs, decoded)."""
    from pyipmi.sdr import SdrFruDeviceLocator

    out: list[tuple[int, str | None]] = [(0, None)]
    for r in records:
        if isinstance(r, SdrFruDeviceLocator) and r.logical_physical & FRU_LOCATOR_LOGICAL:
            if r.fru_device_id not in (i for i, _ in out):
                out.append((r.fru_device_id, r.device_id_string))
    return out


class FRUAccess:
    def __init__(self, sat, fru_id: int = 0, write_chunk: int = WRITE_CHUNK):
        if not 1 <= write_chunk <= client.FRU_WRITE_MAX:
            raise ValueError("write chunks are 1..22 bytes (one IPMB request)")
        self.sat = sat
        self.fru_id = fru_id
        self.write_chunk = write_chunk
        self._size: int | None = None

    @property
    def size(self) -> int:
        if self._size is None:
            try:
                self._size, _ = client.get_fru_inventory_area_info(self.sat, self.fru_id)
            except CompletionCodeError as e:
                if e.cc in (CC_INVALID_COMMAND, CC_NOT_PRESENT) and not self._fru_device():
                    raise FRUError(
                        "this satellite declares no FRU devices (Get FRU Inventory Area Info: "
                        f"completion code 0x{e.cc:02x}); its board file has no fru: list"
                    ) from None
                if e.cc == CC_NOT_PRESENT:
                    raise FRUError(
                        f"this satellite has no FRU device {self.fru_id} (completion code "
                        "0xcb); choose another with --id"
                    ) from None
                raise
        return self._size

    def _fru_device(self) -> bool:
        """Whether Get Device ID says the satellite is a FRU inventory device."""
        return bool(client.get_device_id(self.sat)["support"] & SUPPORT_FRU_INVENTORY)

    def _busy(self, at: int, doing: str) -> str:
        return (
            f"FRU {self.fru_id}: EEPROM busy (completion code 0x81) {doing} at 0x{at:04x}; "
            "retry (the satellite is still loading or writing it)"
        )

    def read(self, offset: int = 0, length: int | None = None, progress=None) -> bytes:
        """length bytes from offset (default: to the end), in chunks one response carries;
        progress(bytes read, bytes in all) after each."""
        end = self.size if length is None else offset + length
        if end > self.size:
            raise FRUError(f"FRU {self.fru_id}: reading to {end} passes its end ({self.size})")
        out = bytearray()
        chunk = client.FRU_READ_CHUNK
        while offset + len(out) < end:
            at = offset + len(out)
            n = min(chunk, end - at)
            try:
                d = client.read_fru_data(self.sat, self.fru_id, at, n)
            except CompletionCodeError as e:
                if e.cc in (CC_LENGTH, CC_FIELD_LENGTH, CC_CANNOT_RETURN) and chunk > 1:
                    chunk = max(1, chunk // 2)  # as ipmitool does: shrink and ask again
                    continue
                if e.cc == CC_FRU_BUSY:
                    raise FRUError(self._busy(at, "reading")) from None
                raise
            except MalformedResponseError as e:
                raise FRUError(
                    f"FRU {self.fru_id}: malformed Read FRU Data answer {e.data.hex()}"
                ) from None
            if not d:
                raise FRUError(f"FRU {self.fru_id}: malformed Read FRU Data answer 00")
            out += d
            if progress is not None:
                progress(len(out), end - offset)
        return bytes(out)

    def write(
        self, offset: int, data: bytes, report: WriteReport | None = None, progress=None
    ) -> WriteReport:
        """Write data at offset in aligned chunks; 81 (busy) is retried for a while."""
        report = report or WriteReport()
        if offset + len(data) > self.size:
            raise FRUError(
                f"FRU {self.fru_id}: {len(data)} bytes at 0x{offset:04x} do not fit "
                f"its {self.size} bytes"
            )
        done = 0
        while done < len(data):
            at = offset + done
            n = min(self.write_chunk - at % self.write_chunk, len(data) - done)
            n = self._write_chunk(at, data[done : done + n], report)
            report.written.append((at, n))
            done += n
            if progress is not None:
                progress(at, n)
        return report

    def _write_chunk(self, at: int, chunk: bytes, report: WriteReport) -> int:
        """One Write FRU Data (81 retried); bytes the device wrote (at least one)."""
        deadline = time.monotonic() + BUSY_RETRY_S
        while True:
            report.requests += 1
            try:
                written = client.write_fru_data(self.sat, self.fru_id, at, chunk)
            except CompletionCodeError as e:
                if e.cc == CC_FRU_BUSY and time.monotonic() < deadline:
                    report.busy_retries += 1
                    time.sleep(0.02)
                    continue
                if e.cc == CC_FRU_BUSY:
                    raise FRUError(self._busy(at, f"writing for {BUSY_RETRY_S:g} s")) from None
                if e.cc == CC_FRU_WRITE_PROTECTED:
                    raise FRUWriteProtectedError(
                        f"FRU {self.fru_id}: write protected (completion code 0x80) at 0x{at:04x}"
                    ) from None
                raise
            except MalformedResponseError:
                written = 0
            if not 0 < written <= len(chunk):
                raise FRUError(
                    f"FRU {self.fru_id}: sent {len(chunk)} bytes at 0x{at:04x}, "
                    f"the device reports {written} written"
                )
            return written

    def write_image(self, img: bytes, verify: bool = True, progress=None) -> WriteReport:
        """Write a whole image so that an interruption stays detectable (see above)."""
        img = bytes(img)
        if len(img) > self.size:
            raise FRUError(
                f"FRU {self.fru_id}: the image is {len(img)} bytes, the device holds {self.size}"
            )
        if len(img) < 8:
            raise FRUError("a FRU image has at least its 8-byte common header")
        report = WriteReport()
        current = self.read(0, len(img))
        body = [(o, n) for o, n in diff_ranges(current[8:], img[8:])]
        if body or current[:8] != img[:8]:
            if body:
                broken = bytearray(img[:8])
                broken[7] ^= 0xFF  # header checksum wrong until the body is complete
                self.write(0, bytes(broken), report, progress)
            for o, n in body:
                self.write(8 + o, img[8 + o : 8 + o + n], report, progress)
            self.write(0, img[:8], report, progress)
        if verify:
            got = self.read(0, len(img))
            if got != img:
                raise FRUVerifyError(
                    f"FRU {self.fru_id}: read-back differs from the image: "
                    + describe_diff(img, got)
                )
            report.verified = True
        return report
