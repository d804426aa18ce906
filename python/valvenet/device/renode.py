"""Renode transport: runs the NUCLEO-F767ZI firmware ELF in Renode and talks to its USART3.

How it works:

* A small launcher script in a temporary directory sets ``$bin`` (the ELF) and
  ``$uart_port`` (a free TCP port), includes ``sim/renode/valvenet.resc`` and ends with
  ``start``. ``renode --disable-xwt --console --plain launcher.resc`` runs it headless
  (``--disable-xwt``: no GUI; ``--console``: the Monitor on stdin/stdout instead of a
  window; ``--plain``: no colour codes in the log).
* Renode exits when the standard input of ``--console`` reaches end of file, so stdin is a
  pipe that stays open for the life of the transport; ``close()`` sends ``quit`` and only
  then closes it. The Monitor's output and Renode's log go to a temporary file, quoted in
  error messages.
* ``valvenet.resc`` exposes USART3 with ``emulation CreateServerSocketTerminal PORT "uart"
  false``. The socket carries exactly the UART's bytes: Renode's own banner and log go to
  its stdout, never to the socket; nothing is echoed back by Renode (the Robot keyword
  ``Write Line To Uart`` waits for an echo only because it expects the *firmware* to echo
  typed lines; ValveNet's command loop does not). Bytes the firmware prints before the
  client connects are queued by Renode and delivered on connect.
* With ``true`` (Renode's default) the terminal would first send a 12-byte telnet
  negotiation and then consume the client's first 9 bytes as the answer. The script passes
  ``false``; if a Renode build ignored that, this transport drops the negotiation and sends
  the 9-byte answer itself, so either way only firmware bytes reach the caller.
* The USART3 model drops bytes that arrive before the firmware has enabled the receiver:
  wait for the banner before writing (``Console.wait_for_line``).
* The DWT cycle counter in the Renode platform follows virtual time (about one count per
  executed instruction), not real cycles: cycle numbers come from the board only.
* Renode runs with ``XDG_CONFIG_HOME`` in the run's temporary directory: it locks and
  writes ``~/.config/renode/config.lock`` and ``history`` at start, and a Bazel test's home
  is read-only in the linux-sandbox (``--config`` alone does not move them).
* Before the first launch ``renode --version`` must say 1.16.1 or newer
  (``renode_version.py`` says why); an older Renode fails with that message.
* The socket terminal listens on all interfaces (Renode's ``SocketServerProvider`` binds
  ``IPAddress.Any``; no option binds the loopback): while a run lasts, the firmware console
  is reachable from the network on ``self.port`` (docs/usage.md, "Renode").
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from valvenet import paths
from valvenet.device import renode_version
from valvenet.device.emulator import EmulatorTransport
from valvenet.device.transport import TransportError

RENODE_BINARY = "renode"

# Relative location of the Renode script (and the platform next to it) in the repository.
RESC_RELATIVE = Path("sim") / "renode" / "valvenet.resc"
PLATFORM_NAME = "stm32f767.repl"

# What ServerSocketTerminal sends first in telnet mode, and what a telnet client answers
# (IAC WILL BINARY, IAC DO ECHO, IAC DO SUPPRESS-GO-AHEAD; Renode reads exactly 9 bytes).
TELNET_NEGOTIATION = bytes([255, 253, 0, 255, 251, 1, 255, 251, 3, 255, 252, 34])
TELNET_ANSWER = bytes([255, 251, 0, 255, 253, 1, 255, 253, 3])

# Launch attempts when the chosen UART port is taken before Renode binds it.
PORT_ATTEMPTS = 3

# How the Monitor reports a command it could not run (the launcher keeps going, so these
# are spotted in the log to fail fast instead of waiting for the UART socket).
_MONITOR_ERROR = re.compile(
    r"There was an error executing command|No such command or device|Could not tokenize|"
    r"Error E\d+:"
)


# Renode versions already checked, by executable path (every Robot test starts a target).
_CHECKED_VERSIONS: dict[str, tuple[int, int, int]] = {}


def renode_available() -> str | None:
    """The path of ``renode`` on PATH, or None when Renode is not installed."""
    return shutil.which(RENODE_BINARY)


def require_version(renode: str) -> tuple[int, int, int]:
    """The version of the Renode at ``renode``, once per path; TransportError with the reason
    when it is older than renode_version.MINIMUM, prints no version or does not start."""
    if renode not in _CHECKED_VERSIONS:
        try:
            _CHECKED_VERSIONS[renode] = renode_version.installed_version(renode)
        except renode_version.RenodeVersionError as exc:
            raise TransportError(str(exc)) from exc
    return _CHECKED_VERSIONS[renode]


def find_resc() -> Path:
    """Locate ``sim/renode/valvenet.resc`` with its platform file beside it (in the source
    roots of valvenet.paths: the device library carries //sim/renode as data)."""
    root = paths.find(RESC_RELATIVE, RESC_RELATIVE.parent / PLATFORM_NAME)
    if root is None:
        raise TransportError(
            "cannot find sim/renode/valvenet.resc next to stm32f767.repl; set VALVENET_ROOT to the "
            "repository root (or add //sim/renode files as data of the Bazel target). Tried: "
            + ", ".join(str(r / RESC_RELATIVE) for r in paths.source_roots())
        )
    return root / RESC_RELATIVE


def _monitor_path(path: Path) -> str:
    """A Monitor path token: ``@`` and the absolute path, spaces escaped as the Monitor wants."""
    return "@" + str(path.absolute()).replace(" ", "\\ ")


def _free_port() -> int:
    """A TCP port free on all interfaces (Renode binds its socket terminal to 0.0.0.0, and
    offers no option to bind the loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("0.0.0.0", 0))
        return probe.getsockname()[1]


class RenodeTransport(EmulatorTransport):
    """Starts Renode on a NUCLEO-F767ZI firmware ELF and connects to USART3 over TCP."""

    EMULATOR = "Renode"

    def __init__(
        self,
        firmware: str | os.PathLike[str],
        connect_timeout: float = 60.0,
        resc: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(firmware, connect_timeout)
        self._resc = Path(resc) if resc is not None else None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._log_path: Path | None = None
        self._log = None
        self._head = bytearray()  # first bytes from the socket, until telnet is ruled out
        self._checking_telnet = True
        self.port: int | None = None

    # -- launching -----------------------------------------------------------------------

    def launcher_script(self, resc: Path, port: int) -> str:
        """The Monitor script Renode runs (also useful to reproduce a run by hand)."""
        return (
            f"$bin={_monitor_path(self.firmware)}\n"
            f"$uart_port={port}\n"
            f"include {_monitor_path(resc)}\n"
            "start\n"
        )

    def command_line(self, launcher: Path) -> list[str]:
        """The Renode command line used, for logs and for reproducing a run by hand."""
        renode = renode_available() or RENODE_BINARY
        return [renode, "--disable-xwt", "--console", "--plain", str(launcher)]

    def start(self) -> None:
        self._check_firmware()
        renode = renode_available()
        if renode is None:
            raise TransportError(
                "renode not found on PATH: install Renode "
                f"{renode_version.format_version(renode_version.MINIMUM)} or newer (https://renode.io; "
                "e.g. the portable renode-<version>.linux-portable-dotnet.tar.gz from "
                "https://github.com/renode/renode/releases, unpacked and added to PATH) or use "
                "--target qemu"
            )
        require_version(renode)
        resc = self._resc if self._resc is not None else find_resc()
        if not resc.is_file():
            raise TransportError(f"{resc}: Renode script not found")
        # The free port is picked here and bound by Renode a moment later; another program
        # (a parallel test) can take it in between. Renode then fails to create the socket
        # terminal ("Address already in use"), and a new port is tried.
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._launch(resc)
                return
            except TransportError as exc:
                if attempt == PORT_ATTEMPTS or "already in use" not in str(exc):
                    raise

    def _launch(self, resc: Path) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="valvenet-renode-")
        workdir = Path(self._workdir.name)
        self.port = _free_port()
        launcher = workdir / "launch.resc"
        launcher.write_text(self.launcher_script(resc, self.port), encoding="utf-8")
        self._log_path = workdir / "renode.log"
        self._log = open(self._log_path, "wb")
        config_home = workdir / "config"
        config_home.mkdir()
        try:
            self._process = subprocess.Popen(
                self.command_line(launcher),
                stdin=subprocess.PIPE,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=renode_version.renode_environment(str(config_home)),
                # Own process group: the renode launcher may be a shell script that starts
                # the runtime as a child, and close() must stop both.
                start_new_session=True,
            )
        except OSError as exc:
            self.close()
            raise TransportError(f"cannot start renode: {exc}") from exc
        try:
            self._connected(self._connect(self.port))
        except TransportError:
            self.close()
            raise
        self._head.clear()
        self._checking_telnet = True

    def _connect(self, port: int) -> socket.socket:
        """Connect to the UART socket, retrying until Renode has created it."""
        deadline = time.monotonic() + self.connect_timeout
        last_error: OSError | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise TransportError(
                    f"renode exited with status {self._process.returncode} before the UART socket "
                    f"opened; {self.renode_output()}"
                )
            output = self.renode_output(limit=None)
            if _MONITOR_ERROR.search(output):
                raise TransportError(f"renode could not run {RESC_RELATIVE}: {self.renode_output()}")
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=2.0)
            except OSError as exc:  # refused until CreateServerSocketTerminal has run
                last_error = exc
                time.sleep(0.2)
        raise TransportError(
            f"no connection to Renode's USART3 socket on port {port} within "
            f"{self.connect_timeout:.0f} s ({last_error}); {self.renode_output()}"
        )

    def emulator_output(self) -> str:
        return self.renode_output()

    def renode_output(self, limit: int | None = 4000) -> str:
        """Renode's console output so far (the last ``limit`` characters)."""
        if self._log_path is None or not self._log_path.is_file():
            return ""
        text = self._log_path.read_bytes().decode("utf-8", errors="replace")
        if limit is not None and len(text) > limit:
            text = "..." + text[-limit:]
        return text.strip()

    # -- byte stream -----------------------------------------------------------------------

    def _received(self, data: bytes) -> bytes:
        return self._strip_telnet_negotiation(data) if self._checking_telnet else data

    def _strip_telnet_negotiation(self, data: bytes) -> bytes:
        """Drop Renode's telnet negotiation if it opens the stream (see module docstring)."""
        self._head += data
        head = bytes(self._head)
        if len(head) < len(TELNET_NEGOTIATION) and TELNET_NEGOTIATION.startswith(head):
            return b""  # could still be the negotiation: wait for the rest
        self._checking_telnet = False
        self._head.clear()
        if head.startswith(TELNET_NEGOTIATION):
            assert self._socket is not None
            self._socket.sendall(TELNET_ANSWER)
            return head[len(TELNET_NEGOTIATION):]
        return head

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        self._close_socket()
        if self._process is not None:
            self._stop_process(self._process)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
            self._log_path = None

    @staticmethod
    def _stop_process(process: subprocess.Popen[bytes]) -> None:
        """Ask Renode to quit, then terminate and finally kill its process group."""
        if process.poll() is None and process.stdin is not None:
            try:
                process.stdin.write(b"quit\n")
                process.stdin.close()  # end of input also makes --console Renode exit
            except OSError:
                pass
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        elif process.stdin is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                break
            try:
                os.killpg(process.pid, sig)  # the group started for this process only
            except ProcessLookupError:
                break
            except PermissionError:
                process.send_signal(sig)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                continue
        if process.poll() is None:
            process.wait()
        # A runtime child left behind by a launcher script that already exited.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
