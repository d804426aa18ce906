"""Robot Framework keyword library: one API over every firmware target.

The same suites run on QEMU (mps2-an500), Renode (NUCLEO-F767ZI image) and a real
NUCLEO-F767ZI on a serial port; only ${TARGET} changes. Transports come from
valvenet.device, the same code the `valvenet` command uses.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn

import valvenet
from valvenet.device import Console, Transport, TransportError, open_transport

BANNER_PATTERN = (
    r"^ValveNet (?P<version>\S+) rev=(?P<rev>\S+) board=(?P<board>\S+) clock=(?P<clock>\d+) "
    r"compiler=(?P<compiler>\S+) counter=(?P<counter>\S+)$"
)

# The board each target runs: QEMU emulates the mps2-an500; Renode and a real board run
# the NUCLEO-F767ZI image.
EXPECTED_BOARD = {"qemu": "mps2_an500", "renode": "nucleo_f767zi", "serial": "nucleo_f767zi"}


class ValveNetTarget:
    """Starts a firmware target, reads its banner and sends console commands."""

    ROBOT_LIBRARY_SCOPE = "TEST"

    def __init__(self) -> None:
        self._kind = ""
        self._transport: Transport | None = None
        self._console: Console | None = None

    def start_target(self, target: str, firmware: str = "") -> None:
        """Start ``qemu``, ``renode`` or ``serial`` with the given firmware ELF.

        ``serial`` uses the port in VALVENET_SERIAL_PORT and flashes the firmware first
        unless VALVENET_FLASH_TOOL is ``none``. ``renode`` skips the test with the reason
        when Renode is not installed.
        """
        self._kind = target
        if target == "renode":
            from valvenet.device.renode import renode_available

            if renode_available() is None:
                BuiltIn().skip("Renode is not installed here (renode/renode-test not on PATH)")
        if target == "serial":
            spec = os.environ.get("VALVENET_SERIAL_PORT")
            if not spec:
                raise AssertionError("target serial needs VALVENET_SERIAL_PORT (e.g. /dev/ttyACM0)")
            self._flash_if_asked(firmware)
            transport = open_transport("serial:" + spec)
        else:
            transport = open_transport(target, firmware or None)
        transport.start()
        self._transport = transport
        self._console = Console(transport)

    def _flash_if_asked(self, firmware: str) -> None:
        tool = os.environ.get("VALVENET_FLASH_TOOL", "auto")
        if tool == "none" or not firmware:
            return
        from valvenet.device.flash import flash_board

        flash_board(Path(firmware), tool)

    def stop_target(self) -> None:
        """Stop the target (emulator process or serial port) and log its console."""
        if self._console is not None:
            logger.info("console:\n" + "\n".join(self._console.history))
        if self._transport is not None:
            self._transport.close()
        self._transport = None
        self._console = None

    def _require_console(self) -> Console:
        if self._console is None:
            raise AssertionError("no target started")
        return self._console

    def wait_for_banner(self, timeout: float = 30.0) -> dict[str, str]:
        """Wait for the banner line and return its fields (version, rev, board, ...).

        On a board that was already running, ask for it with ``info`` instead.
        """
        console = self._require_console()
        if self._kind == "serial":
            self._transport.write(b"\ninfo\n")
            match = console.wait_for_line(r"^OK " + BANNER_PATTERN[1:], float(timeout))
        else:
            match = console.wait_for_line(BANNER_PATTERN, float(timeout))
        fields = match.groupdict()
        logger.info(f"banner: {fields}")
        return fields

    def send_command(self, command: str, timeout: float = 10.0) -> str:
        """Send one console command and return its one-line reply."""
        reply = self._require_console().command(command, float(timeout))
        logger.info(f"{command!r} -> {reply!r}")
        return reply

    def send_raw(self, data: str) -> None:
        """Send text exactly as given (no newline added): for malformed-input tests."""
        if self._transport is None:
            raise AssertionError("no target started")
        self._transport.write(data.encode("latin-1"))

    def read_reply(self, timeout: float = 10.0) -> str:
        """Read the next console line."""
        return self._require_console().read_line(float(timeout))

    def expected_board(self) -> str:
        """The board name the current target's firmware must report."""
        return EXPECTED_BOARD[self._kind]

    def project_version(self) -> str:
        """The Python package's version, which the firmware banner must repeat."""
        return valvenet.__version__

    def parse_fields(self, reply: str) -> dict[str, str]:
        """Parse ``key=value`` pairs of a reply line into a dictionary."""
        return dict(re.findall(r"(\w+)=(\S+)", reply))

    def target_should_exit_with(self, code: int, timeout: float = 10.0) -> None:
        """Wait for the emulator to end by itself and check the firmware's exit code."""
        wait = getattr(self._transport, "wait", None)
        if wait is None:
            raise AssertionError(f"target {self._kind} does not report exit codes")
        try:
            actual = wait(float(timeout))
        except TransportError as exc:
            raise AssertionError(str(exc)) from exc
        if actual != int(code):
            raise AssertionError(f"firmware exited with {actual}, expected {code}")
