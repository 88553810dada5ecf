"""Bytes on the LAN: RMCP, ASF presence, IPMI 1.5 and RMCP+ session packets, and the
IPMB-format message inside them (IPMI 2.0 ch. 13; ASF 2.0 for the presence ping).

Pure functions over bytes, no sockets and no state: `decode_*` raises `Malformed` on
anything short, long or inconsistent, so a fuzzed datagram costs one exception.

Written here because no maintained Python library frames the BMC side: pyghmi's server
(the only one) carries its framing inside its session objects, for suite 3 only, and
python-ipmi frames the client side only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RMCP_VERSION = 0x06
RMCP_NO_ACK = 0xFF  # RMCP sequence number meaning "do not acknowledge"
CLASS_ASF = 0x06
CLASS_IPMI = 0x07
ASF_IANA = 4542  # 0x000011BE, big-endian in ASF messages
ASF_PING = 0x80
ASF_PONG = 0x40

AUTH_NONE, AUTH_MD2, AUTH_MD5, AUTH_STRAIGHT, AUTH_OEM, AUTH_RMCPP = 0, 1, 2, 4, 5, 6

# RMCP+ payload types (table 13-16)
PAYLOAD_IPMI = 0x00
PAYLOAD_SOL = 0x01
PAYLOAD_OEM = 0x02
PAYLOAD_OPEN_SESSION_REQUEST = 0x10
PAYLOAD_OPEN_SESSION_RESPONSE = 0x11
PAYLOAD_RAKP1 = 0x12
PAYLOAD_RAKP2 = 0x13
PAYLOAD_RAKP3 = 0x14
PAYLOAD_RAKP4 = 0x15
ENCRYPTED = 0x80
AUTHENTICATED = 0x40
NEXT_HEADER = 0x07

MAX_DATAGRAM = 1024  # far above any IPMI message (their data is at most a few hundred bytes)


class Malformed(ValueError):
    """A datagram the BMC cannot parse; it is dropped and counted."""


def rmcp_header(msg_class: int, seq: int = RMCP_NO_ACK) -> bytes:
    return bytes((RMCP_VERSION, 0, seq, msg_class))


def split_rmcp(datagram: bytes) -> tuple[int, bytes]:
    """-> (message class, body after the 4-byte RMCP header)."""
    if not 4 < len(datagram) <= MAX_DATAGRAM or datagram[0] != RMCP_VERSION:
        raise Malformed("not an RMCP datagram")
    return datagram[3] & 0x1F if datagram[3] & 0x80 == 0 else -1, datagram[4:]


def asf_pong(body: bytes) -> bytes | None:
    """The presence pong answering an ASF presence ping body, or None if it is not one."""
    if len(body) < 8:
        raise Malformed("short ASF message")
    iana, mtype, tag, _res, length = struct.unpack(">IBBBB", body[:8])
    if iana != ASF_IANA or mtype != ASF_PING:
        return None
    # data: IANA, OEM-defined 0, supported entities (IPMI, ASF 1.0), interactions, reserved
    data = struct.pack(">II", ASF_IANA, 0) + bytes((0x81, 0x00)) + bytes(6)
    return (
        rmcp_header(CLASS_ASF)
        + struct.pack(">IBBBB", ASF_IANA, ASF_PONG, tag, 0, len(data))
        + data
    )


# --- IPMI 1.5 session packets ------------------------------------------------------------


@dataclass
class V15Packet:
    auth_type: int
    seq: int
    session_id: int
    auth_code: bytes  # 16 bytes, or b"" for auth type none
    message: bytes


def decode_v15(body: bytes) -> V15Packet:
    if len(body) < 10:
        raise Malformed("short IPMI 1.5 session header")
    auth_type = body[0] & 0x0F
    seq, sid = struct.unpack_from("<II", body, 1)
    at = 9
    code = b""
    if auth_type != AUTH_NONE:
        code = body[at : at + 16]
        at += 16
        if len(code) != 16:
            raise Malformed("short auth code")
    if at >= len(body):
        raise Malformed("no message length")
    length = body[at]
    message = body[at + 1 : at + 1 + length]
    # a legacy pad byte may follow the message
    if len(message) != length or len(body) - (at + 1 + length) > 1:
        raise Malformed("message length does not match")
    return V15Packet(auth_type, seq, sid, code, message)


def encode_v15(auth_type: int, seq: int, sid: int, auth_code: bytes, message: bytes) -> bytes:
    return (
        rmcp_header(CLASS_IPMI)
        + struct.pack("<BII", auth_type, seq, sid)
        + (auth_code if auth_type != AUTH_NONE else b"")
        + bytes((len(message),))
        + message
    )


# --- RMCP+ session packets (table 13-8) --------------------------------------------------


@dataclass
class V2Packet:
    payload_type: int  # bits 5:0
    encrypted: bool
    authenticated: bool
    session_id: int
    seq: int
    payload: bytes  # still encrypted when `encrypted`
    signed: bytes  # what the integrity code covers (auth type .. next header)
    auth_code: bytes  # the trailing integrity code (b"" when not authenticated)


def decode_v2(body: bytes, auth_code_len: int = 0) -> V2Packet:
    """An RMCP+ packet (body starts at the auth type byte 06h). `auth_code_len` is the
    integrity code length of the session it names (0 outside a session)."""
    if len(body) < 12 or body[0] & 0x0F != AUTH_RMCPP:
        raise Malformed("short RMCP+ header")
    ptype = body[1]
    if ptype & 0x3F == PAYLOAD_OEM:
        raise Malformed("OEM payloads are not supported")
    sid, seq, length = struct.unpack_from("<IIH", body, 2)
    end = 12 + length
    if end > len(body):
        raise Malformed("payload length beyond the datagram")
    payload = body[12:end]
    authenticated = bool(ptype & AUTHENTICATED)
    if not authenticated:
        if end != len(body):
            raise Malformed("bytes after the payload")
        return V2Packet(ptype & 0x3F, bool(ptype & ENCRYPTED), False, sid, seq, payload, b"", b"")
    if auth_code_len == 0:
        raise Malformed("an authenticated packet outside a session")
    trailer = len(body) - end - auth_code_len  # pad + pad length + next header
    if trailer < 2 or trailer > 5:
        raise Malformed("bad integrity trailer")
    signed_end = len(body) - auth_code_len
    pad_len, next_header = body[signed_end - 2], body[signed_end - 1]
    if pad_len != trailer - 2 or next_header != NEXT_HEADER or signed_end % 4:
        raise Malformed("bad integrity pad")
    return V2Packet(
        ptype & 0x3F,
        bool(ptype & ENCRYPTED),
        True,
        sid,
        seq,
        payload,
        body[:signed_end],
        body[signed_end:],
    )


def encode_v2_unsigned(ptype: int, sid: int, seq: int, payload: bytes) -> bytes:
    return struct.pack("<BBIIH", AUTH_RMCPP, ptype, sid, seq, len(payload)) + payload


def integrity_pad(signed_without_trailer: int) -> bytes:
    """The 0xFF pad, pad length and next header making the signed range a multiple of 4."""
    n = (-(signed_without_trailer + 2)) % 4
    return b"\xff" * n + bytes((n, NEXT_HEADER))


# --- the IPMB-format message inside a session packet --------------------------------------


def checksum(data: bytes) -> int:
    return -sum(data) & 0xFF


@dataclass
class Message:
    rs_addr: int
    netfn: int
    rs_lun: int
    rq_addr: int
    rq_seq: int
    rq_lun: int
    cmd: int
    data: bytes


def decode_message(msg: bytes) -> Message:
    if len(msg) < 7:
        raise Malformed("short IPMI message")
    if checksum(msg[:2]) != msg[2] or checksum(msg[3:-1]) != msg[-1]:
        raise Malformed("bad IPMI message checksum")
    return Message(
        msg[0], msg[1] >> 2, msg[1] & 3, msg[3], msg[4] >> 2, msg[4] & 3, msg[5], bytes(msg[6:-1])
    )


def encode_response(req: Message, cc: int, data: bytes, rs_addr: int = 0x20) -> bytes:
    """The response to `req` from `rs_addr`: netFn + 1, the requester's seq and LUNs."""
    head = bytes((req.rq_addr, ((req.netfn | 1) << 2) | req.rq_lun))
    body = bytes((rs_addr, (req.rq_seq << 2) | req.rs_lun, req.cmd, cc)) + data
    return head + bytes((checksum(head),)) + body + bytes((checksum(body),))
