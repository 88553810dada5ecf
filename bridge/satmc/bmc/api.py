"""Where the bench BMC's LAN side meets its chassis side.

The LAN side authenticates a datagram, checks its session, decodes the IPMI message
inside it (IPMB format: rsAddr, netFn/rsLUN, checksum, rqAddr, rqSeq/rqLUN, cmd, data,
checksum) and answers the session commands itself (authentication capabilities,
challenge, activation, privilege level, close, session info, cipher suites, users).
Everything else becomes one `BmcRequest` handed to a `Responder`, whose answer the LAN
side frames as the response message in the same session.

A responder may send further messages in the session with `BmcRequest.emit` (a complete
IPMB-format message, rqSA first, both checksums): Send Message with tracking answers
first, and the bridged satellite's response follows as a message of its own, in that
order (ipmitool needs it). The responder calls emit only after handle() has returned,
from the event loop's thread, at least one loop turn later; so the LAN side sends the
response as soon as handle() returns (without awaiting in between), and each emitted
message as it comes. `BmcRequest.drop_sessions` is the one thing the chassis side may
ask of the LAN side: close every session (a Cold Reset does, after its response).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

# Privilege levels (IPMI 2.0 table 6-7, as Set Session Privilege Level numbers them)
CALLBACK, USER, OPERATOR, ADMINISTRATOR, OEM = 1, 2, 3, 4, 5


@dataclass
class BmcRequest:
    netfn: int  # the request's (even) netFn
    cmd: int
    data: bytes
    lun: int = 0  # rsLUN
    rq_addr: int = 0x81  # the requester's software ID / address from the message
    rq_seq: int = 0
    rq_lun: int = 0
    privilege: int = ADMINISTRATOR  # the session's current privilege level
    channel: int = 1  # the LAN channel the session is on
    session_id: int = 0  # the BMC-side session ID (0 outside a session)
    emit: Callable[[bytes], None] = field(default=lambda msg: None, repr=False)
    # closes every LAN session (a Cold Reset of the BMC, called after its response)
    drop_sessions: Callable[[], None] = field(default=lambda: None, repr=False)


class Responder(Protocol):
    """The chassis side. `handle` returns (completion code, response data); a request
    below the command's privilege answers CC_INSUFFICIENT_PRIVILEGE (D4) and changes
    nothing. It may await the IPMB; one slow satellite must not stall other sessions."""

    async def handle(self, req: BmcRequest) -> tuple[int, bytes]: ...

    # Optional: answer_now(req) -> (cc, data) for a request answered without waiting (the
    # LAN side then sends it at once, with no task), or None to have handle() answer it.
