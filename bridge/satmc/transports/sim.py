"""The `sim` transport: the host as BMC on the simulator's virtual IPMB.

    intf = SimInterface("/run/user/1000/satmc-1000/sim.sock")               # slave-capable BMC
    intf = SimInterface(path, readback=True)                                 # master-only host
    ipmi = pyipmi.create_connection(intf); ipmi.target = pyipmi.Target(0x72)

As a slave-capable BMC the host is an I2C target at its own address (0x20) and
receives responses and events as master writes. With readback=True it behaves like
an FTDI adapter: controller only, fetching frames by reading the satellite.

Any number of host processes may be the BMC on one simulated IPMB at once, as
listeners on one real bus: each sees every frame written to the BMC's address and
takes the responses to its own requests. Their requests draw sequence numbers from
one counter on the bus, so two processes never wait for the same rqSeq. A request to
the BMC (a satellite's Platform Event) is answered by the processes that handle it
(`satmc events --follow`), and the bus lets exactly one of them send the answer: the
first to claim that frame; the others count it in `answered_elsewhere`.

A try that timed out holds its rqSeq back for IPMB's sequence lifetime
(satmc.transports.sequence): the satellite may still deliver that answer late, and it
must not be taken for a new request's. The hold is this process's own: another process
on the bus may still draw that number.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from pyipmi.interfaces.ipmb import IpmbInterface

from ..errors import BusError
from ..vbus.client import BusController, BusTarget
from .readback import ReadbackPoller
from .retry import is_response, write_answer, write_retrying_nack
from .sequence import HoldsSequences

SEQ_BLOCK = 8  # sequence numbers drawn from the bus at once
SEQ_BLOCK_LIFETIME = 1.0  # seconds a drawn block stays usable


class SimInterface(HoldsSequences, IpmbInterface):
    NAME = "sim"

    def __init__(
        self,
        socket_path: str,
        bus: str = "ipmb",
        slave_address: int = 0x20,
        readback: bool = False,
        router=None,
    ):
        super().__init__(slave_address=slave_address, router=router)
        self.socket_path = socket_path
        self.bus = bus
        self.readback = readback
        self._controller: BusController | None = None
        self._target: BusTarget | None = None
        self.poller: ReadbackPoller | None = None
        # requests received as a listener, by (rqSA, rqSeq, netFn, cmd): their delivery
        self._deliveries: OrderedDict[tuple, int] = OrderedDict()
        self._deliveries_lock = threading.Lock()
        self.answered_elsewhere = 0  # requests another listener claimed and answered
        self._seq_next = self._seq_left = 0  # the block of sequence numbers in hand
        self._seq_drawn = 0.0
        self.responses_failed = 0  # answers the bus refused (satmc.transports.retry)

    def open(self) -> None:
        if self._controller is not None:
            return
        self._controller = BusController(self.socket_path, self.bus, name="bmc")
        if self.readback:
            self.poller = ReadbackPoller(self._controller.read)
            self._start_receiver()
        else:
            self._target = BusTarget(
                self.socket_path,
                self.bus,
                [self.slave_address >> 1],
                self._on_write,
                listen=True,
            )

    def _on_write(self, addr7: int, data: bytes, delivery: int) -> None:
        if addr7 != self.slave_address >> 1:  # not general calls
            return
        frame = bytes((self.slave_address,)) + data
        if len(frame) >= 7 and not frame[1] >> 2 & 1:  # a request: remember its number
            key = (frame[3], frame[4] >> 2, frame[1] >> 2, frame[5])
            with self._deliveries_lock:
                self._deliveries[key] = delivery
                self._deliveries.move_to_end(key)
                while len(self._deliveries) > 64:
                    self._deliveries.popitem(last=False)
        self._receive_frame(frame)

    def _may_answer(self, frame: bytes) -> bool:
        """For a response to a request this listener received: did it win the claim?"""
        key = (frame[0], frame[4] >> 2, (frame[1] >> 2) & ~1, frame[5])
        with self._deliveries_lock:
            delivery = self._deliveries.pop(key, None)
        if delivery is None or self._controller.claim(delivery):
            return True
        self.answered_elsewhere += 1
        return False

    def check_listening(self) -> None:
        """Raise BusError once the bus no longer delivers frames to this host."""
        if self._target is not None and self._target.lost is not None:
            raise BusError(
                f"the virtual bus at {self.socket_path} closed the connection "
                f"({self._target.lost}); frames to 0x{self.slave_address:02x} are not received"
            )

    def _fresh_sequence(self) -> int:
        """The next of a block of SEQ_BLOCK numbers drawn from the bus's shared counter at
        once (one bus round trip per block, not per request); a block not used up
        within SEQ_BLOCK_LIFETIME is dropped, so a number is never used long after the
        bus gave it out (another process's numbers come round again 64 later). Numbers
        held back after an unanswered try (HoldsSequences) are skipped."""
        if self._controller is None:
            self.open()
        now = time.monotonic()
        if not self._seq_left or now - self._seq_drawn > SEQ_BLOCK_LIFETIME:
            self._seq_next = self._controller.next_seq(self.slave_address, SEQ_BLOCK)
            self._seq_left, self._seq_drawn = SEQ_BLOCK, now
        seq, self._seq_next = self._seq_next, (self._seq_next + 1) % 64
        self._seq_left -= 1
        return seq

    broadcast_next = False  # set by Satellite.broadcast_get_device_id for one frame

    def send_frame(self, frame: bytes) -> None:
        self._logger.debug("IPMB TX [%s]", bytes(frame).hex(" "))
        if self._controller is None:
            self.open()
        addr7 = frame[0] >> 1
        answer = is_response(frame)
        if answer and not self._may_answer(frame):
            return  # another host process answers that request
        if self.poller:
            self.poller.watch(addr7, self.timeout * (self.max_retries + 1) + 1.0)
        if self.broadcast_next:
            self._controller.write(0x00, frame)
            return
        if answer:
            write_answer(self, lambda: self._write(addr7, frame[1:]))
        else:
            write_retrying_nack(lambda: self._write(addr7, frame[1:]))

    def _write(self, addr7: int, data: bytes) -> None:
        n = self._controller.write(addr7, data)
        if n != len(data):
            raise BusError(f"IPMB 0x{addr7 << 1:02x} NACKed byte {n + 1} of the frame")

    def _read_frame(self, timeout: float) -> bytes | None:
        return self.poller.read_frame(timeout) if self.poller else None

    def _wakeup_receiver(self) -> None:
        if self.poller:
            self.poller.wake()

    def close(self) -> None:
        self._stop_receiver()
        if self._target:
            self._target.close()
            self._target = None
        if self._controller:
            self._controller.close()
            self._controller = None
        super().close()
