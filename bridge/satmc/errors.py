"""The exceptions of the satmc host package, one tree."""


class SatmcError(Exception):
    """Base of every error the satmc host package raises on purpose."""


class BusError(SatmcError):
    """An I2C transfer failed (virtual bus or adapter)."""


class BusNackError(BusError):
    """The addressed device did not acknowledge its address."""

    def __init__(self, addr7: int):
        super().__init__(f"no ACK at 0x{addr7:02x} (IPMB 0x{addr7 << 1:02x})")
        self.addr7 = addr7


class SendMessageError(BusError):
    """A BMC could not deliver a bridged request: its Send Message answered a completion
    code other than 00 (82h bus error, 83h NAK on write: nothing took the request).
    via: the BMC's HOST:PORT, named in the message when given."""

    def __init__(self, address: int, netfn: int, cmd: int, cc: int, via: str = ""):
        from .ipmi.codes import (
            CC_SEND_NAK_ON_WRITE,
            CMD_SEND_MESSAGE,
            NETFN_APP,
            cc_text,
            command_title,
        )

        bmc = f"the BMC at {via}" if via else "the BMC"
        code = f"completion code 0x{cc:02x} ({cc_text(cc, NETFN_APP, CMD_SEND_MESSAGE)})"
        if cc == CC_SEND_NAK_ON_WRITE:
            why = (
                f"the satellite at 0x{address:02x} did not take it; {bmc} answered its Send "
                f"Message with {code}: nothing at that address, or a satellite busy or "
                "resetting"
            )
        else:
            why = f"{bmc} could not deliver it; its Send Message answered {code}"
        super().__init__(f"{command_title(netfn, cmd)} to IPMB 0x{address:02x}: {why}")
        self.address, self.netfn, self.cmd, self.cc = address, netfn, cmd, cc


class BusTimeoutError(BusError):
    """The bus stayed busy (or stuck) longer than allowed."""


class SimNotRunningError(SatmcError):
    """No simulator serves the virtual bus socket."""


class SimAlreadyRunningError(SatmcError):
    """Another simulator already serves the virtual bus socket."""


class AdapterError(SatmcError):
    """The I2C adapter is absent, busy or named by a wrong URL."""


class AddressError(SatmcError):
    """A number that cannot be an 8-bit IPMB address (odd, the 7-bit form, out of range)."""


class NoResponseError(SatmcError):
    """The satellite did not answer the request after all retries."""


class CompletionCodeError(SatmcError):
    """The satellite answered with a completion code other than 00."""

    def __init__(self, cc: int, what: str = ""):
        from .ipmi.codes import cc_text

        super().__init__(
            f"{what + ': ' if what else ''}completion code 0x{cc:02x} ({cc_text(cc)})"
        )
        self.cc = cc


class MalformedResponseError(SatmcError):
    """An answer does not decode as the response to its request."""

    def __init__(self, what: str, data: bytes, reason: str = ""):
        super().__init__(
            f"{what}: malformed answer {data.hex(' ') or '(no data)'}"
            + (f" ({reason})" if reason else "")
        )
        self.data = data


class BoardFileError(SatmcError):
    """A board file is invalid; the message names the field and the reason."""


class UsersFileError(SatmcError):
    """The bench BMC's users file is missing, unsafe or invalid; the message says which."""
