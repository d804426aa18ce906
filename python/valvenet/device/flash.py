"""Flash a NUCLEO-F767ZI with a ValveNet firmware ELF through its on-board ST-LINK.

Two tools, tried in this order by ``tool="auto"``:

* OpenOCD (Debian package ``openocd``, 0.12 in bookworm):
  ``openocd -f board/st_nucleo_f7.cfg -c "program ELF verify reset exit"``. The board file
  ships with OpenOCD (``/usr/share/openocd/scripts/board/st_nucleo_f7.cfg``: ST-LINK,
  ``hla_swd``, ``target/stm32f7x.cfg``, ``reset_config srst_only``); where it is missing the
  same setup is given as ``-f interface/stlink.cfg -f target/stm32f7x.cfg``. OpenOCD reads
  the ELF's load addresses itself, verifies the flash and resets the board.
* st-flash (Debian package ``stlink-tools``): ``st-flash --reset write IMAGE.bin 0x08000000``,
  with the binary image made by ``arm-none-eabi-objcopy -O binary`` (package
  ``binutils-arm-none-eabi``).

Run as ``python -m valvenet.device.flash ELF [--tool auto|openocd|st-flash]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from valvenet.device.transport import TransportError

FLASH_BASE = 0x08000000
FLASH_SIZE = 2 * 1024 * 1024
BOARD_CFG = "board/st_nucleo_f7.cfg"
FALLBACK_CFG = ["interface/stlink.cfg", "target/stm32f7x.cfg"]
TOOLS = ("auto", "openocd", "st-flash", "none")
TIMEOUT_S = 180.0


class FlashError(TransportError):
    """The board could not be programmed."""


def _openocd_script_dirs(openocd: str) -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get("OPENOCD_SCRIPTS"):
        dirs.append(Path(os.environ["OPENOCD_SCRIPTS"]))
    prefix = Path(openocd).resolve().parent.parent  # <prefix>/bin/openocd
    dirs.append(prefix / "share" / "openocd" / "scripts")
    dirs += [Path("/usr/share/openocd/scripts"), Path("/usr/local/share/openocd/scripts")]
    return dirs


def openocd_command(openocd: str, elf: Path) -> list[str]:
    """The OpenOCD command line that programs, verifies and resets the board."""
    if any((d / BOARD_CFG).is_file() for d in _openocd_script_dirs(openocd)):
        configs = [BOARD_CFG]
    else:
        configs = FALLBACK_CFG
    args = [openocd]
    for cfg in configs:
        args += ["-f", cfg]
    # Braces quote the path for OpenOCD's Tcl parser (spaces and the like).
    args += ["-c", f"program {{{elf.absolute()}}} verify reset exit"]
    return args


def _run(args: list[str], what: str) -> None:
    try:
        result = subprocess.run(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise FlashError(f"{what} did not finish within {TIMEOUT_S:.0f} s: {' '.join(args)}") from exc
    except OSError as exc:
        raise FlashError(f"cannot run {args[0]}: {exc}") from exc
    if result.returncode != 0:
        output = result.stdout.decode("utf-8", errors="replace").strip()
        raise FlashError(
            f"{what} failed with status {result.returncode} (is the board plugged in, and is "
            f"the ST-LINK accessible to this user?): {' '.join(args)}\n{output[-3000:]}"
        )


def _flash_openocd(openocd: str, elf: Path) -> None:
    _run(openocd_command(openocd, elf), "OpenOCD")


def _flash_st_flash(st_flash: str, elf: Path) -> None:
    objcopy = shutil.which("arm-none-eabi-objcopy")
    if objcopy is None:
        raise FlashError(
            "st-flash needs a binary image, and arm-none-eabi-objcopy is not on PATH "
            "(apt-get install binutils-arm-none-eabi)"
        )
    with tempfile.TemporaryDirectory(prefix="valvenet-flash-") as tmp:
        image = Path(tmp) / (elf.stem + ".bin")
        _run([objcopy, "-O", "binary", str(elf), str(image)], "arm-none-eabi-objcopy")
        size = image.stat().st_size
        if size == 0 or size > FLASH_SIZE:
            raise FlashError(
                f"{elf}: the binary image is {size} bytes; it must be 1..{FLASH_SIZE} bytes "
                "starting at 0x08000000 (a loadable section outside flash? use --tool openocd, "
                "which writes the ELF's segments)"
            )
        _run([st_flash, "--reset", "write", str(image), f"0x{FLASH_BASE:08X}"], "st-flash")


def flash_board(elf: Path, tool: str = "auto") -> None:
    """Program ``elf`` into the NUCLEO-F767ZI's flash, verify it and reset the board.

    ``tool`` is ``auto`` (OpenOCD, else st-flash), ``openocd``, ``st-flash`` or ``none``
    (do nothing: the board already runs the image). Raises FlashError naming what is
    missing or what failed.
    """
    elf = Path(elf)
    if tool not in TOOLS:
        raise FlashError(f"unknown flash tool {tool!r}: expected one of {', '.join(TOOLS)}")
    if tool == "none":
        return
    if not elf.is_file():
        raise FlashError(f"{elf}: firmware image not found")
    openocd = shutil.which("openocd")
    st_flash = shutil.which("st-flash")
    if tool == "openocd" or (tool == "auto" and openocd is not None):
        if openocd is None:
            raise FlashError("openocd not found on PATH (apt-get install openocd)")
        _flash_openocd(openocd, elf)
        return
    if tool == "st-flash" or (tool == "auto" and st_flash is not None):
        if st_flash is None:
            raise FlashError("st-flash not found on PATH (apt-get install stlink-tools)")
        _flash_st_flash(st_flash, elf)
        return
    raise FlashError(
        "no flashing tool: neither openocd nor st-flash is on PATH "
        "(apt-get install openocd, or stlink-tools for st-flash)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m valvenet.device.flash",
        description="Flash a NUCLEO-F767ZI with a ValveNet firmware ELF (OpenOCD or st-flash).",
    )
    parser.add_argument("elf", type=Path, help="firmware ELF, e.g. bazel-bin/firmware/nucleo_f767zi.elf")
    parser.add_argument(
        "--tool",
        choices=TOOLS,
        default=os.environ.get("VALVENET_FLASH_TOOL", "auto"),
        help="flashing tool (default: $VALVENET_FLASH_TOOL or auto = openocd, else st-flash)",
    )
    args = parser.parse_args(argv)
    try:
        flash_board(args.elf, args.tool)
    except FlashError as exc:
        print(f"flash: {exc}", file=sys.stderr)
        return 1
    if args.tool == "none":
        print("flash: tool none, nothing done")
    else:
        print(f"flash: {args.elf} programmed, verified and the board reset")
    return 0


if __name__ == "__main__":
    sys.exit(main())
