"""satmc rigs as labgrid places: resources, the IPMB driver and the rig strategy.

labgrid finds third-party classes only by import (it has no entry points for them), so
an environment file names this module:

    imports:
      - satmc.labgrid
    targets:
      main:
        resources:
          RemotePlace: {name: satmc-rig-1}
        drivers:
          SatmcIPMBDriver: {}
          SatmcStrategy: {}

Resources (what a rig has; labgrid's own where one fits):
    SatmcIPMB     a local IPMB URL: sim://SOCKET (the simulator) or ftdi://... (pyftdi)
    SatmcBMC      a bench BMC (`satmc bmc`) on the exporter host: host, port (UDP),
                  user; the password comes from $SATMC_LAN_PASSWORD, never from the place
    NetworkSerialPort / USBSerialPort / RawSerialPort (labgrid's): the board's USB
                  serial, Serial Basic Mode (rfc2217:// through ser2net, or raw TCP)
    USBDebugger (labgrid's): the FT232H/FT2232H; PowerProtocol drivers: power

Drivers:
    SatmcIPMBDriver  .connect(**kw) -> satmc.transports.Satellite, .url, .address,
                     .answering() (one Get Device ID)
    SatmcStrategy    .transition("answering"): off -> powered -> micropython ->
                     flashed (built, deployed, verified) -> answering on IPMB

Written here because labgrid has no IPMI or I2C resource (its power backends have no
IPMI either); the classes only wire labgrid's binding model to satmc's transports and
flashing, which do the work.
"""

from .drivers import SatmcIPMBDriver, SatmcStrategy, Status, rig_settings
from .resources import SatmcBMC, SatmcIPMB

__all__ = ["SatmcBMC", "SatmcIPMB", "SatmcIPMBDriver", "SatmcStrategy", "Status", "rig_settings"]
