"""The bench BMC's LAN side as a state machine: datagram in, datagrams out.

    ep = Endpoint(users.load("bmc-users.toml"))
    replies, dispatch = ep.receive(datagram, ("127.0.0.1", 40000))
    # send replies; if dispatch: cc, data = await responder.handle(dispatch.request)
    reply = ep.answer(dispatch, cc, data)        # None if the session closed meanwhile
    extra = ep.frame(dispatch, ipmb_message)     # a further message in the same session

No sockets and no awaiting: `receive` is a pure step over the endpoint's session table,
so a fuzzer drives it directly. The clock is injected (`clock`), and so is the source
of session IDs, challenges and RAKP random numbers (`random`, `os.urandom` unless given:
the fuzzer's is seeded, so its corpus can name sessions and sign for them).

What it answers itself (IPMI 2.0 ch. 13 and 22): ASF presence ping, Get Channel
Authentication Capabilities (with and without the v2 bit), Get Session Challenge and
Activate Session (IPMI 1.5; straight password and MD5, auth type none only with
`allow_auth_none`), RMCP+ Open Session and RAKP 1-4 (cipher suites 3 and 17, role-only
and two-key logins), Get Channel Cipher Suites (sessionless and in a session), Set
Session Privilege Level, Close Session, Get Session Info, Get User Access and Get User
Name. Everything else inside an authenticated session is handed on as a `BmcRequest`.

Refusals are dropped datagrams or the spec's status/completion codes; each is counted
in `stats` under a reason and logged. Written here because no library serves the BMC
side of these sessions correctly (see `satmc.bmc.lan.wire`).
"""

from __future__ import annotations

import collections
import hmac
import ipaddress
import logging
import os
import struct
import time
from dataclasses import dataclass, field

from ...ipmi import codes
from .. import api
from . import crypto, wire
from .users import Users

log = logging.getLogger("satmc.bmc.lan")

BMC_ADDR = 0x20

# RMCP+ / RAKP status codes (table 13-15)
RAKP_OK = 0x00
RAKP_NO_RESOURCES = 0x01
RAKP_INVALID_SESSION_ID = 0x02
RAKP_INVALID_ROLE = 0x09
RAKP_UNAUTHORIZED_ROLE = 0x0A
RAKP_INVALID_NAME_LENGTH = 0x0C
RAKP_UNAUTHORIZED_NAME = 0x0D
RAKP_INVALID_INTEGRITY_CHECK = 0x0F
RAKP_NO_CIPHER_SUITE_MATCH = 0x11
RAKP_ILLEGAL_PARAMETER = 0x12

# command-specific completion codes of the session commands (ch. 22)
CC_INVALID_USER_NAME = 0x81  # Get Session Challenge
CC_NULL_USER_DISABLED = 0x82
CC_NO_SESSION_SLOT = 0x81  # Activate Session
CC_SEQ_OUT_OF_RANGE = 0x84
CC_INVALID_SESSION_ID = 0x85
CC_PRIV_EXCEEDS_LIMIT = 0x86
CC_PRIV_NOT_AVAILABLE = 0x80  # Set Session Privilege Level
CC_PRIV_EXCEEDS_USER = 0x81
CC_CLOSE_INVALID_ID = 0x87  # Close Session
CC_CLOSE_INVALID_HANDLE = 0x88

SESSIONLESS = {
    codes.CMD_GET_CHANNEL_AUTH_CAPABILITIES,
    codes.CMD_GET_SESSION_CHALLENGE,
    codes.CMD_GET_CHANNEL_CIPHER_SUITES,
}
# the privilege each LAN-side command needs inside a session (IPMI 2.0 table G-1)
COMMAND_PRIVILEGE = {
    codes.CMD_GET_CHANNEL_AUTH_CAPABILITIES: api.CALLBACK,
    codes.CMD_GET_SESSION_CHALLENGE: api.CALLBACK,
    codes.CMD_ACTIVATE_SESSION: api.CALLBACK,
    codes.CMD_SET_SESSION_PRIVILEGE: api.CALLBACK,
    codes.CMD_CLOSE_SESSION: api.CALLBACK,
    codes.CMD_GET_SESSION_INFO: api.USER,
    codes.CMD_GET_CHANNEL_CIPHER_SUITES: api.CALLBACK,
    codes.CMD_GET_USER_ACCESS: api.OPERATOR,
    codes.CMD_GET_USER_NAME: api.OPERATOR,
    codes.CMD_SET_USER_ACCESS: api.ADMINISTRATOR,
    codes.CMD_SET_USER_NAME: api.ADMINISTRATOR,
    codes.CMD_SET_USER_PASSWORD: api.ADMINISTRATOR,
}


@dataclass
class Options:
    channel: int = 1  # the LAN channel number the BMC reports
    allow_auth_none: bool = False  # IPMI 1.5 auth type none (no password at all)
    max_sessions: int = 16  # pending and active sessions together
    idle_timeout: float = 60.0  # an active session without a valid packet for this long closes
    pending_timeout: float = 10.0  # a login not finished within this is dropped
    login_failures: int = 5  # failed logins from one host within login_window ...
    login_window: float = 30.0  # ... refuse its new logins until the window has passed
    guid: bytes = field(default_factory=lambda: os.urandom(16))
    cipher_suites: tuple = (3, 17)  # offered (a BMC without 17, to test clients' fallback)


@dataclass
class Session:
    handle: int
    bmc_sid: int
    peer: tuple
    v2: bool
    created: float
    last_seen: float
    state: str = "pending"  # pending (challenge / RAKP in progress), active
    user: object = None
    privilege: int = api.USER  # the current level
    max_privilege: int = api.ADMINISTRATOR  # the most Set Session Privilege Level may give
    # IPMI 1.5
    auth_type: int = 0
    challenge: bytes = b""
    password: bytes = b""
    # RMCP+
    console_sid: int = 0
    suite: crypto.Suite | None = None
    rm: bytes = b""
    rc: bytes = b""
    role: int = 0
    uname: bytes = b""
    k1: bytes = b""
    k2: bytes = b""
    keys: crypto.Keys | None = None  # made from k1 and k2 once, for every packet
    # sequence numbers
    out_seq: int = 0
    in_hi: int | None = None  # the highest inbound sequence number seen
    in_seen: int = 0  # bit i: in_hi - i was seen
    closing: bool = False


@dataclass
class Dispatch:
    """A request for the chassis side, and what is needed to frame its answer."""

    request: api.BmcRequest
    session: Session
    message: wire.Message


def _u32(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def _nonzero_sid(taken, random) -> int:
    while True:
        sid = _u32(random(4), 0)
        if sid and sid not in taken:
            return sid


class Endpoint:
    def __init__(
        self, users: Users, options: Options | None = None, clock=time.monotonic, random=None
    ):
        self.users = users
        self.options = options or Options()
        self.clock = clock
        self.random = random or os.urandom
        self.sessions: dict[int, Session] = {}  # by BMC session ID
        self.stats: collections.Counter = collections.Counter()
        self._failures: dict[str, collections.deque] = {}

    # --- bookkeeping ---------------------------------------------------------------------

    def refuse(self, reason: str, peer=None, detail: str = "") -> None:
        self.stats[reason] += 1
        self.stats["refused"] += 1
        log.info("refused (%s) from %s%s", reason, peer, f": {detail}" if detail else "")

    def _login_failed(self, peer, reason: str) -> None:
        self.refuse(reason, peer)
        self.stats["failed_logins"] += 1
        q = self._failures.setdefault(peer[0], collections.deque())
        q.append(self.clock())

    def _rate_limited(self, peer) -> bool:
        q = self._failures.get(peer[0])
        if not q:
            return False
        now = self.clock()
        while q and now - q[0] > self.options.login_window:
            q.popleft()
        if not q:
            del self._failures[peer[0]]
            return False
        if len(q) >= self.options.login_failures:
            self.refuse("rate_limited", peer)
            return True
        return False

    def expire(self) -> None:
        now = self.clock()
        for sid, s in list(self.sessions.items()):
            limit = (
                self.options.idle_timeout if s.state == "active" else self.options.pending_timeout
            )
            if now - s.last_seen > limit:
                del self.sessions[sid]
                if s.state == "active":
                    self.stats["sessions_expired"] += 1
                    log.info("session %08x closed: idle", sid)
                elif s.rc:
                    # RAKP 2 sent, no RAKP 3: the client found it signed with another
                    # password (ipmitool just gives up), so this is a failed login
                    self._login_failed(s.peer, "login_abandoned")
                else:
                    self.refuse("login_lapsed", s.peer)

    def _new_session(self, peer, v2: bool) -> Session | None:
        if len(self.sessions) >= self.options.max_sessions:
            self.refuse("no_session_slot", peer)
            return None
        handles = {s.handle for s in self.sessions.values()}
        handle = next(h for h in range(1, 64) if h not in handles)
        now = self.clock()
        s = Session(handle, _nonzero_sid(self.sessions, self.random), peer, v2, now, now)
        self.sessions[s.bmc_sid] = s
        return s

    def close_all(self) -> None:
        """Close every session, pending and active (the BMC's Cold Reset)."""
        active = sum(1 for s in self.sessions.values() if s.state == "active")
        self.stats["sessions_closed"] += active
        self.sessions.clear()
        log.info("every session closed (%d active)", active)

    def _drop(self, s: Session) -> None:
        self.sessions.pop(s.bmc_sid, None)

    def _accept_seq(self, s: Session, seq: int) -> bool:
        """The sequence-number window: 16 ahead of the highest seen, 16 behind if unseen."""
        if seq == 0:
            return False
        if s.in_hi is None:
            s.in_hi, s.in_seen = seq, 1
            return True
        ahead = (seq - s.in_hi) & 0xFFFFFFFF
        if 0 < ahead <= 16:
            s.in_hi, s.in_seen = seq, ((s.in_seen << ahead) | 1) & 0xFFFF
            return True
        behind = (s.in_hi - seq) & 0xFFFFFFFF
        if behind < 16 and not (s.in_seen >> behind) & 1:
            s.in_seen |= 1 << behind
            return True
        return False

    # --- the step ----------------------------------------------------------------------

    def receive(self, datagram: bytes, peer) -> tuple[list[bytes], Dispatch | None]:
        """One datagram from `peer` (host, port): the replies to send now, and a request
        for the chassis side when the datagram carried one."""
        self.expire()
        try:
            msg_class, body = wire.split_rmcp(datagram)
            if msg_class == wire.CLASS_ASF:
                pong = wire.asf_pong(body)
                if pong is None:
                    self.refuse("asf_message", peer)
                    return [], None
                self.stats["asf_pings"] += 1
                return [pong], None
            if msg_class != wire.CLASS_IPMI or not body:
                self.refuse("rmcp_class", peer)
                return [], None
            if body[0] & 0x0F == wire.AUTH_RMCPP:
                return self._receive_v2(body, peer)
            return self._receive_v15(body, peer)
        except wire.Malformed as e:
            self.refuse("malformed", peer, str(e))
            return [], None

    # --- IPMI 1.5 --------------------------------------------------------------------

    def _receive_v15(self, body: bytes, peer):
        p = wire.decode_v15(body)
        if p.session_id == 0:
            if p.auth_type != wire.AUTH_NONE:
                raise wire.Malformed("an authenticated packet outside a session")
            m = wire.decode_message(p.message)
            if not self._sessionless_ok(m, peer):
                return [], None
            cc, data = self._sessionless(m, peer, v2=False)
            reply = wire.encode_response(m, cc, data)
            return [wire.encode_v15(wire.AUTH_NONE, 0, 0, b"", reply)], None
        s = self.sessions.get(p.session_id)
        if s is None or s.v2 or s.peer != peer:
            self.refuse("unknown_session", peer)
            return [], None
        if p.auth_type != s.auth_type:
            self.refuse("unauthenticated", peer, f"auth type {p.auth_type}")
            return [], None
        if s.state == "pending":
            return self._activate(s, p, peer)
        if not self._v15_auth_ok(s, p):
            self.refuse("bad_auth_code", peer)
            return [], None
        return self._in_session(s, p.seq, wire.decode_message(p.message), peer)

    def _v15_auth_ok(self, s: Session, p: wire.V15Packet, password: bytes | None = None) -> bool:
        if s.auth_type == wire.AUTH_NONE:
            return True
        pw = s.password if password is None else password
        want = crypto.v15_auth_code(s.auth_type, pw, p.session_id, p.message, p.seq)
        return hmac.compare_digest(want, p.auth_code)

    def _v15_frame(self, s: Session, message: bytes, seq: int | None = None) -> bytes:
        if seq is None:
            s.out_seq = (s.out_seq + 1) & 0xFFFFFFFF or 1
            seq = s.out_seq
        code = b""
        if s.auth_type != wire.AUTH_NONE:
            code = crypto.v15_auth_code(s.auth_type, s.password, s.bmc_sid, message, seq)
        return wire.encode_v15(s.auth_type, seq, s.bmc_sid, code, message)

    def _challenge(self, data: bytes, peer) -> tuple[int, bytes]:
        if len(data) != 17:
            return codes.CC_LENGTH, b""
        auth_type = data[0] & 0x0F
        if auth_type not in self._v15_auth_types():
            self.refuse("auth_type", peer, f"{auth_type}")
            return codes.CC_INVALID_DATA, b""
        name = data[1:17].rstrip(b"\0")
        if self._rate_limited(peer):
            return codes.CC_BUSY, b""
        if not name and not self.users.role_logins:
            self._login_failed(peer, "null_user")
            return CC_NULL_USER_DISABLED, b""
        if name and self.users.by_name(name) is None:
            self._login_failed(peer, "unknown_user")
            return CC_INVALID_USER_NAME, b""
        s = self._new_session(peer, v2=False)
        if s is None:
            return codes.CC_OUT_OF_SPACE, b""
        s.auth_type, s.uname, s.challenge = auth_type, name, self.random(16)
        return codes.CC_OK, struct.pack("<I", s.bmc_sid) + s.challenge

    def _v15_auth_types(self) -> set[int]:
        return {wire.AUTH_MD5, wire.AUTH_STRAIGHT} | (
            {wire.AUTH_NONE} if self.options.allow_auth_none else set()
        )

    def _activate(self, s: Session, p: wire.V15Packet, peer):
        m = wire.decode_message(p.message)
        if m.rs_addr != BMC_ADDR:
            self.refuse("wrong_address", peer, f"rsAddr {m.rs_addr:#04x}")
            return [], None
        if (m.netfn, m.cmd) != (codes.NETFN_APP, codes.CMD_ACTIVATE_SESSION) or len(m.data) != 22:
            self.refuse("not_activated", peer)
            return [], None
        auth_type, want_priv = m.data[0] & 0x0F, m.data[1] & 0x0F
        challenge, first_seq = m.data[2:18], _u32(m.data, 18)
        if auth_type != s.auth_type or not hmac.compare_digest(challenge, s.challenge):
            self._drop(s)
            self._login_failed(peer, "bad_challenge")
            return [], None
        user = self.users.by_name(s.uname) if s.uname else self.users.by_role(want_priv)
        if user is None:
            self._drop(s)
            self._login_failed(peer, "unknown_user")
            return [], None
        # the activation packet is signed with the user's password: a wrong one is silent
        if not self._v15_auth_ok(s, p, user.password):
            self._drop(s)
            self._login_failed(peer, "bad_password")
            return [], None
        s.password, s.user = user.password, user

        def reply(cc, data=b"", seq=0):
            return [self._v15_frame(s, wire.encode_response(m, cc, data), seq=seq)], None

        if not api.CALLBACK <= want_priv <= user.privilege:
            out = reply(CC_PRIV_EXCEEDS_LIMIT)
            self._drop(s)
            self._login_failed(peer, "privilege_exceeds_user")
            return out
        if first_seq == 0:
            out = reply(CC_SEQ_OUT_OF_RANGE)
            self._drop(s)
            self.refuse("sequence_out_of_range", peer, "initial outbound sequence 0")
            return out
        s.state, s.max_privilege = "active", want_priv
        s.privilege = min(api.USER, want_priv)
        # the console numbers its packets from the inbound number announced here; ours
        # start at the outbound number it proposed, with this very response (22.17;
        # FreeIPMI takes its window from this packet's sequence number)
        inbound = _u32(self.random(4), 0) & 0x7FFFFFFF or 1
        s.in_hi, s.in_seen = (inbound - 1) & 0xFFFFFFFF, 1
        s.out_seq = first_seq
        s.last_seen = self.clock()
        self.stats["sessions_opened"] += 1
        log.info("IPMI 1.5 session %08x for %r from %s", s.bmc_sid, user.name, peer)
        data = bytes((s.auth_type,)) + struct.pack("<II", s.bmc_sid, inbound) + bytes((want_priv,))
        return reply(codes.CC_OK, data, seq=first_seq)

    # --- RMCP+ -------------------------------------------------------------------------

    def _receive_v2(self, body: bytes, peer):
        if len(body) < 12:
            raise wire.Malformed("short RMCP+ header")
        sid = _u32(body, 2)
        if sid == 0:
            p = wire.decode_v2(body)
            if p.authenticated or p.encrypted:
                raise wire.Malformed("a protected payload outside a session")
            handler = {
                wire.PAYLOAD_IPMI: self._v2_sessionless,
                wire.PAYLOAD_OPEN_SESSION_REQUEST: self._open_session,
                wire.PAYLOAD_RAKP1: self._rakp1,
                wire.PAYLOAD_RAKP3: self._rakp3,
            }.get(p.payload_type)
            if handler is None:
                self.refuse("payload_type", peer, f"{p.payload_type:#x} outside a session")
                return [], None
            return handler(p.payload, peer), None
        s = self.sessions.get(sid)
        if s is None or not s.v2 or s.state != "active" or s.peer != peer:
            self.refuse("unknown_session", peer)
            return [], None
        p = wire.decode_v2(body, s.suite.icv_len)
        if not p.authenticated:
            self.refuse("unauthenticated", peer)
            return [], None
        if not hmac.compare_digest(s.keys.icv(p.signed), p.auth_code):
            self.refuse("bad_integrity", peer)
            return [], None
        if not p.encrypted:
            self.refuse("unencrypted", peer)
            return [], None
        payload = s.keys.decrypt(p.payload)
        if payload is None:
            self.refuse("bad_encryption", peer)
            return [], None
        if p.payload_type != wire.PAYLOAD_IPMI:
            self.refuse("payload_type", peer, f"{p.payload_type:#x}")
            return [], None
        return self._in_session(s, p.seq, wire.decode_message(payload), peer)

    def _v2_frame(self, s: Session, payload: bytes, ptype: int = wire.PAYLOAD_IPMI) -> bytes:
        s.out_seq = (s.out_seq + 1) & 0xFFFFFFFF or 1
        enc = s.keys.encrypt(payload)
        head = wire.encode_v2_unsigned(
            wire.ENCRYPTED | wire.AUTHENTICATED | ptype, s.console_sid, s.out_seq, enc
        )
        signed = head + wire.integrity_pad(len(head))
        icv = s.keys.icv(signed)
        return wire.rmcp_header(wire.CLASS_IPMI) + signed + icv

    @staticmethod
    def _v2_plain(ptype: int, payload: bytes) -> bytes:
        return wire.rmcp_header(wire.CLASS_IPMI) + wire.encode_v2_unsigned(ptype, 0, 0, payload)

    def _v2_sessionless(self, payload: bytes, peer) -> list[bytes]:
        m = wire.decode_message(payload)
        if not self._sessionless_ok(m, peer):
            return []
        cc, data = self._sessionless(m, peer, v2=True)
        return [self._v2_plain(wire.PAYLOAD_IPMI, wire.encode_response(m, cc, data))]

    def _open_session(self, payload: bytes, peer) -> list[bytes]:
        if len(payload) != 32:
            raise wire.Malformed("Open Session Request is 32 bytes")
        tag, want_priv, console_sid = payload[0], payload[1] & 0x0F, _u32(payload, 4)

        def status(code):
            resp = bytes((tag, code, 0, 0)) + struct.pack("<I", console_sid)
            return [self._v2_plain(wire.PAYLOAD_OPEN_SESSION_RESPONSE, resp)]

        algs = []
        for i, kind in enumerate((0, 1, 2)):
            rec = payload[8 + 8 * i : 16 + 8 * i]
            if rec[0] != kind or rec[3] != 8:
                self.refuse("open_session_payload", peer)
                return status(RAKP_ILLEGAL_PARAMETER)
            algs.append(rec[4] & 0x3F)
        suite = crypto.BY_ALGORITHMS.get(tuple(algs))
        if suite is None or suite.id not in self.options.cipher_suites:
            self.refuse("no_cipher_suite_match", peer, f"algorithms {algs}")
            return status(RAKP_NO_CIPHER_SUITE_MATCH)
        if want_priv > api.ADMINISTRATOR or console_sid == 0:
            self.refuse("invalid_role", peer)
            return status(RAKP_INVALID_ROLE if console_sid else RAKP_ILLEGAL_PARAMETER)
        if self._rate_limited(peer):
            return status(RAKP_NO_RESOURCES)
        s = self._new_session(peer, v2=True)
        if s is None:
            return status(RAKP_NO_RESOURCES)
        s.console_sid, s.suite = console_sid, suite
        s.max_privilege = want_priv or api.ADMINISTRATOR
        resp = (
            bytes((tag, RAKP_OK, s.max_privilege, 0))
            + struct.pack("<II", console_sid, s.bmc_sid)
            + payload[8:32]
        )
        return [self._v2_plain(wire.PAYLOAD_OPEN_SESSION_RESPONSE, resp)]

    def _rakp1(self, payload: bytes, peer) -> list[bytes]:
        if len(payload) < 28:
            raise wire.Malformed("short RAKP 1")
        tag, sid = payload[0], _u32(payload, 4)
        s = self.sessions.get(sid)

        def status(code, console_sid):
            resp = bytes((tag, code, 0, 0)) + struct.pack("<I", console_sid)
            return [self._v2_plain(wire.PAYLOAD_RAKP2, resp)]

        if s is None or not s.v2 or s.state != "pending" or s.peer != peer:
            self.refuse("unknown_session", peer, "RAKP 1")
            return status(RAKP_INVALID_SESSION_ID, 0)
        rm, role, ulen = payload[8:24], payload[24], payload[27]
        uname = payload[28:]
        if ulen > 16 or len(uname) != ulen:
            self._drop(s)
            self.refuse("invalid_name_length", peer)
            return status(RAKP_INVALID_NAME_LENGTH, s.console_sid)
        priv = role & 0x0F
        if not api.CALLBACK <= priv <= api.ADMINISTRATOR or role & 0xE0:
            self._drop(s)
            self.refuse("invalid_role", peer)
            return status(RAKP_INVALID_ROLE, s.console_sid)
        user = self.users.by_name(uname) if uname else self.users.by_role(priv)
        if user is None:
            self._drop(s)
            self._login_failed(peer, "unknown_user" if uname else "null_user")
            return status(RAKP_UNAUTHORIZED_NAME, s.console_sid)
        if priv > user.privilege or priv > s.max_privilege:
            self._drop(s)
            self._login_failed(peer, "privilege_exceeds_user")
            return status(RAKP_UNAUTHORIZED_ROLE, s.console_sid)
        s.user, s.rm, s.role, s.uname, s.rc = user, rm, role, uname, self.random(16)
        s.last_seen = self.clock()
        kuid = crypto.key20(user.password)
        sidm, sidc = struct.pack("<I", s.console_sid), struct.pack("<I", s.bmc_sid)
        code = s.suite.hmac(
            kuid,
            sidm + sidc + rm + s.rc + self.options.guid + bytes((role, ulen)) + uname,
        )
        resp = bytes((tag, RAKP_OK, 0, 0)) + sidm + s.rc + self.options.guid + code
        return [self._v2_plain(wire.PAYLOAD_RAKP2, resp)]

    def _rakp3(self, payload: bytes, peer) -> list[bytes]:
        if len(payload) < 8:
            raise wire.Malformed("short RAKP 3")
        tag, rstatus, sid = payload[0], payload[1], _u32(payload, 4)
        s = self.sessions.get(sid)

        def status(code, console_sid):
            resp = bytes((tag, code, 0, 0)) + struct.pack("<I", console_sid)
            return [self._v2_plain(wire.PAYLOAD_RAKP4, resp)]

        if s is None or not s.v2 or s.state != "pending" or s.peer != peer or not s.rc:
            self.refuse("unknown_session", peer, "RAKP 3")
            return status(RAKP_INVALID_SESSION_ID, 0)
        if rstatus != RAKP_OK:
            # the client refused our RAKP 2: its password is not the user's
            self._drop(s)
            self._login_failed(peer, "client_refused_rakp2")
            return []
        kuid = crypto.key20(s.user.password)
        sidm, sidc = struct.pack("<I", s.console_sid), struct.pack("<I", s.bmc_sid)
        name_part = bytes((s.role, len(s.uname))) + s.uname
        want = s.suite.hmac(kuid, s.rc + sidm + name_part)
        if not hmac.compare_digest(want, payload[8:]):
            self._drop(s)
            self._login_failed(peer, "bad_password")
            return status(RAKP_INVALID_INTEGRITY_CHECK, s.console_sid)
        kg = crypto.key20(self.users.kg) if self.users.kg else kuid
        sik = s.suite.hmac(kg, s.rm + s.rc + name_part)
        s.k1, s.k2 = s.suite.hmac(sik, crypto.CONST_1), s.suite.hmac(sik, crypto.CONST_2)
        s.keys = crypto.Keys(s.suite, s.k1, s.k2)
        icv = s.suite.hmac(sik, s.rm + sidc + self.options.guid)[: s.suite.rakp4_len]
        priv = s.role & 0x0F
        s.state, s.max_privilege, s.privilege = "active", priv, min(api.USER, priv)
        s.last_seen = self.clock()
        self.stats["sessions_opened"] += 1
        log.info(
            "RMCP+ session %08x (suite %d) for %r from %s",
            s.bmc_sid,
            s.suite.id,
            s.user.name,
            peer,
        )
        resp = bytes((tag, RAKP_OK, 0, 0)) + sidm + icv
        return [self._v2_plain(wire.PAYLOAD_RAKP4, resp)]

    # --- messages ------------------------------------------------------------------------

    def _sessionless_ok(self, m: wire.Message, peer) -> bool:
        if m.netfn != codes.NETFN_APP or m.cmd not in SESSIONLESS or m.rs_addr != BMC_ADDR:
            self.refuse("sessionless_command", peer, f"{m.netfn:#04x}/{m.cmd:#04x}")
            return False
        return True

    def _sessionless(self, m: wire.Message, peer, v2: bool) -> tuple[int, bytes]:
        if m.cmd == codes.CMD_GET_CHANNEL_AUTH_CAPABILITIES:
            return self._auth_capabilities(m.data)
        if m.cmd == codes.CMD_GET_CHANNEL_CIPHER_SUITES:
            return self._cipher_suites(m.data)
        if v2:  # challenges are IPMI 1.5
            return codes.CC_INVALID_COMMAND, b""
        return self._challenge(m.data, peer)

    def _channel_ok(self, number: int) -> bool:
        return number & 0x0F in (0x0E, self.options.channel)

    def _auth_capabilities(self, data: bytes) -> tuple[int, bytes]:
        if len(data) != 2:
            return codes.CC_LENGTH, b""
        if not self._channel_ok(data[0]) or data[0] & 0x70 or not 1 <= data[1] & 0x0F <= 5:
            return codes.CC_INVALID_DATA, b""
        v2 = bool(data[0] & 0x80)
        types = 0x14 | (0x01 if self.options.allow_auth_none else 0) | (0x80 if v2 else 0)
        status = 0x04 | (0x02 if self.users.role_logins else 0) | (0x20 if self.users.kg else 0)
        return codes.CC_OK, bytes(
            (self.options.channel, types, status, 0x03 if v2 else 0, 0, 0, 0, 0)
        )

    def _cipher_suites(self, data: bytes) -> tuple[int, bytes]:
        if len(data) != 3:
            return codes.CC_LENGTH, b""
        if not self._channel_ok(data[0]):
            return codes.CC_INVALID_DATA, b""
        offered = [s for s in crypto.SUITES.values() if s.id in self.options.cipher_suites]
        records = b"".join(s.record() for s in offered) if data[1] == 0 else b""
        start = (data[2] & 0x3F) * 16
        return codes.CC_OK, bytes((self.options.channel,)) + records[start : start + 16]

    def _in_session(self, s: Session, seq: int, m: wire.Message, peer):
        """An authenticated message: its sequence number is taken (and the session kept
        alive) only once nothing else refuses it, so a refused packet changes nothing."""
        if m.rs_addr != BMC_ADDR:
            self.refuse("wrong_address", peer, f"rsAddr {m.rs_addr:#04x}")
            return [], None
        if not self._accept_seq(s, seq):
            self.refuse("replay", peer, f"sequence {seq}")
            return [], None
        s.last_seen = self.clock()
        self.stats["requests"] += 1
        if m.netfn == codes.NETFN_APP and m.cmd in COMMAND_PRIVILEGE:
            if s.privilege < COMMAND_PRIVILEGE[m.cmd]:
                self.refuse("privilege", peer, f"command {m.cmd:#04x}")
                cc, data = codes.CC_PRIVILEGE, b""
            else:
                cc, data = self._session_command(s, m)
            out = [self._frame(s, wire.encode_response(m, cc, data))]
            if s.closing:
                self._drop(s)
            return out, None
        req = api.BmcRequest(
            netfn=m.netfn,
            cmd=m.cmd,
            data=m.data,
            lun=m.rs_lun,
            rq_addr=m.rq_addr,
            rq_seq=m.rq_seq,
            rq_lun=m.rq_lun,
            privilege=s.privilege,
            channel=self.options.channel,
            session_id=s.bmc_sid,
        )
        return [], Dispatch(req, s, m)

    def _frame(self, s: Session, message: bytes) -> bytes:
        return self._v2_frame(s, message) if s.v2 else self._v15_frame(s, message)

    def answer(self, d: Dispatch, cc: int, data: bytes) -> bytes | None:
        """The response datagram to a dispatched request (None if its session closed)."""
        return self.frame(d, wire.encode_response(d.message, cc, data))

    def frame(self, d: Dispatch, message: bytes) -> bytes | None:
        """A complete IPMB-format message sent in the request's session."""
        if self.sessions.get(d.session.bmc_sid) is not d.session:
            self.stats["answers_after_close"] += 1
            return None
        return self._frame(d.session, message)

    def _session_command(self, s: Session, m: wire.Message) -> tuple[int, bytes]:
        cmd, data = m.cmd, m.data
        if cmd == codes.CMD_GET_CHANNEL_AUTH_CAPABILITIES:
            return self._auth_capabilities(data)
        if cmd == codes.CMD_GET_CHANNEL_CIPHER_SUITES:
            return self._cipher_suites(data)
        if cmd in (codes.CMD_GET_SESSION_CHALLENGE, codes.CMD_ACTIVATE_SESSION):
            return codes.CC_NOT_IN_STATE, b""  # already in a session
        if cmd == codes.CMD_SET_SESSION_PRIVILEGE:
            if len(data) != 1:
                return codes.CC_LENGTH, b""
            want = data[0] & 0x0F
            if want == 0:
                return codes.CC_OK, bytes((s.privilege,))
            if want > api.ADMINISTRATOR:
                return CC_PRIV_NOT_AVAILABLE, b""
            if want > s.max_privilege:
                self.refuse("privilege_exceeds_user", s.peer, f"level {want}")
                return CC_PRIV_EXCEEDS_USER, b""
            s.privilege = want
            return codes.CC_OK, bytes((want,))
        if cmd == codes.CMD_CLOSE_SESSION:
            return self._close(s, data)
        if cmd == codes.CMD_GET_SESSION_INFO:
            return self._session_info(s, data)
        if cmd == codes.CMD_GET_USER_ACCESS:
            return self._user_access(data)
        if cmd == codes.CMD_GET_USER_NAME:
            if len(data) != 1:
                return codes.CC_LENGTH, b""
            uid = data[0] & 0x3F
            if not 1 <= uid <= self._max_uid():
                return codes.CC_INVALID_DATA, b""
            user = self.users.by_uid(uid)
            return codes.CC_OK, (user.name if user else b"").ljust(16, b"\0")
        # Set User Access / Name / Password: the users file is the one source
        return codes.CC_DISABLED, b""

    def _max_uid(self) -> int:
        return max(2, 1 + len(self.users.users))

    def _user_access(self, data: bytes) -> tuple[int, bytes]:
        if len(data) != 2:
            return codes.CC_LENGTH, b""
        if not self._channel_ok(data[0]):
            return codes.CC_INVALID_DATA, b""
        uid = data[1] & 0x3F
        if not 1 <= uid <= self._max_uid():
            return codes.CC_INVALID_DATA, b""
        user = self.users.by_uid(uid)
        enabled = len(self.users.users)
        access = (0x30 | user.privilege) if user else 0x0F  # messaging + link auth; no access
        return codes.CC_OK, bytes(
            (self._max_uid(), (0x40 if user else 0x80) | enabled, 0x01, access)
        )

    def _close(self, s: Session, data: bytes) -> tuple[int, bytes]:
        if len(data) not in (4, 5):
            return codes.CC_LENGTH, b""
        sid = _u32(data, 0)
        if sid == 0:
            if len(data) != 5:
                return codes.CC_LENGTH, b""
            target = next((t for t in self.sessions.values() if t.handle == data[4]), None)
            if target is None:
                return CC_CLOSE_INVALID_HANDLE, b""
        else:
            target = self.sessions.get(sid)
            if target is None:
                return CC_CLOSE_INVALID_ID, b""
        if target is not s and s.privilege < api.ADMINISTRATOR:
            return codes.CC_PRIVILEGE, b""
        if target is s:
            s.closing = True
        else:
            self._drop(target)
        self.stats["sessions_closed"] += 1
        return codes.CC_OK, b""

    def _session_info(self, s: Session, data: bytes) -> tuple[int, bytes]:
        if not data:
            return codes.CC_LENGTH, b""
        active = [t for t in self.sessions.values() if t.state == "active"]
        active.sort(key=lambda t: t.handle)
        index = data[0]
        if index == 0:
            target = s
        elif index == 0xFE:
            if len(data) != 5:
                return codes.CC_LENGTH, b""
            target = self.sessions.get(_u32(data, 1))
        elif index == 0xFF:
            if len(data) != 2:
                return codes.CC_LENGTH, b""
            target = next((t for t in active if t.handle == data[1]), None)
        else:
            target = active[index - 1] if index <= len(active) else None
        head = bytes((0, self.options.max_sessions & 0x3F, len(active) & 0x3F))
        if target is None or target.state != "active":
            return codes.CC_OK, head
        try:
            ip = ipaddress.ip_address(target.peer[0]).packed
        except ValueError:
            ip = b""
        ip = ip if len(ip) == 4 else bytes(4)
        return codes.CC_OK, (
            bytes((target.handle, head[1], head[2], target.user.uid, target.privilege))
            + bytes(((0x10 if target.v2 else 0) | self.options.channel,))
            + ip
            + bytes(6)
            + struct.pack("<H", target.peer[1] & 0xFFFF)  # LS byte first, as ipmitool reads it
        )
