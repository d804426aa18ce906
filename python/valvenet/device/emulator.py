"""What the emulator transports share: a firmware ELF run by an emulator process whose UART is
a TCP socket on this machine.

QEMU (qemu.py) and Renode (renode.py) differ in how they are launched, where their console
output goes and how they stop; reading and writing the UART socket, and reporting the
emulator's output when the link fails, are the same and live here.
"""

from __future__ import annotations

import abc
import os
import select
import socket
import subprocess
from pathlib import Path

from valvenet.device.transport import Transport, TransportError


class EmulatorTransport(Transport):
    """A firmware image in an emulator process, reached through a TCP socket UART."""

    EMULATOR = "emulator"  # the name in error messages

    def __init__(self, firmware: str | os.PathLike[str], connect_timeout: float) -> None:
        self.firmware = Path(firmware)
        self.connect_timeout = connect_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None

    @abc.abstractmethod
    def emulator_output(self) -> str:
        """The emulator's console output so far, quoted when the link fails."""

    def _check_firmware(self) -> None:
        if not self.firmware.is_file():
            raise TransportError(f"{self.firmware}: firmware image not found")

    def _connected(self, sock: socket.socket) -> None:
        """Keep the UART socket (no Nagle delay: frames are small and latency-bound)."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket = sock

    def _received(self, data: bytes) -> bytes:
        """Hook for bytes just read from the socket, before the caller sees them."""
        return data

    def write(self, data: bytes) -> None:
        if self._socket is None:
            raise TransportError(f"{self.EMULATOR} transport is not started")
        try:
            self._socket.sendall(data)
        except OSError as exc:
            raise TransportError(f"{self.EMULATOR} UART socket closed: {exc}; {self.emulator_output()}") from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        if self._socket is None:
            raise TransportError(f"{self.EMULATOR} transport is not started")
        ready, _, _ = select.select([self._socket], [], [], max(timeout, 0.0))
        if not ready:
            return b""
        try:
            data = self._socket.recv(max_bytes)
        except OSError as exc:
            raise TransportError(f"{self.EMULATOR} UART socket failed: {exc}; {self.emulator_output()}") from exc
        if not data:
            raise TransportError(f"{self.EMULATOR} closed the UART socket (exit status {self.exit_code()}); "
                                 f"{self.emulator_output()}")
        return self._received(data)

    def exit_code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
