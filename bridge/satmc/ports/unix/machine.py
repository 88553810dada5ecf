"""`machine` for the MicroPython unix port, backed by the satmc virtual I2C bus.

The firmware does `import machine` as on a board; on the unix port this module is
found first on MICROPYPATH, keeps everything the built-in `machine` has and adds
I2C, SoftI2C, I2CTarget, Pin, ADC, WDT, reset and IRQ masking with the semantics
of the rp2 port. It speaks the bus protocol through `vbus_wire` (satmc.vbus.wire, which
satmc.ports.unix.machine_path() stages beside it). The simulator sets:

    SATMC_VBUS     path of the bus socket
    SATMC_WIRING   pin wiring, e.g. "ipmb=0,1,2,3;board=4,5": SCL/SDA pin numbers per bus
    SATMC_VBUS_<BUS>  the socket of bus <BUS> (upper case) when it is not SATMC_VBUS's:
                   in a chassis the IPMB is the backplane's, shared by every satellite

I2CTarget IRQs arrive on a thread of their own, as hardware interrupts arrive while
the main program runs. Hard handlers run under micropython.heap_lock(), so a handler
that allocates raises MemoryError here exactly as it would on the board, and
disable_irq() keeps them out of a critical section.

On a board, an IRQ that sets an asyncio.ThreadSafeFlag wakes the scheduler at once.
The unix port's poller looks at such flag objects only once a millisecond, so this
module gives asyncio.ThreadSafeFlag a datagram socket the poller can block on
(set() stays allocation-free and IRQ-safe); the semantics are unchanged.
"""

import sys

_path = sys.path
sys.path = ()
try:
    from machine import *  # noqa: F401,F403  (the built-in module)
finally:
    sys.path = _path
    del _path

import _thread
import asyncio
import errno
import json
import os
import socket
import struct
import time

import micropython
import vbus_wire as _w

IRQ_ADDR_MATCH_READ = 1 << 0
IRQ_ADDR_MATCH_WRITE = 1 << 1
IRQ_READ_REQ = 1 << 2
IRQ_WRITE_REQ = 1 << 3
IRQ_END_READ = 1 << 4
IRQ_END_WRITE = 1 << 5
_HARD_ONLY = IRQ_ADDR_MATCH_READ | IRQ_ADDR_MATCH_WRITE | IRQ_READ_REQ | IRQ_WRITE_REQ

PWRON_RESET = 1
WDT_RESET = 3

# --- the bus connection -----------------------------------------------------------------


def _bus_path(bus=""):
    path = (bus and os.getenv("SATMC_VBUS_" + bus.upper())) or os.getenv("SATMC_VBUS")
    if not path:
        raise OSError(errno.ENODEV, "SATMC_VBUS is not set: no virtual bus to connect to")
    return path


def _wiring():
    nets = {}
    for part in (os.getenv("SATMC_WIRING") or "").split(";"):
        if "=" in part:
            name, pins = part.split("=", 1)
            for p in pins.split(","):
                if p.strip():
                    nets[int(p)] = name.strip()
    return nets


def _pin_id(pin):
    if isinstance(pin, Pin):
        return pin.id
    return int(pin)


def _net(scl, sda):
    nets = _wiring()
    a, b = nets.get(_pin_id(scl)), nets.get(_pin_id(sda))
    if a is None or a != b:
        raise ValueError("pins %s/%s are not wired to one bus" % (_pin_id(scl), _pin_id(sda)))
    return a


def _connect(role, bus):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(_unix_addr(_bus_path(bus)))
    _w.send_msg(sock, _w.HELLO, bytes((role,)) + bus.encode())
    kind, p = _w.recv_msg(sock)
    if kind != _w.STATUS or p[0] != _w.ST_ACK:
        raise OSError(errno.ENODEV, "virtual bus has no bus named %r" % bus)
    return sock


def control(op, **args):
    """A request on the simulator's control channel (board reset, stimulus).

    An error reply (a device model that failed) raises OSError(EIO), as a part that
    does not answer would."""
    sock = _connect(_w.ROLE_CONTROL, "")
    try:
        args["op"] = op
        _w.send_msg(sock, _w.CTRL, json.dumps(args).encode())
        reply = json.loads(_w.recv_msg(sock)[1])
    finally:
        sock.close()
    if "error" in reply:
        raise OSError(errno.EIO, reply["error"])
    return reply


# --- asyncio.ThreadSafeFlag that wakes the poller at once -------------------------------

_MP_STREAM_GET_FILENO = 10
_flags_made = [0]


def _unix_addr(path):
    return struct.pack("H", socket.AF_UNIX) + path.encode() + b"\0"


class _ThreadSafeFlag(asyncio.ThreadSafeFlag):
    def __init__(self):
        super().__init__()
        _flags_made[0] += 1
        path = "/tmp/.satmc-flag-%d-%d-%d" % (time.ticks_us(), _flags_made[0], id(self))
        self._rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._rx.bind(_unix_addr(path))
        self._tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._tx.connect(_unix_addr(path))
        os.unlink(path)
        self._rx.setblocking(False)
        self._tx.setblocking(False)
        self._one = b"\x01"
        self._drain = bytearray(16)

    def ioctl(self, req, flags):
        if req == _MP_STREAM_GET_FILENO:
            # Asked each time a task queues on the flag (asyncio registers it with the
            # poller), also by waits that do not go through wait() below: drop the
            # wake-ups already taken, and keep one if the flag is set.
            self._drain_wakeups()
            if self.state:
                self._wake()
            return self._rx.fileno()
        return super().ioctl(req, flags)

    def _drain_wakeups(self):
        try:
            while self._rx.readinto(self._drain):
                pass
        except OSError:
            pass

    def _wake(self):
        try:
            self._tx.send(self._one)
        except OSError:  # queue full: a wake-up is pending anyway
            pass

    def set(self):
        self.state = 1
        self._wake()

    async def wait(self):
        while not self.state:
            yield asyncio.core._io_queue.queue_read(self)
            self._drain_wakeups()
        self.state = 0


asyncio.ThreadSafeFlag = _ThreadSafeFlag


# --- hardware blocks in use ---------------------------------------------------------------

_blocks = {}  # I2C block id -> "controller" | "target"
_pins_taken = {}  # pin id -> owner description


def _claim(block, role, scl, sda):
    if block is not None:
        other = _blocks.get(block)
        if other is not None and other != role:
            raise ValueError("I2C(%d) is in use as a %s; a block cannot be both" % (block, other))
        _blocks[block] = role
    for p in (scl, sda):
        owner = _pins_taken.get(_pin_id(p))
        if owner is not None and owner != (block, role):
            raise ValueError("pin %d is already used by I2C %s" % (_pin_id(p), owner))
        _pins_taken[_pin_id(p)] = (block, role)


def _release(block, scl, sda):
    if block is not None:
        _blocks.pop(block, None)
    for p in (scl, sda):
        _pins_taken.pop(_pin_id(p), None)


# --- IRQ masking ----------------------------------------------------------------------------

_irq_lock = _thread.allocate_lock()
_irq_masked_by_main = [False]


def disable_irq():
    if _irq_masked_by_main[0]:
        return False
    deliver_edges()  # what a board's pin IRQs would have counted by now
    _irq_lock.acquire()
    _irq_masked_by_main[0] = True
    return True


def enable_irq(state=True):
    if state and _irq_masked_by_main[0]:
        _irq_masked_by_main[0] = False
        _irq_lock.release()


# --- Pin, ADC (machine_pins.py) ------------------------------------------------------------

from machine_pins import ADC, Pin, deliver_edges  # noqa: E402, F401  (needs the names above)

# --- I2C controller ----------------------------------------------------------------------------


class _Controller:
    """The bus side of machine.I2C and machine.SoftI2C (rp2 error semantics)."""

    def _open(self, block, scl, sda, freq, timeout):
        self._block, self._scl, self._sda = block, scl, sda
        self.freq, self.timeout = freq, timeout
        _claim(block, "controller", scl, sda)
        self._net = _net(scl, sda)
        self._sock = _connect(_w.ROLE_CONTROLLER, self._net)
        self._lock = _thread.allocate_lock()

    def deinit(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            _release(self._block, self._scl, self._sda)

    def _ask(self, kind, payload):
        if self._sock is None:
            raise OSError(errno.EPERM, "I2C is deinitialised")
        with self._lock:
            _w.send_msg(self._sock, kind, payload)
            return _w.recv_msg(self._sock)[1]

    _NACK_ERRNO = errno.EIO  # rp2 hardware block: an address NACK aborts with EIO

    def _check(self, st, length=1):
        if st == _w.ST_NACK:
            # Zero-length transfers go through the bit-banged path on rp2: ENODEV there.
            raise OSError(self._NACK_ERRNO if length else errno.ENODEV)
        if st == _w.ST_TIMEOUT:
            raise OSError(errno.ETIMEDOUT)
        if st != _w.ST_ACK:
            raise OSError(errno.EIO)

    def writeto(self, addr, buf, stop=True):
        p = self._ask(_w.XFER_W, bytes((addr, 1 if stop else 0)) + bytes(buf))
        self._check(p[0], len(buf))
        return p[1]

    def writevto(self, addr, vector, stop=True):
        return self.writeto(addr, b"".join(bytes(b) for b in vector), stop)

    def readfrom_into(self, addr, buf, stop=True):
        p = self._ask(_w.XFER_R, bytes((addr, len(buf), 1 if stop else 0)))
        self._check(p[0])
        buf[:] = p[1:]

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    @staticmethod
    def _memaddr(memaddr, addrsize):
        return bytes((memaddr >> s) & 0xFF for s in range(addrsize - 8, -1, -8))

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        n = self.writeto(addr, self._memaddr(memaddr, addrsize) + bytes(buf))
        if n < addrsize // 8 + len(buf):
            raise OSError(errno.EIO)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        self.writeto(addr, self._memaddr(memaddr, addrsize), False)
        self.readfrom_into(addr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def scan(self):
        found = []
        for addr in range(0x08, 0x78):
            p = self._ask(_w.XFER_W, bytes((addr, 1)))
            if p[0] == _w.ST_ACK:
                found.append(addr)
        return found


class I2C(_Controller):
    def __init__(self, id, *, scl, sda, freq=400_000, timeout=50_000):
        self._sock = None
        self._open(id, scl, sda, freq, timeout)


class SoftI2C(_Controller):
    _NACK_ERRNO = errno.ENODEV  # extmod's bit-banged I2C

    def __init__(self, scl, sda, *, freq=400_000, timeout=50_000):
        self._sock = None
        self._open(None, scl, sda, freq, timeout)


# --- I2C target ----------------------------------------------------------------------------------


class _TargetIRQ:
    def __init__(self):
        self._flags = 0

    def flags(self):
        return self._flags


class I2CTarget:
    """machine.I2CTarget: callback mode and mem mode, IRQs on the bus thread.

    Callback mode, as on rp2: IRQ_ADDR_MATCH_WRITE comes with the first data byte
    (or at the end of a zero-length write); written bytes wait in a FIFO and
    IRQ_WRITE_REQ is raised while bytes are waiting and readinto() takes them. A read
    raises IRQ_ADDR_MATCH_READ, then IRQ_READ_REQ whenever the TX FIFO is empty and
    a byte is clocked (0x00 goes out when the handler supplies none), plus one more
    IRQ_READ_REQ after the controller's final NACK, whose byte is never clocked.
    IRQ_END_WRITE / IRQ_END_READ come at STOP or repeated START.
    Mem mode: the first mem_addrsize/8 written bytes set the address, further bytes
    are stored, reads return mem from the address; both auto-increment and wrap.
    """

    IRQ_ADDR_MATCH_READ = IRQ_ADDR_MATCH_READ
    IRQ_ADDR_MATCH_WRITE = IRQ_ADDR_MATCH_WRITE
    IRQ_READ_REQ = IRQ_READ_REQ
    IRQ_WRITE_REQ = IRQ_WRITE_REQ
    IRQ_END_READ = IRQ_END_READ
    IRQ_END_WRITE = IRQ_END_WRITE

    _FIFO = 256

    def __init__(self, id, addr, *, addrsize=7, mem=None, mem_addrsize=8, scl=None, sda=None):
        if addrsize != 7:
            raise ValueError("only 7-bit target addresses are emulated")
        if mem_addrsize not in (0, 8, 16, 24, 32):
            raise ValueError("mem_addrsize must be 0, 8, 16, 24 or 32")
        if scl is None or sda is None:
            raise ValueError("the emulation needs scl= and sda= to find the bus")
        self._block, self._scl, self._sda = id, scl, sda
        _claim(id, "target", scl, sda)
        self.addr = addr
        self._mem = mem
        self._mem_addrsize = mem_addrsize
        self._mem_ptr = 0
        self._mem_addr_left = 0
        # RX and TX FIFOs are rings; the bus thread's message buffers are preallocated,
        # so steady-state traffic allocates nothing (the firmware's heap figures stay its own).
        self._rx = bytearray(self._FIFO)
        self._rx_head = 0
        self._rx_len = 0
        self._tx = bytearray(self._FIFO)
        self._tx_head = 0
        self._tx_len = 0
        self._hdr = bytearray(_w.HEADER_LEN)
        self._pay = bytearray(256)
        self._out = bytearray(_w.HEADER_LEN + 256)
        self._irq = _TargetIRQ()
        self._handler = None
        self._trigger = 0
        self._hard = False
        self._reading = False
        self._write_matched = False
        self._sock = _connect(_w.ROLE_TARGET, _net(scl, sda))
        # whole writes in one message (T_XFER): the same IRQs, one socket round trip
        _w.send_msg(self._sock, _w.T_CAPS, bytes((_w.CAP_XFER,)))
        if _w.recv_msg(self._sock)[1][0] != _w.ST_ACK:
            raise OSError(errno.ENODEV, "the virtual bus refused T_CAPS")
        _w.send_msg(self._sock, _w.ATTACH, bytes((addr,)))
        if _w.recv_msg(self._sock)[1][0] != _w.ST_ACK:
            raise OSError(errno.EADDRINUSE, "address 0x%02x is taken on the bus" % addr)
        self._running = True
        _thread.start_new_thread(self._serve, ())

    def deinit(self):
        self._running = False
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            _release(self._block, self._scl, self._sda)

    def irq(self, handler=None, trigger=IRQ_END_READ | IRQ_END_WRITE, hard=False):
        if handler is not None:
            if trigger & _HARD_ONLY and not hard:
                raise ValueError(
                    "hard IRQ required (ADDR_MATCH/READ_REQ/WRITE_REQ need hard=True)"
                )
            self._handler, self._trigger, self._hard = handler, trigger, hard
        return self._irq

    # Called by handlers (under heap_lock when hard): must not allocate.
    def readinto(self, buf):
        n = 0
        while n < len(buf) and self._rx_len:
            buf[n] = self._rx[self._rx_head]
            self._rx_head = (self._rx_head + 1) % self._FIFO
            self._rx_len -= 1
            n += 1
        return n

    def write(self, buf):
        n = 0
        while n < len(buf) and self._tx_len < self._FIFO:
            self._tx[(self._tx_head + self._tx_len) % self._FIFO] = buf[n]
            self._tx_len += 1
            n += 1
        return n

    # --- the bus thread ---

    def _fire(self, flag):
        if not self._trigger & flag:
            return
        self._irq._flags = flag
        with _irq_lock:
            if not self._hard:
                micropython.schedule(self._handler, self)
                return
            micropython.heap_lock()
            try:
                self._handler(self)
                failed = None
            except Exception as e:
                failed = e
            finally:
                micropython.heap_unlock()
        if failed is not None:  # as the board does: report once, disable the handler
            micropython.heap_unlock()  # the bus thread runs with the heap locked (_serve)
            try:
                print("Uncaught exception in I2CTarget IRQ handler; disabling it")
                sys.print_exception(failed)
            finally:
                micropython.heap_lock()
            self._handler, self._trigger = None, 0

    def _reply(self, kind, n):
        self._sock.write(self._out, 0, _w.put_header(self._out, kind, n))

    def _serve(self):
        # This thread runs beside the firmware, whose heap figures (gc.mem_alloc() deltas
        # around each request) count whatever any thread allocates meanwhile: a blocking
        # socket read here allocated now and then (256 bytes, more often under load). So
        # the loop runs with this thread's heap locked: it cannot allocate, and what
        # would have may only fail softly (an exception falls back to the emergency one).
        sock, hdr, pay, out = self._sock, self._hdr, self._pay, self._out
        micropython.heap_lock()
        try:
            while self._running:
                n = _w.recv_into(sock, hdr, pay)
                if n < 0:
                    break
                kind = hdr[0]
                if kind == _w.T_ADDR:
                    out[3] = 1 if self._on_addr(pay[1]) else 0
                    self._reply(_w.T_ACK, 1)
                elif kind == _w.T_WRITE:
                    out[3] = self._on_write(pay, n, 0)
                    self._reply(_w.T_WROTE, 1)
                elif kind == _w.T_XFER:  # T_ADDR addr 0, T_WRITE bytes, T_END in one
                    acked = 0
                    ack = self._on_addr(0)
                    if ack:
                        if n > 5:
                            acked = self._on_write(pay, n - 5, 5)
                        self._on_end()
                    out[3] = 1 if ack else 0
                    out[4] = acked
                    self._reply(_w.T_XFERRED, 2)
                elif kind == _w.T_READ:
                    self._on_read(pay[0], pay[1], out, _w.HEADER_LEN)
                    self._reply(_w.T_DATA, pay[0])
                elif kind == _w.T_END:
                    self._on_end()
                    self._reply(_w.T_DONE, 0)
        except OSError:
            pass
        except Exception as e:  # an emulation bug: say so, as a board would on its REPL
            micropython.heap_unlock()
            sys.print_exception(e)
            micropython.heap_lock()
        finally:
            micropython.heap_unlock()
        self._running = False

    def _on_addr(self, read):
        self._reading = bool(read)
        if self._reading:
            self._tx_len = 0
            self._fire(IRQ_ADDR_MATCH_READ)
        else:
            self._mem_addr_left = self._mem_addrsize // 8 if self._mem is not None else 0
            if self._mem_addr_left:
                self._mem_ptr = 0
            self._write_matched = False  # rp2 reports the match with the first data byte
        return True

    def _on_write(self, data, n, at):
        """The n written bytes data[at:at + n]; how many were ACKed."""
        if not self._write_matched:
            self._write_matched = True
            self._fire(IRQ_ADDR_MATCH_WRITE)
        if self._mem is not None:
            for i in range(at, at + n):
                if self._mem_addr_left:
                    self._mem_ptr = ((self._mem_ptr << 8) | data[i]) % len(self._mem)
                    self._mem_addr_left -= 1
                else:
                    self._mem[self._mem_ptr] = data[i]
                    self._mem_ptr = (self._mem_ptr + 1) % len(self._mem)
            return n
        accepted = 0
        for i in range(at, at + n):
            if self._rx_len == self._FIFO:
                self._fire(IRQ_WRITE_REQ)  # a full FIFO stretches SCL until the handler reads
                if self._rx_len == self._FIFO:
                    break  # never drained: NACK the rest
            self._rx[(self._rx_head + self._rx_len) % self._FIFO] = data[i]
            self._rx_len += 1
            accepted += 1
        while self._rx_len:
            before = self._rx_len
            self._fire(IRQ_WRITE_REQ)
            if self._rx_len == before:  # the handler takes nothing more for now
                break
        return accepted

    def _on_read(self, n, last_nack, out, at):
        """n bytes the controller clocks, into out[at:]."""
        if self._mem is not None:
            for i in range(n + (1 if last_nack else 0)):  # one past the NACK is fetched too
                if i < n:
                    out[at + i] = self._mem[self._mem_ptr]
                self._mem_ptr = (self._mem_ptr + 1) % len(self._mem)
            return
        for i in range(n):
            if not self._tx_len:
                self._fire(IRQ_READ_REQ)
            if self._tx_len:
                out[at + i] = self._tx[self._tx_head]
                self._tx_head = (self._tx_head + 1) % self._FIFO
                self._tx_len -= 1
            else:
                out[at + i] = 0  # nothing supplied: 0x00 goes out
        if last_nack and not self._tx_len:
            self._fire(IRQ_READ_REQ)  # rp2 asks once more after the NACK; never clocked

    def _on_end(self):
        if self._reading:
            self._tx_len = 0
            self._fire(IRQ_END_READ)
        else:
            if not self._write_matched:  # zero-length write (a scan probe)
                self._fire(IRQ_ADDR_MATCH_WRITE)
            self._fire(IRQ_END_WRITE)
            self._rx_len = 0
            self._rx_head = 0


# --- watchdog, reset, identity ---------------------------------------------------------------

_reset_cause = [
    PWRON_RESET if not os.getenv("SATMC_RESET_CAUSE") else int(os.getenv("SATMC_RESET_CAUSE"))
]


def reset_cause():
    return _reset_cause[0]


def reset():
    """Board reset: the simulator restarts this firmware process."""
    control("board_reset", reason="machine.reset")
    while True:
        time.sleep(1)


class WDT:
    MAX_TIMEOUT_MS = 8388  # rp2 hardware limit

    def __init__(self, id=0, timeout=5000):
        if not 1 <= timeout <= self.MAX_TIMEOUT_MS:
            raise ValueError("timeout must be 1..%d ms" % self.MAX_TIMEOUT_MS)
        self._timeout = timeout
        self._fed = time.ticks_ms()
        _thread.start_new_thread(self._watch, ())

    def feed(self):
        self._fed = time.ticks_ms()

    def _watch(self):
        while True:
            time.sleep_ms(min(100, self._timeout))
            if time.ticks_diff(time.ticks_ms(), self._fed) > self._timeout:
                control("board_reset", reason="watchdog", cause=WDT_RESET)
                return


class Timer:
    """A periodic or one-shot software timer.

    The callback runs on the timer's own thread: a board runs scheduled callbacks even
    while its REPL waits for input, the unix port's REPL does not, and a timer that
    keeps a watchdog fed at the REPL must fire there too.
    """

    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, *, mode=PERIODIC, period=-1, callback=None):
        self._running = False
        if callback is not None:
            self.init(mode=mode, period=period, callback=callback)

    def init(self, *, mode=PERIODIC, period=-1, callback=None):
        self.deinit()
        self._mode, self._period, self._callback = mode, max(1, period), callback
        self._running = True
        _thread.start_new_thread(self._run, ())

    def _run(self):
        while self._running:
            time.sleep_ms(self._period)
            if not self._running:
                return
            self._callback(self)
            if self._mode == Timer.ONE_SHOT:
                self._running = False

    def deinit(self):
        self._running = False


def unique_id():
    uid = os.getenv("SATMC_UNIQUE_ID") or "e66038b7135c2a2f"
    return bytes(int(uid[i : i + 2], 16) for i in range(0, len(uid), 2))


def freq(hz=None):
    return 125_000_000
