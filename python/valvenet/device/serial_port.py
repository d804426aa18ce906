"""Serial transport: a real NUCLEO-F767ZI through the ST-LINK virtual COM port (USART3).

The board runs whatever firmware it was flashed with (``python -m valvenet.device.flash``
programs and resets it). Opening the port does not reset the board, so the banner the
firmware printed at boot has usually gone by: ``start()`` discards stale input and callers
talk to the command loop directly (or reset the board after opening the port).
"""

from __future__ import annotations

import os

from valvenet.device.transport import Transport, TransportError

DEFAULT_BAUD = 921600


def _import_serial():
    try:
        import serial  # pyserial
    except ImportError as exc:
        raise TransportError(
            "pyserial is not installed: it is in requirements.lock (run ./bazelw once, or "
            "pip install pyserial in the project's .venv)"
        ) from exc
    return serial


class SerialTransport(Transport):
    """A serial port (or a pyserial URL such as ``socket://host:port``) at a fixed baud rate."""

    def __init__(self, port: str, baudrate: int = DEFAULT_BAUD, write_timeout: float = 10.0) -> None:
        if not port:
            raise TransportError("serial target needs a port, e.g. serial:/dev/ttyACM0@921600")
        if baudrate <= 0:
            raise TransportError(f"invalid baud rate {baudrate}")
        self.port = port
        self.baudrate = baudrate
        self.write_timeout = write_timeout
        self._serial = None

    @classmethod
    def from_spec(cls, spec: str) -> "SerialTransport":
        """Parse ``PORT[@BAUD]``, e.g. ``/dev/ttyACM0@921600`` or ``/dev/ttyACM0``."""
        port, sep, baud = spec.rpartition("@")
        if not sep:
            return cls(spec)
        if not baud.isdigit():
            raise TransportError(f"invalid serial spec {spec!r}: expected PORT[@BAUD], BAUD a number")
        return cls(port, int(baud))

    def __repr__(self) -> str:
        return f"SerialTransport({self.port!r}, {self.baudrate})"

    def start(self) -> None:
        serial = _import_serial()
        is_url = "://" in self.port
        if not is_url and not os.path.exists(self.port):
            raise TransportError(
                f"serial port {self.port} does not exist (is the board plugged in? the NUCLEO's "
                "ST-LINK usually appears as /dev/ttyACM0; ls /dev/serial/by-id/)"
            )
        try:
            handle = serial.serial_for_url(
                self.port,
                baudrate=self.baudrate,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=0,
                write_timeout=self.write_timeout,
                do_not_open=True,
            )
            if not is_url:
                handle.exclusive = True  # a second program on the same port garbles both
            handle.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"cannot open serial port {self.port} at {self.baudrate} baud: {exc}") from exc
        self._serial = handle
        try:
            handle.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise TransportError(f"serial port {self.port} failed: {exc}") from exc

    def _handle(self):
        if self._serial is None:
            raise TransportError("serial transport is not started")
        return self._serial

    def write(self, data: bytes) -> None:
        handle = self._handle()
        serial = _import_serial()
        try:
            handle.write(data)
            handle.flush()
        except serial.SerialTimeoutException as exc:
            raise TransportError(f"serial write to {self.port} timed out after {self.write_timeout} s") from exc
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"serial port {self.port} failed: {exc}") from exc

    def read(self, max_bytes: int, timeout: float) -> bytes:
        handle = self._handle()
        serial = _import_serial()
        if max_bytes <= 0:
            return b""
        try:
            # Block for the first byte (up to timeout), then take whatever else is waiting.
            handle.timeout = max(timeout, 0.0)
            first = handle.read(1)
            if not first:
                return b""
            waiting = handle.in_waiting
            rest = handle.read(min(waiting, max_bytes - 1)) if waiting and max_bytes > 1 else b""
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"serial port {self.port} failed: {exc}") from exc
        return first + rest

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:  # closing a port whose device vanished must not raise
                pass
            self._serial = None

