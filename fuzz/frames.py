"""Fuzzer bytes -> an IPMB frame for the satellite, so most inputs reach a handler.

The first byte picks how the rest is read:
  0  raw: the bytes after our address, as a controller could write them
  1  any netFn (its low bits) and command, checksums right
  2  a registered command (by index), checksums right: the handlers' own checks
  3  as 2, then one byte flipped: framing and checksum checks
"""

from __future__ import annotations

ADDRESS = 0x72


def request_frame(rs_sa, netfn_lun, rq_sa, seq_lun, cmd, data) -> bytes:
    h = bytes((rs_sa, netfn_lun))
    b = bytes((rq_sa, seq_lun, cmd)) + bytes(data)
    return h + bytes((-sum(h) & 0xFF,)) + b + bytes((-sum(b) & 0xFF,))


def frame_from(data: bytes, registered, address: int = ADDRESS) -> bytes:
    if len(data) < 4:
        return bytes((address,)) + data
    mode, a, b, c, rest = data[0] & 3, data[1], data[2], data[3], data[4:29]
    if mode == 0:
        return bytes((address,)) + data[1:40]
    if mode == 1:
        return request_frame(address, a, 0x20 | (b & 0xC0) >> 5, c, b, rest)
    netfn, cmd = registered[(a << 8 | b) % len(registered)]
    f = request_frame(address, netfn << 2 | (c & 3 if c & 0x80 else 0), 0x20, c & 0xFC, cmd, rest)
    if mode == 3 and f:
        i = c % len(f)
        f = f[:i] + bytes((f[i] ^ (1 << (b & 7)),)) + f[i + 1 :]
    return f


def registered_commands() -> list[tuple[int, int]]:
    """(netFn, cmd) of every command the imported firmware registered."""
    from ipmc.dispatch import keys

    return [(k >> 8, k & 0xFF) for k in sorted(keys())]
