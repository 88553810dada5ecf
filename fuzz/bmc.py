"""The bench BMC's UDP datagrams: a world of sessions, fuzzer bytes -> a datagram, and
the properties every datagram is held to (satmc.bmc.lan.Endpoint.receive, no sockets).

    world = World()                       # sessions at every stage, made by real logins
    problem = check(world, data)          # None, or the sentence naming what failed

The world is deterministic: the endpoint's random source is seeded and its clock is
the harness's, so each input starts from the same six sessions (IPMI 1.5 pending and
active, RMCP+ opened, after RAKP 2, active as administrator with suite 17, active as
user with suite 3) and a stored datagram can name them and sign for them. The first
input byte picks how the rest becomes a datagram, so mutations get past the session
layer instead of dying at its integrity check:

  mode 0, 5-7  raw: the datagram as it arrives
  mode 1       RMCP+ in a session: byte 1 picks the session, byte 2 the sequence number
               (relative to the window), byte 3 flags (unencrypted, unauthenticated,
               integrity code spoiled, message checksums left as given, payload type);
               the rest (up to 250 bytes) is the IPMI message, signed and encrypted with
               the session keys
  mode 2       IPMI 1.5 in a session (pending or active): the same, MD5-signed with the
               user's password; flag 4 fills in the session's challenge of an Activate
  mode 3       IPMI 1.5 outside a session: the message, checksums made right
  mode 4       RMCP+ outside a session: byte 1 the payload type, byte 2 a session whose
               ID replaces bytes 4-7 of the payload (RAKP 1, RAKP 3), flag 1 of byte 3
               appends RAKP 3's right HMAC
Bit 3 of byte 0 moves the clock on by (byte 0 >> 4) * 5 s first (idle and login expiry).

The properties (replies are decoded and verified as the console would: its session's
keys or password, the request it sent):
  - no exception escapes receive(), and it takes at most TIME_LIMIT_S of CPU time;
  - a datagram is dropped with exactly one refusal counted, or answered with one
    well-formed datagram: RMCP header, the session's integrity code and encryption,
    the response to the request (addresses, netFn + 1, sequence and command echoed,
    a completion code the spec allows for it), RAKP tags and console IDs echoed;
  - a datagram handed to the chassis side is in an active session, and its answer
    is a well-formed response in that session;
  - a dropped or refused datagram (non-zero completion or RAKP status) changes no
    session: no session is made, at most the login it named is ended (and that counted
    as a refusal), and the
    session it named keeps everything but its liveness and sequence numbers (and a
    dropped one not even those).
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import hashlib
import hmac
import struct
import time

from satmc.bmc.lan import crypto, session, users, wire
from satmc.ipmi import codes

from .frames import request_frame
from .properties import response_problem

TIME_LIMIT_S = 0.25
PEER = ("127.0.0.1", 40000)
CONSOLE = 0x20  # the console's IPMB-format address, as ipmitool uses it on LAN (rqAddr 81h)
RQ_ADDR = 0x81
USERS = """role_logins = true
[[user]]
name = "admin"
password = "adminpw"
privilege = "administrator"
[[user]]
name = "alice"
password = "alicepw"
privilege = "user"
"""
NAMES = ("v15_pending", "v15_active", "v2_opened", "v2_rakp2", "v2_admin", "v2_user")
SUITE_ALGS = {3: (1, 1, 1), 17: (3, 4, 1)}  # auth, integrity, confidentiality
RAKP_REPLY = {  # request payload type -> the response's
    wire.PAYLOAD_OPEN_SESSION_REQUEST: wire.PAYLOAD_OPEN_SESSION_RESPONSE,
    wire.PAYLOAD_RAKP1: wire.PAYLOAD_RAKP2,
    wire.PAYLOAD_RAKP3: wire.PAYLOAD_RAKP4,
}
RAKP_STATUS = frozenset({0x00, 0x01, 0x02, 0x09, 0x0A, 0x0C, 0x0D, 0x0F, 0x11, 0x12})
# what a refusal may still move in the session it named
LIVENESS = frozenset({"last_seen", "in_hi", "in_seen", "out_seq"})
# the endpoint's attributes World.reset knows (state restored, or shared and unchanging)
KNOWN_STATE = frozenset({"users", "options", "clock", "random", "sessions", "stats", "_failures"})


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Seeded:
    """The endpoint's random source: SHA-256 of (seed, count), so copying it is cheap."""

    def __init__(self, seed: int):
        self.seed, self.count = seed, 0

    def __call__(self, n: int) -> bytes:
        self.count += 1
        return hashlib.sha256(b"%d/%d" % (self.seed, self.count)).digest()[:n]


# --- what a client sends --------------------------------------------------------------


def message(netfn: int, cmd: int, data: bytes = b"", seq: int = 1, rs: int = session.BMC_ADDR):
    """An IPMB-format request from the console to the BMC."""
    return request_frame(rs, netfn << 2, RQ_ADDR, seq << 2, cmd, data)


def v15_sessionless(msg: bytes) -> bytes:
    return wire.encode_v15(wire.AUTH_NONE, 0, 0, b"", msg)


def v15_signed(sid: int, password: bytes, seq: int, msg: bytes, auth=wire.AUTH_MD5) -> bytes:
    code = crypto.v15_auth_code(auth, password, sid, msg, seq)
    return wire.encode_v15(auth, seq, sid, code, msg)


def v2_plain(ptype: int, payload: bytes) -> bytes:
    return wire.rmcp_header(wire.CLASS_IPMI) + wire.encode_v2_unsigned(ptype, 0, 0, payload)


def v2_sealed(s, seq: int, msg: bytes, ptype=wire.PAYLOAD_IPMI, flags: int = 0) -> bytes:
    """msg in RMCP+ session s as the console sends it (flags: 1 unencrypted,
    2 unauthenticated, 4 integrity code spoiled). A session still logging in has no keys
    yet: the console signs with zeros, as one that skipped a step would."""
    k1, k2 = s.k1 or bytes(20), s.k2 or bytes(20)
    payload = msg if flags & 1 else crypto.aes_encrypt(k2, msg)
    bits = (0 if flags & 1 else wire.ENCRYPTED) | (0 if flags & 2 else wire.AUTHENTICATED)
    head = wire.encode_v2_unsigned(bits | ptype, s.bmc_sid, seq, payload)
    if flags & 2:
        return wire.rmcp_header(wire.CLASS_IPMI) + head
    signed = head + wire.integrity_pad(len(head))
    icv = bytearray(s.suite.hmac(k1, signed)[: s.suite.icv_len])
    if flags & 4:
        icv[0] ^= 0x01
    return wire.rmcp_header(wire.CLASS_IPMI) + signed + bytes(icv)


def open_session(suite: int, console_sid: int, priv: int = 0, tag: int = 1) -> bytes:
    payload = bytes((tag, priv, 0, 0)) + struct.pack("<I", console_sid)
    for kind, alg in enumerate(SUITE_ALGS[suite]):
        payload += bytes((kind, 0, 0, 8, alg, 0, 0, 0))
    return v2_plain(wire.PAYLOAD_OPEN_SESSION_REQUEST, payload)


def rakp1(bmc_sid: int, rm: bytes, role: int, name: bytes, tag: int = 2) -> bytes:
    payload = bytes((tag, 0, 0, 0)) + struct.pack("<I", bmc_sid) + rm
    return v2_plain(wire.PAYLOAD_RAKP1, payload + bytes((role, 0, 0, len(name))) + name)


def rakp3_code(s, password: bytes) -> bytes:
    """RAKP 3's HMAC as the console computes it from the RAKP 2 it received."""
    name_part = bytes((s.role, len(s.uname))) + s.uname
    return s.suite.hmac(
        crypto.key20(password), s.rc + struct.pack("<I", s.console_sid) + name_part
    )


def rakp3(s, password: bytes, tag: int = 3) -> bytes:
    payload = bytes((tag, 0, 0, 0)) + struct.pack("<I", s.bmc_sid) + rakp3_code(s, password)
    return v2_plain(wire.PAYLOAD_RAKP3, payload)


def next_seq(s, delta: int = 0) -> int:
    return ((s.in_hi or 0) + 1 + delta) & 0xFFFFFFFF


# --- the world ---------------------------------------------------------------------------


class World:
    """Six sessions made through the endpoint by real logins, restored for every input."""

    def __init__(self, seed: int = 1):
        self.users = users.parse(USERS)
        self.passwords = {u.name: u.password for u in self.users.users}
        self.clock = Clock()
        ep = session.Endpoint(
            self.users,
            session.Options(guid=bytes(range(16))),
            clock=self.clock,
            random=Seeded(seed),
        )
        self.sids: dict[str, int] = {}
        self._login(ep)
        self.pristine = ep
        self.ep = copy.deepcopy(ep)

    def _one(self, ep, datagram: bytes) -> bytes:
        replies, dispatch = ep.receive(datagram, PEER)
        assert len(replies) == 1 and dispatch is None, "the world's logins must succeed"
        return replies[0]

    def _login(self, ep) -> None:
        app = codes.NETFN_APP
        alice = self.passwords[b"alice"]
        for name in (b"admin", b"alice"):
            rsp = self._one(
                ep,
                v15_sessionless(
                    message(
                        app, codes.CMD_GET_SESSION_CHALLENGE, bytes((2,)) + name.ljust(16, b"\0")
                    )
                ),
            )
            sid = struct.unpack_from("<I", wire.decode_v15(rsp[4:]).message, 7)[0]
            self.sids["v15_pending" if name == b"admin" else "v15_active"] = sid
        s = ep.sessions[self.sids["v15_active"]]
        act = bytes((2, 2)) + s.challenge + struct.pack("<I", 1)
        self._one(
            ep, v15_signed(s.bmc_sid, alice, 0, message(app, codes.CMD_ACTIVATE_SESSION, act))
        )
        for name, suite, csid in (
            ("v2_opened", 17, 0xC0000001),
            ("v2_rakp2", 3, 0xC0000002),
            ("v2_admin", 17, 0xC0000003),
            ("v2_user", 3, 0xC0000004),
        ):
            rsp = self._one(ep, open_session(suite, csid))
            self.sids[name] = sid = struct.unpack_from("<I", rsp, 4 + 12 + 8)[0]
            if name == "v2_opened":
                continue
            uname, role = (b"alice", 2) if name == "v2_user" else (b"admin", 4)
            self._one(ep, rakp1(sid, bytes(range(16, 32)), role, uname))
            if name == "v2_rakp2":
                continue
            self._one(ep, rakp3(ep.sessions[sid], self.passwords[uname]))
        s = ep.sessions[self.sids["v2_admin"]]
        self._one(
            ep, v2_sealed(s, next_seq(s), message(app, codes.CMD_SET_SESSION_PRIVILEGE, b"\x04"))
        )
        assert ep.sessions[self.sids["v2_admin"]].privilege == 4

    def reset(self) -> None:
        """The endpoint as the logins left it (a shallow copy of each piece of its state:
        sessions, counters, failed-login times, clock and random source; a deep copy of
        the whole costs ten times as much)."""
        p = self.pristine
        ep = self.ep = copy.copy(p)
        ep.sessions = {sid: copy.copy(s) for sid, s in p.sessions.items()}
        ep.stats = p.stats.copy()
        ep._failures = {k: collections.deque(q) for k, q in p._failures.items()}
        ep.clock = self.clock = Clock(p.clock.now)
        ep.random = copy.copy(p.random)
        unknown = set(vars(ep)) - KNOWN_STATE
        assert not unknown, f"fuzz.bmc.World.reset does not restore Endpoint.{unknown.pop()}"

    def session(self, name: str):
        return self.ep.sessions.get(self.sids[name])


# --- fuzzer bytes -> a datagram ------------------------------------------------------------


def _int8(b: int) -> int:
    return b - 256 if b & 0x80 else b


def _msg(fields: bytes, raw: bool) -> bytes:
    if raw or len(fields) < 5:
        return fields
    return request_frame(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5:])


def datagram_from(world: World, data: bytes) -> bytes:
    """The datagram fuzzer input `data` stands for in `world` (see the module docstring)."""
    if not data:
        return b""
    head, mode = data[0], data[0] & 7
    if head & 0x08:
        world.clock.now += (head >> 4) * 5.0
    if mode in (1, 2) and len(data) >= 4:
        pick, delta, flags, rest = data[1], _int8(data[2]) >> 2, data[3], data[4:254]
        names = [n for n in NAMES if n.startswith("v2" if mode == 1 else "v15")]
        s = world.session(names[pick % len(names)])
        if s is None:
            return b""
        msg = _msg(rest, bool(flags & 8))
        if mode == 1:
            ptype = flags >> 4
            return v2_sealed(s, next_seq(s, delta), msg, ptype, flags & 7)
        if flags & 4 and s.state == "pending" and len(msg) >= 7:
            body = bytearray(msg[6:-1].ljust(22, b"\0"))
            body[2:18] = s.challenge
            msg = request_frame(*msg[0:2], *msg[3:6], bytes(body))
        seq = 0 if s.state == "pending" else next_seq(s, delta)
        auth = wire.AUTH_STRAIGHT if flags & 1 else wire.AUTH_MD5
        password = s.password or world.passwords.get(s.uname, b"")
        d = bytearray(v15_signed(s.bmc_sid, password, seq, msg, auth))
        if flags & 2:
            d[4 + 9] ^= 0x01
        return bytes(d)
    if mode == 3 and len(data) >= 2:
        return v15_sessionless(_msg(data[1:250], False))  # a length byte holds it
    if mode == 4 and len(data) >= 4:
        ptype, pick, flags, payload = data[1] & 0x3F, data[2], data[3], bytearray(data[4:])
        s = world.session(NAMES[pick % len(NAMES)]) if pick < 0xC0 else None
        if s is not None and len(payload) >= 8:
            payload[4:8] = struct.pack("<I", s.bmc_sid)
        if flags & 1 and s is not None and s.rc and s.user is not None:
            payload = payload[:8] + rakp3_code(s, s.user.password)
        return v2_plain(ptype, bytes(payload))
    return bytes(data[1:])


# --- the properties ---------------------------------------------------------------------


def _fingerprint(ep) -> dict[int, dict]:
    return {
        sid: {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}
        for sid, s in ep.sessions.items()
    }


def _named_sid(datagram: bytes) -> int | None:
    """The BMC session ID a datagram names (None outside a session or unparsable)."""
    if len(datagram) < 14 or datagram[0] != wire.RMCP_VERSION:
        return None
    body = datagram[4:]
    sid = struct.unpack_from("<I", body, 2 if body[0] & 0x0F == wire.AUTH_RMCPP else 5)[0]
    if sid == 0 and body[0] & 0x0F == wire.AUTH_RMCPP and len(body) >= 20:
        sid = struct.unpack_from("<I", body, 12 + 4)[0]  # RAKP 1/3 name theirs inside
    return sid or None


def _message_problem(request: bytes, rsp: bytes) -> str | None:
    try:
        wire.decode_message(request)
    except wire.Malformed:
        return "answered a request that does not decode"
    problem = response_problem(request, rsp, wire.MAX_DATAGRAM)
    return f"inner message: {problem}" if problem else None


class Sent:
    """What the console side knows of the datagram it sent, to judge the reply."""

    def __init__(self, world: World, datagram: bytes):
        self.datagram = datagram
        self.v2 = len(datagram) > 4 and datagram[4] & 0x0F == wire.AUTH_RMCPP
        self.request: bytes | None = None  # the IPMB-format request inside
        self.ptype = None
        self.payload = b""
        self.session = None
        sid = _named_sid(datagram)
        if sid is not None:
            for name in NAMES:
                s = world.ep.sessions.get(world.sids[name])
                if s is not None and s.bmc_sid == sid:
                    self.session = copy.copy(s)
        try:
            _, body = wire.split_rmcp(datagram)
            if self.v2:
                icv = self.session.suite.icv_len if self.session and self.session.suite else 0
                p = wire.decode_v2(body, icv if body[1] & wire.AUTHENTICATED else 0)
                self.ptype, self.payload = p.payload_type, p.payload
                if p.encrypted and self.session and self.session.k2:
                    self.payload = crypto.aes_decrypt(self.session.k2, p.payload) or b""
                if self.ptype == wire.PAYLOAD_IPMI:
                    self.request = self.payload
            else:
                self.request = wire.decode_v15(body).message
        except (wire.Malformed, struct.error, IndexError):
            pass


def reply_problem(sent: Sent, reply: bytes, sessions: dict) -> str | None:
    """What is wrong with reply as the answer to sent (None: well formed)."""
    if not isinstance(reply, bytes) or not 4 < len(reply) <= wire.MAX_DATAGRAM:
        return f"reply of {len(reply)} bytes"
    if reply[:3] != bytes((wire.RMCP_VERSION, 0, wire.RMCP_NO_ACK)):
        return "reply RMCP header"
    body = reply[4:]
    if reply[3] == wire.CLASS_ASF:
        ping = sent.datagram[4:]
        if len(body) < 8 or body[:5] != struct.pack(">IB", wire.ASF_IANA, wire.ASF_PONG):
            return "ASF reply is no presence pong"
        if body[5] != ping[5] or body[7] != len(body) - 8:
            return "pong tag or length"
        return None
    if reply[3] != wire.CLASS_IPMI:
        return f"reply RMCP class {reply[3]:#x}"
    if body[0] & 0x0F == wire.AUTH_RMCPP:
        return _v2_reply_problem(sent, body, sessions)
    try:
        p = wire.decode_v15(body)
    except wire.Malformed as e:
        return f"IPMI 1.5 reply: {e}"
    if p.session_id:
        s = sessions.get(p.session_id) or sent.session
        if s is None or p.auth_type != s.auth_type:
            return "IPMI 1.5 reply in no session of the console's"
        pw = s.password or (s.user.password if s.user else b"")
        want = crypto.v15_auth_code(p.auth_type, pw, p.session_id, p.message, p.seq)
        if not hmac.compare_digest(want, p.auth_code):
            return "IPMI 1.5 reply auth code"
    elif p.auth_type != wire.AUTH_NONE:
        return "sessionless reply with an auth code"
    if sent.request is None:
        return "an IPMI reply to a datagram with no request"
    return _message_problem(sent.request, p.message)


def _v2_reply_problem(sent: Sent, body: bytes, sessions: dict) -> str | None:
    sid = struct.unpack_from("<I", body, 2)[0] if len(body) >= 6 else 0
    s = (
        next((t for t in sessions.values() if t.v2 and t.console_sid == sid), None)
        if sid
        else None
    )
    if sid and s is None:
        return f"RMCP+ reply to console session {sid:08x}, which is none of ours"
    try:
        p = wire.decode_v2(body, s.suite.icv_len if s else 0)
    except wire.Malformed as e:
        return f"RMCP+ reply: {e}"
    if s is None:
        if p.authenticated or p.encrypted:
            return "sessionless RMCP+ reply claims protection"
        if p.payload_type == wire.PAYLOAD_IPMI:
            if sent.request is None or sent.ptype != wire.PAYLOAD_IPMI:
                return "an IPMI reply to a datagram with no request"
            return _message_problem(sent.request, p.payload)
        if RAKP_REPLY.get(sent.ptype) != p.payload_type:
            return f"payload type {p.payload_type:#x} answering {sent.ptype}"
        if len(p.payload) < 8 or p.payload[0] != sent.payload[0]:
            return "RAKP reply message tag"
        if p.payload[1] not in RAKP_STATUS:
            return f"RAKP status {p.payload[1]:#x}"
        if p.payload[1] == 0 and p.payload_type == wire.PAYLOAD_OPEN_SESSION_RESPONSE:
            if p.payload[4:8] != sent.payload[4:8]:
                return "Open Session Response for another console session"
        return None
    if not (p.authenticated and p.encrypted):
        return "in-session reply not authenticated and encrypted"
    want = s.suite.hmac(s.k1, p.signed)[: s.suite.icv_len]
    if not hmac.compare_digest(want, p.auth_code):
        return "in-session reply integrity code"
    inner = crypto.aes_decrypt(s.k2, p.payload)
    if inner is None:
        return "in-session reply does not decrypt"
    if sent.request is None:
        return "an IPMI reply to a datagram with no request"
    return _message_problem(sent.request, inner)


def _refused(sent: Sent, replies: list[bytes], sessions: dict) -> bool:
    """Did the one reply refuse (a non-zero completion code or RAKP status)?"""
    reply = replies[0]
    body = reply[4:]
    if reply[3] == wire.CLASS_ASF:
        return False
    if body[0] & 0x0F == wire.AUTH_RMCPP:
        sid = struct.unpack_from("<I", body, 2)[0]
        s = next((t for t in sessions.values() if t.v2 and t.console_sid == sid), None)
        p = wire.decode_v2(body, s.suite.icv_len if s and sid else 0)
        if p.payload_type != wire.PAYLOAD_IPMI:
            return p.payload[1] != 0
        inner = crypto.aes_decrypt(s.k2, p.payload) if p.encrypted else p.payload
        return inner[6] != 0
    return wire.decode_v15(body).message[6] != 0


def _state_problem(before: dict, after: dict, named: int | None, dropped: bool, refused: int):
    made = set(after) - set(before)
    if made:
        return f"a refused datagram made session(s) {', '.join(f'{x:08x}' for x in made)}"
    gone = set(before) - set(after)
    if len(gone) > 1 or (gone and before[next(iter(gone))]["state"] != "pending"):
        return "a refused datagram closed a session"
    if gone and (gone != {named} or not refused):
        return "a refused datagram ended a login it did not name, or without counting it"
    for sid, was in before.items():
        now = after.get(sid)
        if now is None or now == was:
            continue
        changed = {k for k in was if was[k] != now[k]}
        if sid != named or dropped or changed - LIVENESS:
            return f"a refused datagram changed session {sid:08x}: {', '.join(sorted(changed))}"
    return None


def check(world: World, data: bytes) -> str | None:
    """Reset the world, send the datagram `data` stands for; which property failed."""
    world.reset()
    ep = world.ep
    datagram = datagram_from(world, data)
    ep.expire()  # the clock moved: what lapses is not this datagram's doing
    sessions = dict(ep.sessions)
    before = _fingerprint(ep)
    sent = Sent(world, datagram)
    stats = dict(ep.stats)
    t0 = time.thread_time()  # CPU time: a loop burns it, a loaded machine's waits do not
    try:
        replies, dispatch = ep.receive(datagram, PEER)
    except Exception as e:  # noqa: BLE001 - what escapes is the finding
        return f"receive raised {type(e).__name__}: {e}"
    took = time.thread_time() - t0
    if took > TIME_LIMIT_S:
        return f"took {took:.3f} s of CPU"
    refused = ep.stats["refused"] - stats.get("refused", 0)
    if not isinstance(replies, list) or len(replies) > 1:
        return f"{len(replies)} replies to one datagram"
    if dispatch is not None:
        if replies:
            return "a reply and a dispatched request for one datagram"
        s = dispatch.session
        if ep.sessions.get(s.bmc_sid) is not s or s.state != "active":
            return "a request dispatched outside an active session"
        if refused:
            return "a dispatched request counted as refused"
        answer = ep.answer(dispatch, 0, b"\x5a")
        return reply_problem(sent, answer, sessions) if answer else "no answer framed"
    if not replies:
        if refused != 1:
            return f"dropped with {refused} refusals counted (want 1)"
        return _state_problem(before, _fingerprint(ep), _named_sid(datagram), True, refused)
    problem = reply_problem(sent, replies[0], sessions)
    if problem:
        return problem
    if _refused(sent, replies, sessions):
        return _state_problem(before, _fingerprint(ep), _named_sid(datagram), False, refused)
    return None


def outcome(world: World, data: bytes) -> str:
    """What the endpoint made of an input: dispatched, answered (00), refused (an answer
    with a non-zero code or status) or dropped; for the corpus's valid datagrams."""
    world.reset()
    datagram = datagram_from(world, data)
    ep = world.ep
    ep.expire()
    sessions = dict(ep.sessions)
    replies, dispatch = ep.receive(datagram, PEER)
    if dispatch is not None:
        return "dispatched"
    if not replies:
        return "dropped"
    return "refused" if _refused(Sent(world, datagram), replies, sessions) else "answered"


# --- the corpus ---------------------------------------------------------------------------


def _fields(netfn: int, cmd: int, data: bytes = b"", seq: int = 1) -> bytes:
    """A message as modes 1-3 read it (rsAddr, netFn/LUN, rqAddr, seq/LUN, cmd, data)."""
    return bytes((session.BMC_ADDR, netfn << 2, RQ_ADDR, seq << 2, cmd)) + data


def corpus(world: World | None = None) -> dict[str, bytes]:
    """The valid datagrams of every stage (raw, mode 0) and the moded inputs the fuzzer
    starts from, by name: what fuzz/corpus/bmc holds (python -m fuzz.bmc DIR writes it)."""
    world = world or World()
    world.reset()
    app = codes.NETFN_APP
    ws = world.session
    ping = wire.rmcp_header(wire.CLASS_ASF) + struct.pack(
        ">IBBBB", wire.ASF_IANA, wire.ASF_PING, 7, 0, 0
    )
    auth_caps = message(app, codes.CMD_GET_CHANNEL_AUTH_CAPABILITIES, bytes((0x0E, 4)))
    auth_caps_v2 = message(app, codes.CMD_GET_CHANNEL_AUTH_CAPABILITIES, bytes((0x8E, 4)))
    ciphers = message(app, codes.CMD_GET_CHANNEL_CIPHER_SUITES, bytes((0x0E, 0, 0x80)))
    challenge = message(app, codes.CMD_GET_SESSION_CHALLENGE, b"\x02" + b"alice".ljust(16, b"\0"))
    pend = ws("v15_pending")
    act = message(app, codes.CMD_ACTIVATE_SESSION, bytes((2, 4)) + pend.challenge + b"\x01\0\0\0")
    v15 = ws("v15_active")
    opened, rakp2, admin, user = ws("v2_opened"), ws("v2_rakp2"), ws("v2_admin"), ws("v2_user")
    device_id = message(app, codes.CMD_GET_DEVICE_ID)
    raw = {
        "rmcp-ping": ping,
        "v15-auth-caps": v15_sessionless(auth_caps),
        "v15-session-challenge": v15_sessionless(challenge),
        "v15-activate-session": v15_signed(pend.bmc_sid, world.passwords[b"admin"], 0, act),
        "v15-in-session-get-device-id": v15_signed(
            v15.bmc_sid, v15.password, next_seq(v15), device_id
        ),
        "v2-auth-caps": v2_plain(wire.PAYLOAD_IPMI, auth_caps_v2),
        "v2-cipher-suites": v2_plain(wire.PAYLOAD_IPMI, ciphers),
        "v2-open-session-suite17": open_session(17, 0xC1000001),
        "v2-open-session-suite3": open_session(3, 0xC1000002, priv=2),
        "v2-rakp1": rakp1(opened.bmc_sid, bytes(16), 4, b"admin"),
        "v2-rakp1-role-only": rakp1(opened.bmc_sid, bytes(16), 2, b""),
        "v2-rakp3": rakp3(rakp2, world.passwords[b"admin"]),
        "v2-in-session-get-device-id": v2_sealed(admin, next_seq(admin), device_id),
        "v2-in-session-get-user-name": v2_sealed(
            user, next_seq(user), message(app, codes.CMD_GET_USER_NAME, b"\x02")
        ),
    }
    out = {name: b"\x00" + d for name, d in raw.items()}
    session_cmds = [
        (codes.CMD_GET_DEVICE_ID, b""),
        (codes.CMD_GET_CHANNEL_AUTH_CAPABILITIES, bytes((0x8E, 4))),
        (codes.CMD_GET_CHANNEL_CIPHER_SUITES, bytes((0x0E, 0, 0x80))),
        (codes.CMD_SET_SESSION_PRIVILEGE, b"\x04"),
        (codes.CMD_CLOSE_SESSION, struct.pack("<I", v15.bmc_sid)),
        (codes.CMD_CLOSE_SESSION, bytes(4) + b"\x01"),
        (codes.CMD_GET_SESSION_INFO, b"\x00"),
        (codes.CMD_GET_SESSION_INFO, b"\xfe" + struct.pack("<I", admin.bmc_sid)),
        (codes.CMD_GET_SESSION_INFO, b"\xff\x02"),
        (codes.CMD_GET_USER_ACCESS, b"\x0e\x02"),
        (codes.CMD_GET_USER_NAME, b"\x03"),
        (codes.CMD_SET_USER_NAME, b"\x03" + b"bob".ljust(16, b"\0")),
    ]
    for cmd, data in session_cmds:
        for mode, pick, who in ((1, 2, "admin"), (1, 3, "user"), (2, 1, "v15")):
            out[f"mode{mode}-{who}-cmd{cmd:02x}-{len(data)}"] = bytes(
                (mode, pick, 0, 0)
            ) + _fields(app, cmd, data)
    out["mode1-admin-bridged-netfn-sensor"] = b"\x01\x02\x00\x00" + _fields(0x04, 0x2D, b"\x01")
    out["mode1-admin-after-65s"] = b"\xd9\x02\x00\x00" + _fields(app, codes.CMD_GET_DEVICE_ID)
    out["mode1-admin-seq-behind"] = b"\x01\x02\xf0\x00" + _fields(app, codes.CMD_GET_DEVICE_ID)
    out["mode2-activate"] = b"\x02\x00\x00\x04" + _fields(
        app, codes.CMD_ACTIVATE_SESSION, bytes((2, 4)) + bytes(16) + b"\x01\0\0\0"
    )
    out["mode3-auth-caps"] = b"\x03" + _fields(
        app, codes.CMD_GET_CHANNEL_AUTH_CAPABILITIES, b"\x0e\x04"
    )
    out["mode3-challenge"] = b"\x03" + _fields(
        app, codes.CMD_GET_SESSION_CHALLENGE, b"\x02" + b"admin".ljust(16, b"\0")
    )
    rq1 = bytes((2, 0, 0, 0)) + bytes(4) + bytes(16) + bytes((4, 0, 0, 5)) + b"admin"
    out["mode4-rakp1"] = bytes((4, wire.PAYLOAD_RAKP1, 2, 0)) + rq1
    out["mode4-rakp3-signed"] = (
        bytes((4, wire.PAYLOAD_RAKP3, 3, 1)) + bytes((3, 0, 0, 0)) + bytes(4)
    )
    return out


def write_corpus(out, world: World | None = None) -> int:
    from pathlib import Path

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    items = corpus(world)
    for name, data in items.items():
        (d / name).write_bytes(data)
    return len(items)


if __name__ == "__main__":
    import sys

    print(write_corpus(sys.argv[1]), "inputs written to", sys.argv[1])
