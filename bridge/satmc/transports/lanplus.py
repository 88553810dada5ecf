"""The `lanplus` transport: satellites behind a BMC on the LAN over RMCP+ (IPMI 2.0),
through pyghmi's client, with Send Message bridging to IPMB channel 0. The scheme is
named after ipmitool's `-I lanplus`; `lan://` is the IPMI 1.5 session (transports/lan.py).

    lanplus://USER[:PASSWORD]@HOST[:PORT][?privilege=operator][&cipher=17]
    satmc -t lanplus://admin@bench-bmc:6230 -a 0x74 sensors   # password: $SATMC_LAN_PASSWORD

pyghmi negotiates the cipher suite itself: 17 (HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128)
first, then 3 (HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128) if the BMC refuses 17; it has no
way to propose 3 first. `?cipher=17` or `?cipher=3` is the suite the session must use:
the login is refused in one line when pyghmi negotiated the other one (17 where the BMC
has no 17; 3 only where the BMC refuses 17, pyghmi cannot ask a BMC that takes 17 for 3:
use ipmitool -C 3 for that). Without it, either is taken. One session
(pyghmi shares a session per BMC and user within a process) serves every satellite of a
connect_many(). This module only adapts pyghmi's `Command.raw_command` to python-ipmi's
interface contract (`send_and_receive_raw`), so `pyipmi.Ipmi` and satmc's clients work
over it unchanged. A bridged request takes pyghmi's first response through its callback
(see `_bridged`), so a Send Message error such as 83h (nothing at that address) is
python-ipmi's CompletionCodeError at once, as over lan://.
"""

from __future__ import annotations

import time

import pyipmi
from pyipmi.errors import CompletionCodeError as SendMessageFailed
from pyipmi.errors import IpmiTimeoutError
from pyipmi.interfaces.base import Interface

from ..errors import AdapterError
from ..ipmi.codes import CMD_SEND_MESSAGE, NETFN_APP
from .lan import BMC, parse, shown
from .options import url_options

LEVELS = {"USER": 2, "OPERATOR": 3, "ADMINISTRATOR": 4}  # pyghmi's privlevel numbers
SUITE_BY_INTEGRITY = {256: 17, 1: 3}  # pyghmi's record of the integrity hash it logged in with
TIMEOUT_CODE = 0xFFFF  # pyghmi's response code when its retries ran out
BRIDGED_WAIT = 60.0  # s: a backstop; pyghmi answers 0xFFFF or gives the session up before


class LanplusInterface(Interface):
    """python-ipmi's interface contract over one pyghmi RMCP+ session."""

    def __init__(self, url: str):
        self.host, self.port, self.user, self._password, priv = parse(url)
        self.privilege = LEVELS[priv]
        self.cipher = cipher_option(url)  # None: whichever pyghmi negotiates
        self.cipher_suite = None  # the one negotiated, once open
        self.command = None
        self.timeout = 1.0  # informative: pyghmi keeps its own retry timers
        self.max_retries = 1
        self.tries_text = "after pyghmi's retries"  # for satmc's "no response" message

    def open(self) -> None:
        from pyghmi.exceptions import IpmiException
        from pyghmi.ipmi.command import Command

        try:
            self.command = Command(  # bytes: pyghmi forgets a finished login only by those
                bmc=self.host,
                userid=self.user.encode(),
                password=self._password.encode(),
                port=self.port,
                privlevel=self.privilege,
                keepalive=True,
            )
        except (IpmiException, OSError) as e:
            why = str(e) if e.args and e.args[0] else "no answer"
            raise AdapterError(
                f"{self.host}:{self.port}: no RMCP+ session as {self.user!r} ({why}); "
                "check the host, the port, the user and the password"
            ) from None
        self.cipher_suite = SUITE_BY_INTEGRITY.get(self.command.ipmi_session.integrityalgo)
        if self.cipher is not None and self.cipher_suite != self.cipher:
            got = self.cipher_suite
            self.close()
            hint = (
                "pyghmi proposes 17 first and cannot ask a BMC that takes it for 3 "
                "(ipmitool -I lanplus -C 3 can)"
                if self.cipher == 3
                else "the BMC does not take 17"
            )
            raise AdapterError(
                f"{self.host}:{self.port}: ?cipher={self.cipher} asks for cipher suite "
                f"{self.cipher}, the session negotiated suite {got}: {hint}"
            )

    def close(self) -> None:
        command, self.command = self.command, None
        if command is not None:
            try:
                command.ipmi_session.logout()
            except Exception:  # noqa: BLE001 - a session the BMC dropped is closed anyway
                pass

    def is_target_accessible(self, target) -> bool:
        from ..ipmi.codes import CMD_GET_DEVICE_ID, NETFN_APP

        try:
            return (
                self.send_and_receive_raw(target, 0, NETFN_APP, bytes((CMD_GET_DEVICE_ID,)))[0]
                == 0
            )
        except IpmiTimeoutError:
            return False

    def send_and_receive_raw(self, target, lun: int, netfn: int, raw_bytes: bytes) -> bytes:
        from pyghmi.exceptions import IpmiException

        if self.command is None:
            raise IpmiTimeoutError()
        request = dict(netfn=netfn, command=raw_bytes[0], data=bytes(raw_bytes[1:]), rslun=lun)
        try:
            if target.ipmb_address == BMC:
                rsp = self.command.raw_command(**request)
            else:
                rsp = self._bridged(target.ipmb_address, request)
        except IpmiException:  # pyghmi: "Session no longer connected" after its retries
            raise IpmiTimeoutError() from None
        if rsp is None or rsp.get("code") == TIMEOUT_CODE:
            raise IpmiTimeoutError()
        send_message = (rsp.get("netfn"), rsp.get("command")) == (NETFN_APP + 1, CMD_SEND_MESSAGE)
        if send_message and (netfn, raw_bytes[0]) != (NETFN_APP, CMD_SEND_MESSAGE):
            raise SendMessageFailed(rsp["code"], CMD_SEND_MESSAGE, NETFN_APP)
        return bytes((rsp["code"],)) + bytes(rsp.get("data", b""))

    def _bridged(self, address: int, request: dict) -> dict | None:
        """One request bridged by Send Message to IPMB channel 0 -> pyghmi's response dict:
        the satellite's response, or the Send Message response when the BMC could not
        deliver it (83h: nothing took it).

        pyghmi's synchronous raw_command waits for the satellite's response only: a
        failed Send Message stops its retries but not its wait (about 40 s, and then it
        counts the session as broken). With a callback pyghmi hands over the first
        response that settles the request, whichever it is; its event loop
        (Session.wait_for_rsp: its timers, its retries) runs here until then, and the
        command state it leaves to callback users is reset after."""
        from pyghmi.ipmi.private.session import Session

        session = self.command.ipmi_session
        got: list[dict] = []
        session.raw_command(
            bridge_request={"addr": address, "channel": 0}, callback=got.append, **request
        )
        deadline = time.monotonic() + BRIDGED_WAIT
        try:
            # the session gone (its relogin failed) ends the wait, as it does pyghmi's
            while not got and (session.logged or session.logging):
                if time.monotonic() > deadline:
                    break
                Session.wait_for_rsp(timeout=min(0.1, max(0.0, deadline - time.monotonic())))
        finally:  # what pyghmi's raw_command does after its own wait
            session.incommand = False
            while session.evq:
                session.evq.popleft().set()
        return got[0] if got else None


def cipher_option(url: str) -> int | None:
    """The URL's ?cipher= (3 or 17), None without it."""
    value = url_options(url, ("privilege", "cipher"), shown=shown(url)).get("cipher")
    if value is None:
        return None
    if value not in ("3", "17"):
        raise AdapterError(f"{shown(url)}: cipher must be 3 or 17 (the RMCP+ suites with AES)")
    return int(value)


def open_session(url: str, timeout: float, retries: int) -> LanplusInterface:
    """-> the interface holding the established RMCP+ session."""
    intf = LanplusInterface(url)
    intf.open()
    intf.timeout, intf.max_retries = timeout, retries
    return intf


def connection(intf: LanplusInterface, address: int) -> pyipmi.Ipmi:
    """A python-ipmi connection to the satellite at `address` (the BMC itself at 0x20)."""
    ipmi = pyipmi.Ipmi(interface=intf, session=None)
    ipmi.target = pyipmi.Target(ipmb_address=address)
    return ipmi
