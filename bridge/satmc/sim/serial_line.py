"""The simulated board's USB serial: the firmware's stdin/stdout on a pty and a TCP port.

    line = SerialLine(write_to_firmware)
    line.pty_path        # /dev/pts/N: ipmitool -I serial-basic -D /dev/pts/N:115200
    line.socket_url      # socket://127.0.0.1:PORT for pyserial
    line.from_firmware(data)

Like a real serial line, what nobody reads is lost rather than blocking the board: the
pty and the TCP clients are written without blocking. Bytes from the pty and from TCP
clients go to the firmware's stdin in arrival order.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import tty
from collections.abc import Callable


class SerialLine:
    def __init__(self, to_firmware: Callable[[bytes], None]):
        self.to_firmware = to_firmware
        self.bytes_to_firmware = 0  # bytes on the line each way, for wire-time figures
        self.bytes_from_firmware = 0
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # binary-clean until a client sets its own mode
        os.set_blocking(self._master, False)
        self.pty_path = os.ttyname(self._slave)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(4)
        self.port = self._listener.getsockname()[1]
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._relay, name="serial-line", daemon=True)
        self._thread.start()

    @property
    def socket_url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def from_firmware(self, data: bytes) -> None:
        self.bytes_from_firmware += len(data)
        try:
            os.write(self._master, data)
        except (BlockingIOError, OSError):
            pass  # nobody reads the pty and its buffer is full: the bytes are gone
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            try:
                c.send(data, socket.MSG_DONTWAIT)
            except OSError:
                pass

    def _relay(self) -> None:
        while True:
            with self._lock:
                clients = list(self._clients)
            fds = [self._master, self._listener, self._stop_r, *clients]
            try:
                ready, _, _ = select.select(fds, [], [])
            except (OSError, ValueError):
                return
            if self._stop_r in ready:
                return
            for f in ready:
                if f is self._listener:
                    conn, _ = self._listener.accept()
                    with self._lock:
                        self._clients.append(conn)
                elif f == self._master:
                    try:
                        data = os.read(self._master, 4096)
                    except (BlockingIOError, OSError):
                        continue
                    if data:
                        self.bytes_to_firmware += len(data)
                        self.to_firmware(data)
                else:
                    try:
                        data = f.recv(4096)
                    except OSError:
                        data = b""
                    if data:
                        self.bytes_to_firmware += len(data)
                        self.to_firmware(data)
                    else:
                        with self._lock:
                            self._clients.remove(f)
                        f.close()

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(2)
        for c in self._clients:
            c.close()
        self._listener.close()
        for fd in (self._master, self._slave, self._stop_r, self._stop_w):
            os.close(fd)
