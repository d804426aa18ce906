"""Which Renode is installed, and whether it can run the ValveNet NUCLEO-F767ZI platform.

Why a minimum: Renode before 1.16.1 cannot run this project's image. Up to 1.16.0 the Python
peripherals of ``sim/renode/stm32f767.repl`` see ``request.offset``/``value``/``isInit``
(1.16.1: ``Offset``/``Value``/``IsInit``), so Renode stops with a fatal error at boot; its CPU
model lacks VMINNM/VMAXNM/VRINTM (what ``fminf``/``fmaxf``/``floorf`` become on FPv5) until
1.16.1, so the firmware takes an undefined-instruction fault and the watchdog resets it every
2 s; and its DWT cycle counter advances per instruction only from 1.16.0. A run on an older
Renode fails with this module's message instead of a boot that never ends.

No imports from the rest of ValveNet: the GitHub job runs this file with the system Python
(``python3 python/valvenet/device/renode_version.py``) to fail before the tests start.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

MINIMUM = (1, 16, 1)

# "Renode v1.16.1.0", "Renode, version 1.15.1.27404 (abcdef12-202412011200)",
# "1.17.0 (1.17.0+20260907gitf1dd1b4af)": the first dotted number with three parts.
_VERSION = re.compile(r"(?<![\d.])v?(\d+)\.(\d+)\.(\d+)")

# `renode --version` of the portable .NET package starts the runtime: seconds on a busy machine.
VERSION_TIMEOUT_S = 120.0


class RenodeVersionError(RuntimeError):
    """Renode is missing, does not start, or is older than MINIMUM."""


def format_version(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def parse_version(output: str) -> tuple[int, int, int] | None:
    """The (major, minor, patch) that ``renode --version`` printed, or None when it printed
    none."""
    lines = output.splitlines()
    for line in [line for line in lines if "renode" in line.lower()] + lines:  # Renode's own line first
        match = _VERSION.search(line)
        if match is not None:
            return int(match.group(1)), int(match.group(2)), int(match.group(3))
    return None


def check_version(output: str, minimum: tuple[int, int, int] = MINIMUM) -> tuple[int, int, int]:
    """The version in ``renode --version``'s output; RenodeVersionError, saying what to
    install, when there is none or it is older than ``minimum``."""
    version = parse_version(output)
    if version is None:
        raise RenodeVersionError(f"cannot read a version from `renode --version`: {output.strip()[:400]!r}")
    if version < minimum:
        raise RenodeVersionError(
            f"Renode {format_version(version)} is too old: ValveNet's NUCLEO-F767ZI platform needs Renode "
            f">= {format_version(minimum)} (its .repl Python peripherals use request.Offset/Value/IsInit, "
            "and the firmware's VMINNM/VMAXNM/VRINTM instructions fault in older CPU models); install "
            f"Renode {format_version(minimum)} or newer (https://github.com/renode/renode/releases)")
    return version


def renode_environment(config_home: str) -> dict[str, str]:
    """The environment Renode runs in: XDG_CONFIG_HOME points at a writable directory of this
    run, because Renode locks and writes ``$XDG_CONFIG_HOME/renode/config.lock`` and
    ``history`` at start, and a Bazel test's home is read-only in the linux-sandbox."""
    return dict(os.environ, XDG_CONFIG_HOME=config_home)


def installed_version(renode: str, minimum: tuple[int, int, int] = MINIMUM) -> tuple[int, int, int]:
    """Runs ``renode --version`` and checks it (RenodeVersionError when it does not start,
    prints no version or is too old)."""
    with tempfile.TemporaryDirectory(prefix="valvenet-renode-version-") as config_home:
        try:
            result = subprocess.run([renode, "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                                    text=True, errors="replace", timeout=VERSION_TIMEOUT_S,
                                    env=renode_environment(config_home))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RenodeVersionError(f"`{renode} --version` did not run: {exc}") from exc
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise RenodeVersionError(f"`{renode} --version` failed with status {result.returncode}: "
                                 f"{output.strip()[:400]!r}")
    return check_version(output, minimum)


def main() -> int:
    """The GitHub job's check: prints the version, exit status 1 with the reason otherwise."""
    renode = shutil.which("renode")
    if renode is None:
        print("renode not found on PATH", file=sys.stderr)
        return 1
    try:
        version = installed_version(renode)
    except RenodeVersionError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Renode {format_version(version)} at {renode} (ValveNet needs >= {format_version(MINIMUM)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
