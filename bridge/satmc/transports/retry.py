"""Address NACKs are retried briefly: a satellite may be busy writing its own frame.

An answer to a request the host received (a satellite's Platform Event) that the bus
refuses all the same is counted and logged, not raised: python-ipmi's MessageRouter
sends answers from its one worker thread and catches only OSError there, so a BusError
escaping ended that thread, and no request on the interface was answered again (the
satellite gave every later event up after its tries). A lost answer is IPMB's ordinary
case: the requester tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..errors import BusError, BusNackError

log = logging.getLogger(__name__)


def write_retrying_nack(write: Callable[[], None], tries: int = 3, pause: float = 0.005) -> None:
    for attempt in range(tries):
        try:
            return write()
        except BusNackError:
            if attempt == tries - 1:
                raise
            time.sleep(pause * (attempt + 1))


def is_response(frame: bytes) -> bool:
    """An IPMB frame whose netFn is a response's (odd)."""
    return bool(frame[1] >> 2 & 1)


def write_answer(intf, write: Callable[[], None]) -> None:
    """Write an answer (NACKs retried); a bus error is counted in intf.responses_failed."""
    try:
        write_retrying_nack(write)
    except BusError as e:
        intf.responses_failed += 1
        log.warning("IPMB answer lost (the requester tries again): %s", e)
