"""Line-oriented view of a transport: banner lines and text commands."""

from __future__ import annotations

import re
import time

from valvenet.device.transport import Transport, TransportError


class Console:
    """Reads lines from and sends commands to a firmware's text console.

    Keeps every line received (``history``) so a failing test can show what the
    firmware printed.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.history: list[str] = []
        self._pending = bytearray()

    def receive(self, timeout: float) -> None:
        """Append whatever arrives within timeout seconds to the shared byte buffer."""
        self._pending += self.transport.read(4096, timeout)

    @property
    def buffer(self) -> bytearray:
        """Bytes received but not yet consumed; the frame client (protocol.py) reads here too,
        so text lines and binary frames can share one link."""
        return self._pending

    def read_line(self, timeout: float) -> str:
        """Return the next complete line (without CR/LF) or raise TransportError."""
        deadline = time.monotonic() + timeout
        while True:
            newline = self._pending.find(b"\n")
            if newline >= 0:
                raw = bytes(self._pending[:newline])
                del self._pending[: newline + 1]
                line = raw.decode("utf-8", errors="replace").rstrip("\r")
                self.history.append(line)
                return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError(
                    f"no complete line within {timeout:.1f} s; partial: {bytes(self._pending)!r}"
                )
            self._pending += self.transport.read(4096, min(left, 0.5))

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        """Read lines until one matches the regular expression; return the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError(
                    f"no line matching {pattern!r} within {timeout:.1f} s; "
                    f"last lines: {self.history[-5:]}"
                )
            match = regex.search(self.read_line(left))
            if match:
                return match

    def command(self, text: str, timeout: float = 10.0) -> str:
        """Send one command line and return the firmware's one-line reply."""
        self.transport.write(text.encode("ascii") + b"\n")
        return self.read_line(timeout)
