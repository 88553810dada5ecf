"""The satmc resources for labgrid (registered with labgrid's target factory on import).

An exporter needs no import for them: it exports a class it does not know verbatim, as a
static entry that is always available, and the client builds the class named here.
"""

from __future__ import annotations

import attr
from labgrid.factory import target_factory
from labgrid.resource.common import NetworkResource, Resource

from ..transports import LAN_SCHEMES, SCHEMES

LAN_PROTOCOLS = tuple(s.split(":", 1)[0] for s in LAN_SCHEMES)  # lan, lanplus


def _ipmb_address(value) -> int:
    n = int(value, 0) if isinstance(value, str) else int(value)
    if n & 1 or not 0x10 <= n <= 0xEE:
        raise ValueError(f"address {value!r}: use an even 8-bit IPMB address such as 0x72")
    return n


def _local_url(instance, attribute, value):
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme not in SCHEMES:
        raise ValueError(f"SatmcIPMB url {value!r}: use sim://SOCKET or ftdi://...")


def _lan_protocol(instance, attribute, value):
    if value not in LAN_PROTOCOLS:
        raise ValueError(f"SatmcBMC protocol {value!r}: use one of {', '.join(LAN_PROTOCOLS)}")


@target_factory.reg_resource
@attr.s(eq=False)
class SatmcIPMB(Resource):
    """The rig's IPMB as a satmc transport URL on this host (sim://, ftdi://).

    Args:
        url (str): the transport URL
        address (int): the satellite's 8-bit IPMB address (0x72)
    """

    url = attr.ib(validator=[attr.validators.instance_of(str), _local_url])
    address = attr.ib(default=0x72, converter=_ipmb_address)


@target_factory.reg_resource
@attr.s(eq=False)
class SatmcBMC(NetworkResource):
    """A bench BMC (`satmc bmc`) next to the rig's adapter: IPMI over LAN (UDP) bridged to
    the satellite. labgrid's proxying is TCP only (SSH -L), so the UDP port must be
    reachable from the client directly.

    Args:
        host (str): where the BMC listens
        port (int): its UDP port (623)
        user (str): the login; the password is $SATMC_LAN_PASSWORD on the client
        address (int): the satellite's 8-bit IPMB address behind the BMC (0x72)
        protocol (str): "lanplus" (RMCP+, IPMI 2.0, as ipmitool -I lanplus; the default)
            or "lan" (IPMI 1.5): the scheme of the URL the driver opens
    """

    port = attr.ib(default=623, validator=attr.validators.instance_of(int))
    user = attr.ib(default="admin", validator=attr.validators.instance_of(str))
    address = attr.ib(default=0x72, converter=_ipmb_address)
    protocol = attr.ib(default="lanplus", validator=_lan_protocol)
