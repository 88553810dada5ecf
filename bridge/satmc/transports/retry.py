"""Address NACKs are retried briefly: a satellite may be busy writing its own frame."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import BusNackError


def write_retrying_nack(write: Callable[[], None], tries: int = 3, pause: float = 0.005) -> None:
    for attempt in range(tries):
        try:
            return write()
        except BusNackError:
            if attempt == tries - 1:
                raise
            time.sleep(pause * (attempt + 1))
