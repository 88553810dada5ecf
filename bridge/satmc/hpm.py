"""PICMG HPM.1 upgrade images of a bundle, and the upgrade over IPMB.

    data = image(board, bundle)                # the .hpm file stock ipmitool accepts
    upgrade(sat, data, progress=print_bar)     # prepare, upload, finish, activate, verify

An image is the HPM.1 R1.0 upgrade image: header (signature PICMGFWU, the board's
device, manufacturer and product IDs, capabilities, timeouts, firmware revision) with
its zero-sum checksum, a Prepare action and an Upload action for component 0 (each with
its record checksum), and the MD5 of everything before it. Component 0's payload is a
bundle archive; its format is defined once, in the firmware (firmware/ipmc/hpm.py,
which reads it). python-ipmi parses HPM.1 images and sends the messages but builds no
images and drives no upgrade with this board's rules (block sizes per link, the trial
boot, the rollback record), so both are written here.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from collections.abc import Callable
from pathlib import Path

from .board import Board
from .bundle import MANIFEST, ROOT_MODULES, Bundle
from .errors import BusError, CompletionCodeError, NoResponseError, SatmcError
from .ipmi import client, codes

SIGNATURE = b"PICMGFWU"
ARCHIVE_MAGIC = b"SATMCBA1"
DESCRIPTION_LEN = 21
IMAGE_CAPABILITIES = 0x07  # self test, automatic rollback, manual rollback


class HpmError(SatmcError):
    """An HPM.1 image could not be made, or the upgrade failed."""


def _zero_sum(data: bytes) -> int:
    return -sum(data) & 0xFF


def _bcd(n: int) -> int:
    n %= 100
    return (n // 10) << 4 | n % 10


def revision(version: str, aux: list[int]) -> bytes:
    """The 6-byte HPM.1 firmware revision: major, minor in BCD, 4 auxiliary bytes."""
    major, minor = (int(x) for x in version.split(".")[:2])
    return bytes((major & 0x7F, _bcd(minor), *aux))


def slot_files(bundle: Bundle) -> list[str]:
    """The bundle files one HPM.1 slot holds: code and board config, the manifest last.
    The boot selector and main.py stay at the root; FRU images are the board's data."""
    root_only = {"main.py"} | {Path(n).with_suffix(".mpy").name for n in ROOT_MODULES}
    names = [
        n
        for n in sorted(bundle.manifest["files"])
        if n not in root_only and (n.startswith("ipmc/") or n == "board_config.mpy")
    ]
    return names + [MANIFEST]


def archive(bundle: Bundle) -> bytes:
    """Component 0's payload: the bundle archive (format: firmware/ipmc/hpm.py)."""
    out = bytearray(ARCHIVE_MAGIC)
    for name in slot_files(bundle):
        data = (bundle.root / name).read_bytes()
        raw = name.encode("ascii")
        out += bytes((len(raw),)) + raw + struct.pack("<I", len(data)) + data
    out.append(0)
    out += hashlib.sha256(out).digest()
    return bytes(out)


def image(board: Board, bundle: Bundle, when: int | None = None) -> bytes:
    """The HPM.1 upgrade image of a bundle for a board."""
    cfg = board.config
    dev = cfg["device"]
    rev = revision(bundle.manifest["firmware_version"], dev["aux_firmware_revision"])
    t = {k: -(-v // codes.HPM_TIMEOUT_UNIT_S) for k, v in cfg["hpm_timeouts"].items()}
    if when is None:
        when = int(os.environ.get("SOURCE_DATE_EPOCH") or time.time())
    header = bytearray(SIGNATURE)
    header += bytes((0, dev["device_id"]))
    header += dev["manufacturer_id"].to_bytes(3, "little")
    header += dev["product_id"].to_bytes(2, "little")
    header += struct.pack("<I", when & 0xFFFFFFFF)
    header += bytes((IMAGE_CAPABILITIES, 0x01, t["self_test_s"], t["rollback_s"]))
    header += bytes((t["inaccessibility_s"],))
    header += bytes((0, 0))  # earliest compatible revision: any
    header += rev
    header += struct.pack("<H", 0)  # no OEM data
    header.append(_zero_sum(header))
    out = bytearray(header)
    prepare = bytes((codes.HPM_ACTION_PREPARE, 0x01))
    out += prepare + bytes((_zero_sum(prepare),))
    payload = archive(bundle)
    upload = bytes((codes.HPM_ACTION_UPLOAD, 0x01))
    desc = f"satmc {board.name}".encode("ascii")[: DESCRIPTION_LEN - 1]
    out += upload + bytes((_zero_sum(upload),))
    out += rev + desc.ljust(DESCRIPTION_LEN, b"\0") + struct.pack("<I", len(payload))
    out += payload
    out += hashlib.md5(out).digest()
    return bytes(out)


def component_payload(data: bytes) -> bytes:
    """Component 0's payload out of an image (checked as ipmitool checks it)."""
    if len(data) < 35 + 16 or data[:8] != SIGNATURE:
        raise HpmError("not an HPM.1 upgrade image (no PICMGFWU signature)")
    if hashlib.md5(data[:-16]).digest() != data[-16:]:
        raise HpmError("the HPM.1 image's MD5 does not match: the file is damaged")
    oem = struct.unpack_from("<H", data, 32)[0]
    at = 34 + oem + 1
    if sum(data[:at]) & 0xFF:
        raise HpmError("the HPM.1 image's header checksum is wrong")
    while at < len(data) - 16:
        action, comps = data[at], data[at + 1]
        if sum(data[at : at + 3]) & 0xFF:
            raise HpmError(f"the HPM.1 image's action record at {at} has a bad checksum")
        at += 3
        if action == codes.HPM_ACTION_UPLOAD:
            (n,) = struct.unpack_from("<I", data, at + 6 + DESCRIPTION_LEN)
            start = at + 6 + DESCRIPTION_LEN + 4
            if comps != 0x01:
                raise HpmError(f"the image uploads components 0x{comps:02x}; satmc has 0 only")
            return data[start : start + n]
    raise HpmError("the HPM.1 image uploads nothing")


# --- the upgrade over a connection ---------------------------------------------------------


def _wait_done(sat, cmd: int, timeout: float) -> None:
    """Poll Get Upgrade Status after a long-duration command answered 80h."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running, cc = client.get_upgrade_status(sat)
        if running == cmd and cc != codes.CC_HPM_IN_PROGRESS:
            if cc:
                raise CompletionCodeError(cc, f"HPM.1 command 0x{cmd:02x}")
            return
        time.sleep(0.1)
    raise HpmError(f"HPM.1 command 0x{cmd:02x} still in progress after {timeout:.0f} s")


def _long(sat, fn, cmd: int, timeout: float, *args) -> None:
    try:
        fn(sat, *args)
    except CompletionCodeError as e:
        if e.cc != codes.CC_HPM_IN_PROGRESS:
            raise
        _wait_done(sat, cmd, timeout)


def finish_upload(sat, length: int, timeout: float = 30.0) -> None:
    """Finish Firmware Upload of component 0: its outcome, answered at once or (80h, a
    board whose flash is slow) read from Get Upgrade Status; CompletionCodeError on a
    refusal (81h length, 82h integrity)."""
    _long(
        sat,
        client.finish_firmware_upload,
        codes.CMD_HPM_FINISH_FIRMWARE_UPLOAD,
        timeout,
        0,
        length,
    )


def _until_back(sat, fn, timeout: float):
    """fn(sat) once the satellite answers it with something other than 80h (in progress)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return fn(sat)
        except CompletionCodeError as e:
            if e.cc != codes.CC_HPM_IN_PROGRESS:
                raise
            last = e
        except (NoResponseError, BusError) as e:  # resetting: not on the bus yet
            last = e
        time.sleep(0.2)
    raise HpmError(f"the satellite did not come back within {timeout:.0f} s: {last}")


def upgrade(
    sat,
    data: bytes,
    block: int = client.HPM_BLOCK_IPMB,
    progress: Callable[[int, int], None] | None = None,
    activate: bool = True,
) -> dict:
    """Upload component 0 of an image, activate it and wait for its self test.

    Returns {"sent": bytes uploaded, "blocks": n, "self_test": (r1, r2), "rolled_back":
    mask}. Raises HpmError when the new bundle's self test failed (it was rolled back).
    """
    payload = component_payload(data)
    caps = client.get_target_upgrade_capabilities(sat)
    if not caps["components"] & 0x01:
        raise HpmError("the satellite offers no HPM.1 component 0 (its firmware bundle)")
    wait = max(caps["upgrade_s"], 5)
    _long(
        sat,
        client.initiate_upgrade_action,
        codes.CMD_HPM_INITIATE_UPGRADE_ACTION,
        wait,
        0x01,
        codes.HPM_ACTION_PREPARE,
    )
    _long(
        sat,
        client.initiate_upgrade_action,
        codes.CMD_HPM_INITIATE_UPGRADE_ACTION,
        wait,
        0x01,
        codes.HPM_ACTION_UPLOAD,
    )
    n = 0
    for at in range(0, len(payload), block):
        client.upload_firmware_block(sat, n, payload[at : at + block])
        n += 1
        if progress:
            progress(min(at + block, len(payload)), len(payload))
    finish_upload(sat, len(payload), wait)
    result = {"sent": len(payload), "blocks": n, "self_test": None, "rolled_back": 0}
    if not activate:
        return result
    client.activate_firmware(sat)
    back = caps["inaccessible_s"] + caps["self_test_s"] + caps["rollback_s"]
    result["self_test"] = _until_back(sat, client.query_self_test_results, back)
    result["rolled_back"] = _until_back(sat, client.query_rollback_status, back)
    if result["self_test"][0] != codes.SELF_TEST_OK or result["rolled_back"]:
        raise HpmError(
            f"the new bundle failed its trial (self test {result['self_test'][0]:02x} "
            f"{result['self_test'][1]:02x}): the previous bundle was rolled back"
        )
    return result


def write_image(board: Board, bundle: Bundle, path: Path) -> int:
    data = image(board, bundle)
    Path(path).write_bytes(data)
    return len(data)
