"""The IPMB driver and the rig strategy (labgrid drivers, registered on import)."""

from __future__ import annotations

import enum
import time

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.step import step
from labgrid.strategy.common import Strategy, StrategyError, never_retry

from ..errors import AdapterError, SatmcError
from ..ipmi.codes import CC_OK, CMD_GET_DEVICE_ID, NETFN_APP
from ..transports import SCHEMES, connect

# Place tags (labgrid-client set-tags) and environment options naming the rig
TAG_BOARD, TAG_ADDRESS, TAG_CAPABILITIES = "satmc-board", "satmc-address", "satmc-capabilities"


def serial_url(port) -> str:
    """A pyserial URL for a labgrid serial port resource (local or exported)."""
    if type(port).__name__ == "NetworkSerialPort":
        scheme = "rfc2217" if port.protocol == "rfc2217" else "socket"
        return f"{scheme}://{port.host}:{port.port}"
    return port.port  # USBSerialPort, RawSerialPort: the device node


@target_factory.reg_driver
@attr.s(eq=False)
class SatmcIPMBDriver(Driver):
    """A satmc `Satellite` connection to the rig's satellite.

    Bound to one of: SatmcIPMB (sim://, ftdi:// on this host), SatmcBMC (IPMI over LAN
    through the bench BMC on the exporter host: lanplus:// or lan://, as its protocol
    says), or the board's serial port (Serial Basic Mode: NetworkSerialPort,
    USBSerialPort, RawSerialPort).

    Args:
        address (int): the satellite's IPMB address, if the resource does not give it
        timeout (float): seconds per try of one request
    """

    bindings = {
        "port": {"SatmcIPMB", "SatmcBMC", "NetworkSerialPort", "USBSerialPort", "RawSerialPort"}
    }
    address = attr.ib(default=None)
    timeout = attr.ib(default=0.25, converter=float)

    @property
    def url(self) -> str:
        kind = type(self.port).__name__
        if kind == "SatmcIPMB":
            return self.port.url
        if kind == "SatmcBMC":
            p = self.port
            return f"{p.protocol}://{p.user}@{p.host}:{p.port}"
        return serial_url(self.port)

    @property
    def ipmb_address(self) -> int:
        if self.address is not None:
            return int(self.address, 0) if isinstance(self.address, str) else int(self.address)
        return getattr(self.port, "address", 0x72)

    def on_activate(self):
        scheme = self.url.split("://", 1)[0]
        if scheme not in SCHEMES:
            raise AdapterError(
                f"{self.url}: this satmc has no {scheme}:// transport (the bench BMC's "
                "IPMI over LAN); use a SatmcIPMB or serial port resource"
            )

    @Driver.check_active
    def connect(self, **kw):
        """-> a new satmc.transports.Satellite (a context manager: close it)."""
        kw.setdefault("timeout", self.timeout)
        return connect(self.url, address=self.ipmb_address, **kw)

    @Driver.check_active
    def answering(self) -> bool:
        """True when the satellite answers Get Device ID with completion code 00."""
        try:
            with self.connect() as sat:
                cc, _ = sat.raw(NETFN_APP, CMD_GET_DEVICE_ID)
        except SatmcError:
            return False
        return cc == CC_OK


class Status(enum.Enum):
    unknown = 0
    off = 1
    powered = 2
    micropython = 3  # the board's USB serial is there (MicroPython's USB CDC)
    flashed = 4  # the bundle is on the board and Get Device ID shows its revision
    answering = 5  # the firmware answers on the rig's IPMB path


@target_factory.reg_driver
@attr.s(eq=False)
class SatmcStrategy(Strategy):
    """Takes a satmc rig to a state: off, powered, micropython, flashed, answering.

    Power (any labgrid PowerProtocol driver) and the console (the board's serial port
    through SerialDriver) are optional: a rig without them (the simulator) is always
    powered and running. Flashing deploys the board's bundle with satmc.flash over the
    serial port (a local device node; mpremote opens rfc2217:// too) and verifies Get Device
    ID over the IPMB driver's path; with flash=False (firmware put there another way, as
    the simulator's) only the verification runs.

    Args:
        board (str): the board file name or path (default: the place's satmc-board tag)
        flash (bool): deploy the bundle in the flashed step (True)
        timeout (float): seconds to wait for the firmware to answer (20)
    """

    bindings = {
        "power": {"PowerProtocol", None},
        "console": {"SerialDriver", None},
        "ipmb": "SatmcIPMBDriver",
    }
    board = attr.ib(default=None)
    flash = attr.ib(default=True)
    timeout = attr.ib(default=20.0, converter=float)
    status = attr.ib(default=Status.unknown)

    def _board(self):
        from ..board import load_board

        name = self.board or rig_settings(self.target).get("board")
        if not name:
            raise StrategyError(f"no board named: set {TAG_BOARD} or SatmcStrategy's board")
        return load_board(name)

    @never_retry
    @step(args=["status"])
    def transition(self, status, *, step):
        if not isinstance(status, Status):
            status = Status[status]
        if status == Status.unknown:
            raise StrategyError(f"can not transition to {status}")
        if status == self.status:
            step.skip("nothing to do")
            return
        if status == Status.off:
            if self.power is None:
                raise StrategyError("this rig has no power driver: it cannot be switched off")
            if self.console is not None:
                self.target.deactivate(self.console)
            self.target.deactivate(self.ipmb)
            self.target.activate(self.power)
            self.power.off()
        elif status == Status.powered:
            if self.power is not None:
                self.transition(Status.off)
                self.power.on()
        elif status == Status.micropython:
            self.transition(Status.powered)
            if self.console is not None:
                # a Pico's USB serial exists only while MicroPython runs; waits for it
                self.target.await_resources([self.console.port], timeout=self.timeout)
        elif status == Status.flashed:
            self.transition(Status.micropython)
            self._flash_and_verify()
        elif status == Status.answering:
            if self.status != Status.flashed:
                self.transition(Status.flashed)
            self.target.activate(self.ipmb)
            deadline = time.monotonic() + self.timeout
            while not self.ipmb.answering():
                if time.monotonic() > deadline:
                    raise StrategyError(
                        f"{self.ipmb.url}: no Get Device ID answer from "
                        f"{self.ipmb.ipmb_address:#04x} in {self.timeout:g} s"
                    )
                time.sleep(0.2)
        else:
            raise StrategyError(f"no transition found from {self.status} to {status}")
        self.status = status

    def _flash_and_verify(self):
        from ..bundle import Bundle
        from ..flash import flash, verify_ipmb

        board = self._board()
        self.target.activate(self.ipmb)
        if self.flash:
            if self.console is None:
                raise StrategyError("flashing needs the board's serial port (SerialDriver)")
            self.target.deactivate(self.console)  # mpremote needs the port to itself
            flash(
                board,
                port=serial_url(self.console.port),
                via=self.ipmb.url,
                timeout=self.timeout,
                address=self.ipmb.ipmb_address,
                log=self.logger.info,
            )
        else:
            # firmware put there another way: the revision it must show is the board file's
            # firmware_version, as a bundle's manifest carries it (nothing to compile)
            bundle = Bundle(None, {"firmware_version": board.config["firmware_version"]})
            verify_ipmb(self.ipmb.url, board, bundle, self.timeout, self.ipmb.ipmb_address)

    @never_retry
    @step(args=["status"])
    def force(self, status, *, step):
        if not isinstance(status, Status):
            status = Status[status]
        if status != Status.off:
            self.target.activate(self.ipmb)
        self.status = status


def rig_settings(target) -> dict:
    """board, address, capabilities of a labgrid target: from its RemotePlace's tags, else
    from the environment's options (satmc-board, satmc-address, satmc-capabilities)."""
    out: dict = {}
    env = getattr(target, "env", None)
    if env is not None:
        for key in (TAG_BOARD, TAG_ADDRESS, TAG_CAPABILITIES):
            try:
                value = env.config.get_option(key)
            except KeyError:
                continue
            if value is not None:
                out[key] = str(value)
    for res in target.resources:
        if type(res).__name__ == "RemotePlace":
            out.update({k: v for k, v in (res.tags or {}).items() if k.startswith("satmc-")})
    settings = {"board": out.get(TAG_BOARD)}
    if TAG_ADDRESS in out:
        settings["address"] = int(out[TAG_ADDRESS], 0)
    if TAG_CAPABILITIES in out:
        settings["capabilities"] = [c for c in out[TAG_CAPABILITIES].replace(",", " ").split()]
    return settings
