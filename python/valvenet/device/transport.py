"""The byte-stream interface every firmware target (emulator or board) provides."""

from __future__ import annotations

import abc
import time


class TransportError(RuntimeError):
    """A target could not be started, or its link failed."""


class Transport(abc.ABC):
    """A running firmware image reached through a byte stream (its console UART).

    Concrete transports start their target in ``start()`` (launch an emulator, open a
    serial port) and stop it in ``close()``. They are context managers.
    """

    @abc.abstractmethod
    def start(self) -> None:
        """Start the target and connect to its UART; firmware boots after this call."""

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes to the firmware's UART."""

    @abc.abstractmethod
    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Return up to max_bytes received bytes, waiting at most timeout seconds.

        Returns b"" on timeout. Raises TransportError when the target has gone away.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Disconnect and stop the target. Safe to call twice."""

    def exit_code(self) -> int | None:
        """The target's exit status once it has ended by itself (emulators), else None."""
        return None

    def read_exact(self, n: int, timeout: float) -> bytes:
        """Read exactly n bytes or raise TransportError after timeout seconds."""
        deadline = time.monotonic() + timeout
        chunks = bytearray()
        while len(chunks) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportError(f"timed out after {timeout:.1f} s: got {len(chunks)} of {n} bytes")
            chunks += self.read(n - len(chunks), left)
        return bytes(chunks)

    def __enter__(self) -> "Transport":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
