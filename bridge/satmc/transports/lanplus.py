"""The `lanplus` transport: satellites behind a BMC on the LAN over RMCP+ (IPMI 2.0),
through pyghmi's client, with Send Message bridging to IPMB channel 0. The scheme is
named after ipmitool's `-I lanplus`; `lan://` is the IPMI 1.5 session (transports/lan.py).

    lanplus://USER[:PASSWORD]@HOST[:PORT][?privilege=operator]
    satmc -t lanplus://admin@bench-bmc:6230 -a 0x74 sensors   # password: $SATMC_LAN_PASSWORD

pyghmi negotiates the cipher suite itself: 17 (HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128)
first, then 3 (HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128) if the BMC refuses 17. One session
(pyghmi shares a session per BMC and user within a process) serves every satellite of a
connect_many(). This module only adapts pyghmi's `Command.raw_command` to python-ipmi's
interface contract (`send_and_receive_raw`), so `pyipmi.Ipmi` and satmc's clients work
over it unchanged.
"""

from __future__ import annotations

import pyipmi
from pyipmi.errors import IpmiTimeoutError
from pyipmi.interfaces.base import Interface

from ..errors import AdapterError
from .lan import BMC, parse

LEVELS = {"USER": 2, "OPERATOR": 3, "ADMINISTRATOR": 4}  # pyghmi's privlevel numbers
TIMEOUT_CODE = 0xFFFF  # pyghmi's response code when its retries ran out


class LanplusInterface(Interface):
    """python-ipmi's interface contract over one pyghmi RMCP+ session."""

    def __init__(self, url: str):
        self.host, self.port, self.user, self._password, priv = parse(url)
        self.privilege = LEVELS[priv]
        self.command = None
        self.timeout = 1.0  # informative: pyghmi keeps its own retry timers
        self.max_retries = 1

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
        bridge = None
        if target.ipmb_address != BMC:
            bridge = {"addr": target.ipmb_address, "channel": 0}
        try:
            rsp = self.command.raw_command(
                netfn=netfn,
                command=raw_bytes[0],
                data=bytes(raw_bytes[1:]),
                bridge_request=bridge,
                rslun=lun,
            )
        except IpmiException:  # pyghmi: "Session no longer connected" after its retries
            raise IpmiTimeoutError() from None
        if rsp.get("code") == TIMEOUT_CODE:
            raise IpmiTimeoutError()
        return bytes((rsp["code"],)) + bytes(rsp.get("data", b""))


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
