"""Fuzz targets beside the IPMB dispatcher: each takes fuzzer bytes and raises
AssertionError (a finding) when a property fails. Expected refusals (satmc's own
errors: a clear one-line message) are fine; any other exception escaping is a finding.

    fru      FRU images through the host's checks and ipmitool-style printing
             (satmc fru print/check) and the firmware's image check
    board    board files (YAML text) through the board loader
    chassis  chassis files (YAML text) through the chassis loader: a chassis it takes has
             valid, distinct satellite addresses and names, none at the BMC's 0x20
    serial   Serial Basic Mode bytes through the host decoder and, on the firmware,
             SerialBasic.feed(): every answer it writes is a well-formed response
    users    the bench BMC's users file (TOML) through satmc.bmc.lan.users.load; role
             logins only when the file says role_logins = true
    bmc      the bench BMC's UDP datagrams through its LAN endpoint, from a world of
             sessions at every stage (fuzz.bmc: how bytes become a datagram, properties)
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

NAMES = ("fru", "board", "chassis", "serial", "users", "bmc")


def _expected(e: Exception) -> bool:
    from satmc.errors import SatmcError

    return isinstance(e, SatmcError)


def make(name: str):
    """The one-input function of target `name` (firmware imported before, if it needs it)."""
    if name == "fru":
        return _fru()
    if name == "board":
        return _board()
    if name == "chassis":
        return _chassis()
    if name == "serial":
        return _serial()
    if name == "bmc":
        return _bmc()
    if name == "users":
        return _users()
    raise ValueError(f"unknown target {name!r}; targets: {', '.join(NAMES)}")


def _fru():
    from ipmc import fru as firmware_fru
    from satmc.fru import image

    def one(data: bytes) -> None:
        for call in (image.problems, image.check, image.describe, image.to_source):
            try:
                call(data)
            except Exception as e:
                if not _expected(e):
                    raise AssertionError(f"{call.__name__}: {type(e).__name__}: {e}") from e
        for size in (len(data), 256):
            buf = bytearray(size)
            buf[: min(size, len(data))] = data[:size]
            status = firmware_fru.check_image(buf, size)
            if not 0 <= status < len(firmware_fru.PROBLEMS):
                raise AssertionError(f"firmware check_image gave {status!r}")

    return one


def _file_loader(kind: str, load, name: str, mode: int = 0o644):
    """load(path) of the fuzzer's bytes written to a file `name` -> its result, or None
    when it refuses them with satmc's own error; anything else escaping is a finding."""
    work = Path(tempfile.mkdtemp(prefix=f"satmc-fuzz-{kind}-"))

    def loaded(data: bytes):
        path = work / name
        path.write_bytes(data)
        path.chmod(mode)
        try:
            return load(path)
        except Exception as e:
            if not _expected(e):
                raise AssertionError(f"{load.__name__}: {type(e).__name__}: {e}") from e
            return None

    return loaded


def _board():
    from satmc.board import load_board

    return _file_loader("board", load_board, "fuzzed.yaml")


def _chassis():
    from satmc.board.chassis import BMC_ADDRESS, load_chassis
    from satmc.board.ipmb import check_address

    loaded = _file_loader("chassis", load_chassis, "fuzzed.yaml")

    def one(data: bytes) -> None:
        chassis = loaded(data)
        if chassis is None:
            return
        addresses = [s.address for s in chassis.satellites]
        names = [s.name for s in chassis.satellites]
        for a in addresses:
            check_address(a)  # raises (a finding: not satmc's refusal) if it is not one
        if len(set(addresses)) != len(addresses) or len(set(names)) != len(names):
            raise AssertionError(f"a chassis with a shared address or name: {chassis}")
        if BMC_ADDRESS in addresses or not chassis.satellites:
            raise AssertionError(f"a chassis with a satellite at 0x20, or none: {chassis}")

    return one


def _serial():
    from ipmc.serial_basic import SerialBasic
    from satmc.transports.serial import MAX_MESSAGE, BasicModeDecoder

    from .firmware import Firmware
    from .properties import response_problem

    fw = Firmware("sim", tempfile.mkdtemp(prefix="satmc-fuzz-serial-"))

    class Out(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def write(self, b, start=0, n=None):
            b = bytes(b)[start : None if n is None else start + n]
            self.data += b
            return len(b)

    def one(data: bytes) -> None:
        asked = BasicModeDecoder().feed(data)  # the requests in the stream, as the host reads it
        for msg in asked:
            if len(msg) > MAX_MESSAGE:
                raise AssertionError(f"host decoder gave a {len(msg)}-byte message")
        out = Out()
        line = SerialBasic(fw.mc, io.BytesIO(), out)
        for b in data:
            line.feed(b)
        for rsp in BasicModeDecoder().feed(bytes(out.data)):
            # every answer answers a request the line received, and is well formed
            if not any(response_problem(rq, rsp, 40) is None for rq in asked):
                raise AssertionError(f"answer {rsp.hex(' ')} is no well-formed response")

    return one


def _bmc():
    from .bmc import World, check

    world = World()

    def one(data: bytes) -> None:
        problem = check(world, data)
        if problem:
            raise AssertionError(f"{problem}: input {data.hex(' ')}")

    return one


def _users():
    import tomllib

    from satmc.bmc.lan.users import load

    loaded = _file_loader("users", load, "users.toml", mode=0o600)

    def one(data: bytes) -> None:
        users = loaded(data)
        if users is None:
            return
        text = data.decode().replace("\r\n", "\n").replace("\r", "\n")  # as load reads it
        if users.role_logins and tomllib.loads(text).get("role_logins") is not True:
            raise AssertionError("role logins on without role_logins = true")

    return one
