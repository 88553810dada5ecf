"""The chassis side `satmc bmc` serves: built from the target URL or a simulated chassis."""

from __future__ import annotations

import contextlib

from ..errors import SatmcError


@contextlib.contextmanager
def responder_for(args):
    try:
        from . import chassis  # noqa: F401  (the chassis side, issue 13)
    except ImportError:
        raise SatmcError(
            "this satmc has the bench BMC's LAN side only; its chassis side "
            "(satmc.bmc.chassis) is not in this build"
        ) from None
    raise SatmcError("satmc.bmc.chassis is present but not wired to satmc bmc yet")
    yield
