"""`bazel run //:demo`: the whole ValveNet path on the built-in example, end to end.

Today (build spine): both firmware images are built by Bazel; the QEMU one boots, its
banner and a work-counter measurement are printed, then the real-time budget of the
STM32F767 at 216 MHz. Later stages (dataset, training, model firmware) extend this.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from valvenet.device import Console, TransportError, open_transport

CORE_CLOCK_HZ = 216_000_000
SAMPLE_RATES_HZ = (44_100, 48_000)


def budget_table(clock_hz: int = CORE_CLOCK_HZ) -> list[tuple[int, float, float]]:
    """Rows of (sample rate, cycles per sample, microseconds per sample) at clock_hz."""
    return [(rate, clock_hz / rate, 1e6 / rate) for rate in SAMPLE_RATES_HZ]


def memory_rows(size_report: str) -> list[str]:
    """The per-region lines of a firmware size report (header included)."""
    rows = size_report.split("\n\n")[1] if "\n\n" in size_report else ""
    return rows.splitlines()


def boot_and_report(target: str, firmware: Path) -> int:
    """Boot the firmware, print its banner and one measured command; return an exit code."""
    print(f"Booting {firmware.name} on {target} ...")
    try:
        with open_transport(target, firmware) as transport:
            console = Console(transport)
            if target.startswith("serial:"):
                transport.write(b"\ninfo\n")
                banner = console.wait_for_line(r"^OK ValveNet ", 10.0).string[3:]
            else:
                banner = console.wait_for_line(r"^ValveNet ", 30.0).string
            print(f"  firmware says: {banner}")
            reply = console.command("count 100000")
            print(f"  work counter:  {reply}")
    except TransportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__.splitlines()[0])
    parser.add_argument("--qemu-firmware", type=Path, required=True, help="mps2-an500 ELF")
    parser.add_argument("--nucleo-firmware", type=Path, required=True, help="NUCLEO-F767ZI ELF")
    parser.add_argument("--target", default="qemu", help="qemu (default) or serial:PORT for a flashed board")
    args = parser.parse_args(argv)

    print("ValveNet demo")
    for label, image in (("QEMU mps2-an500", args.qemu_firmware), ("NUCLEO-F767ZI", args.nucleo_firmware)):
        size_report = image.with_suffix(".size.txt")
        print(f"  built {label:16s} {image}")
        if size_report.is_file():
            for line in memory_rows(size_report.read_text()):
                print(f"      {line}")
    firmware = args.qemu_firmware if args.target == "qemu" else args.nucleo_firmware
    status = boot_and_report(args.target, firmware)

    print(f"Real-time budget of the STM32F767 at {CORE_CLOCK_HZ / 1e6:.0f} MHz:")
    for rate, cycles, micros in budget_table():
        print(f"  {rate / 1000:.1f} kHz: {cycles:,.0f} cycles per sample ({micros:.2f} us)")
    print("  (QEMU counts instructions, not cycles: a Cortex-M7 dual-issues, so board cycles differ.)")
    return status


if __name__ == "__main__":
    sys.exit(main())
