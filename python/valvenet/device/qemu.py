"""QEMU transport: runs firmware on the mps2-an500 machine (a Cortex-M7 with FPU).

The UART goes over a TCP socket chardev. We listen first on an ephemeral port and QEMU
connects to it as a client before the CPU starts, so no byte is lost and no port race
exists. ``-icount shift=0`` makes one virtual nanosecond one instruction, which the
firmware's counter turns into exact instruction counts.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile

from valvenet.device.emulator import EmulatorTransport
from valvenet.device.transport import TransportError

QEMU_BINARY = "qemu-system-arm"


class QemuTransport(EmulatorTransport):
    """Starts ``qemu-system-arm -M mps2-an500`` on an ELF and connects to UART0."""

    EMULATOR = "QEMU"

    def __init__(self, firmware: str | os.PathLike[str], connect_timeout: float = 30.0) -> None:
        super().__init__(firmware, connect_timeout)
        self._log = None

    def command_line(self, port: int) -> list[str]:
        """The QEMU command line used, for logs and for reproducing a run by hand."""
        return [
            QEMU_BINARY,
            "-M", "mps2-an500",
            "-cpu", "cortex-m7",
            "-display", "none",
            "-monitor", "none",
            "-icount", "shift=0",
            "-semihosting-config", "enable=on,target=native",
            "-chardev", f"socket,id=uart0,host=127.0.0.1,port={port}",
            "-serial", "chardev:uart0",
            "-kernel", str(self.firmware),
        ]

    def start(self) -> None:
        self._check_firmware()
        if shutil.which(QEMU_BINARY) is None:
            raise TransportError(f"{QEMU_BINARY} not found on PATH (run ./bazelw once to install it)")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(self.connect_timeout)
        port = listener.getsockname()[1]
        self._log = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            self.command_line(port), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            self._connected(listener.accept()[0])
        except socket.timeout as exc:
            self.close()
            raise TransportError(f"QEMU did not connect to its UART socket: {self.emulator_output()}") from exc
        finally:
            listener.close()

    def emulator_output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", errors="replace").strip()

    def wait(self, timeout: float) -> int:
        """Wait for the firmware to exit by semihosting; return its exit code."""
        if self._process is None:
            raise TransportError("QEMU transport is not started")
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise TransportError(f"firmware did not exit within {timeout:.1f} s") from exc

    def close(self) -> None:
        self._close_socket()
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
