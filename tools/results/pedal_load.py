"""The pedal's load per model, measured in QEMU: every model of an image through the real-time
block loop (software source, the image's cabinet) at 44.1 and 48 kHz.

    ./bazelw build //firmware:test_mps2_an500
    PYTHONPATH=python .venv/bin/python tools/results/pedal_load.py bazel-bin/firmware/test_mps2_an500.elf --block 32

QEMU's timer paces the blocks at the STM32F767's cycle budget (216 MHz) counted in
instructions, so the load is instructions over that budget: a model at or under 100 % keeps
every deadline in the emulator, and on the board if its cycles per instruction stay at or
under 1 (docs/profile.md estimates them per model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from valvenet.device.console import Console
from valvenet.device.protocol import Client
from valvenet.device.targets import open_transport


def measure(firmware: Path, block: int, seconds: float) -> list[dict[str, object]]:
    rows = []
    with open_transport("qemu", firmware) as transport:
        console = Console(transport)
        console.wait_for_line(r"^ValveNet ", 60.0)
        client = Client(console)
        for index in range(client.info().model_count):
            info = client.select(index)
            for rate in (44100, 48000):
                blocks = int(seconds * rate / block)
                stream = client.audio_start("software", rate, block, blocks, any_rate=True)
                stats = client.wait_stream_end(timeout=120.0)
                rows.append({"model": info.name, "rate": rate, "block": block, "taps": stream.cabinet_taps,
                             "per_sample": stats["load_avg_ppm"] / 1e6 * stream.period_counts / block,
                             "load_avg": stats["load_avg_ppm"] / 1e6, "load_max": stats["load_max_ppm"] / 1e6,
                             "missed": stats["audio_missed"], "blocks": blocks})
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| model | rate | block | cabinet taps | instructions/sample | load avg | load max | missed / blocks |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['rate']} | {r['block']} | {r['taps']} | {r['per_sample']:,.0f} | "
                     f"{100 * r['load_avg']:.1f} % | {100 * r['load_max']:.1f} % | {r['missed']:,} / {r['blocks']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("firmware", type=Path)
    parser.add_argument("--block", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    print(table(measure(args.firmware, args.block, args.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
