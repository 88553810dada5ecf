"""The `lan` transport: satellites behind a BMC on the LAN (the bench BMC, an MCH, a
shelf manager), through python-ipmi's RMCP interface (an IPMI 1.5 session, MD5 or
straight password) with Send Message bridging to IPMB channel 0.

    lan://USER[:PASSWORD]@HOST[:PORT][?privilege=operator]
    satmc -t lan://admin@bench-bmc:6230 -a 0x74 info     # password: $SATMC_LAN_PASSWORD

A password in the URL shows in process lists; $SATMC_LAN_PASSWORD is read when the URL
has none. One session serves every satellite of a connect_many().
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

import pyipmi
import pyipmi.interfaces

from ..errors import AdapterError
from .options import url_options

BMC = 0x20
PRIVILEGES = {"user": "USER", "operator": "OPERATOR", "administrator": "ADMINISTRATOR"}
MIN_TIMEOUT = 1.0  # seconds per try: a bridged answer crosses the LAN and the IPMB


def shown(url: str) -> str:
    """The URL as an error message may show it: a password in it masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return repr(url)
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return repr(parts._replace(netloc=netloc).geturl())


def parse(url: str) -> tuple[str, int, str, str, str]:
    """A lan:// or lanplus:// URL -> (host, port, user, password, privilege name as
    python-ipmi spells it)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username is None:
        raise AdapterError(f"{shown(url)}: use {parts.scheme}://USER[:PASSWORD]@HOST[:PORT]")
    password = parts.password
    if password is None:
        password = os.environ.get("SATMC_LAN_PASSWORD")
        if password is None:
            raise AdapterError(f"{shown(url)} has no password: set $SATMC_LAN_PASSWORD")
    given = url_options(url, ("privilege", "cipher"), shown=shown(url))
    priv = given.get("privilege", "administrator").lower()
    if priv not in PRIVILEGES:
        raise AdapterError(f"{shown(url)}: privilege must be one of {', '.join(PRIVILEGES)}")
    try:
        port = parts.port or 623
    except ValueError:
        raise AdapterError(f"{shown(url)}: the port is not a number") from None
    return parts.hostname, port, unquote(parts.username), unquote(password), PRIVILEGES[priv]


def open_session(url: str, timeout: float, retries: int):
    """-> (the RMCP interface, an Ipmi holding the established session)."""
    host, port, user, password, priv = parse(url)
    if "cipher" in url_options(url, ("privilege", "cipher"), shown=shown(url)):
        raise AdapterError(
            f"{shown(url)}: cipher suites are RMCP+'s: use lanplus:// (lan:// is 1.5)"
        )
    intf = pyipmi.interfaces.create_interface("rmcp", keep_alive_interval=0)
    intf.max_retries = retries - 1
    ipmi = pyipmi.create_connection(intf)
    ipmi.session.set_session_type_rmcp(host, port=port)
    ipmi.session.set_auth_type_user(user, password)
    ipmi.session.set_priv_level(priv)
    ipmi.target = pyipmi.Target(ipmb_address=BMC)
    intf.open()
    intf.set_timeout(max(timeout, MIN_TIMEOUT))
    try:
        ipmi.session.establish()
    except Exception as e:  # python-ipmi raises several kinds; one line naming the fix
        intf.close()
        raise AdapterError(
            f"{host}:{port}: no IPMI session as {user!r} ({type(e).__name__}: {e}); "
            "check the user, the password and that the BMC serves IPMI 1.5"
        ) from None
    intf.timeout = max(timeout, MIN_TIMEOUT)
    intf.tries = retries  # python-ipmi's max_retries counts the tries after the first
    intf.via = f"{host}:{port}"
    return intf, ipmi


def target(address: int) -> pyipmi.Target:
    """The satellite at `address`, bridged by the BMC over IPMB channel 0."""
    if address == BMC:
        return pyipmi.Target(ipmb_address=BMC)
    return pyipmi.Target(ipmb_address=address, routing=[(0x81, BMC, 0), (BMC, address, None)])
