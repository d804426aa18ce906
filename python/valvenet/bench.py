"""`valvenet bench`: instructions per sample of every model in a benchmark firmware image,
measured in QEMU mps2-an500 with -icount shift=0, written as JSON and Markdown.

A benchmark, not a test: it reports and asserts nothing about speed. QEMU counts executed
instructions exactly (SysTick at 25 MHz = 40 instructions per tick); instructions are not
Cortex-M7 cycles (the M7 dual-issues; loads, VDIV and flash wait states cost more), so the
budget shares are instruction budgets, to be checked against DWT cycles on a board.
"""

from __future__ import annotations

import argparse
import errno
import json
import re
import statistics
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from valvenet import atomic
from valvenet.device import Console, open_transport
from valvenet.models import config as model_config
from valvenet.models.model_file import INT16_SUFFIX
from valvenet.models.shapes import expected_shapes

CORE_CLOCK_HZ = 216_000_000
BUDGETS = {"44.1 kHz": CORE_CLOCK_HZ / 44_100, "48 kHz": CORE_CLOCK_HZ / 48_000}
BLOCK_SIZES = (32, 48, 64)
BLOCKS = 16
RECOMPUTE = "+recompute"  # name suffix of the full receptive-field recompute baseline
VARIANT_SYMBOLS = ("_recompute", "_int16")  # the variants' symbol prefixes extend the float model's
RECOMPUTE_BLOCK = 16  # ~20 M instructions per sample: one short block is enough to measure


def symbol_sizes(elf: Path) -> dict[str, tuple[int, str]]:
    """name -> (size, section class letter) from arm-none-eabi-nm."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", "--size-sort", str(elf)], capture_output=True, text=True, check=True)
    sizes = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = (int(parts[1], 16), parts[2])
    return sizes


def flash_bytes(sizes: dict[str, tuple[int, str]], prefix: str) -> int:
    """Code and constant data of one generated model (its symbols share a prefix; the
    variants' prefixes (recompute baseline, int16 engine) extend the float model's, so they
    are kept apart)."""
    others = tuple(prefix + variant + "_" for variant in VARIANT_SYMBOLS if not prefix.endswith(variant))
    return sum(size for name, (size, kind) in sizes.items()
               if name.startswith(prefix + "_") and kind in "tTrRdD" and not name.startswith(others))


def measure(console: Console, index: int, block: int, blocks: int = BLOCKS) -> dict[str, Any]:
    reply = console.command(f"bench {index} {block} {blocks}", timeout=600)
    if not reply.startswith("OK bench"):
        raise RuntimeError(f"bench {index} {block}: {reply}")
    fields = dict(re.findall(r"(\w+)=(\S+)", reply))
    return {"model": fields["model"], "unit": fields["unit"], "median": int(fields["median_x10"]) / 10,
            "max": int(fields["max_x10"]) / 10, "state_bytes": int(fields["state"])}


def model_names(console: Console) -> list[str]:
    """The image's models in table order. The `models` reply gives the count; each name comes
    from a one-sample bench of that model, because the reply line (256 bytes) holds only the
    first dozen names of an image with float32 and int16 zoos."""
    listing = console.command("models")
    count = re.search(r"count=(\d+)", listing)
    if count is None:
        raise RuntimeError(f"models: {listing}")
    return [measure(console, index, 1, 1)["model"] for index in range(int(count.group(1)))]


def run_benchmark(firmware: Path) -> list[dict[str, Any]]:
    """Bench every model of the image at each block size; one row per model."""
    sizes = symbol_sizes(firmware)
    rows = []
    with open_transport("qemu", firmware) as transport:
        console = Console(transport)
        console.wait_for_line(r"^ValveNet ", 30)
        for index, name in enumerate(model_names(console)):
            recompute = name.endswith(RECOMPUTE)
            if recompute:
                runs = {RECOMPUTE_BLOCK: measure(console, index, RECOMPUTE_BLOCK, 1)}
            else:
                runs = {block: measure(console, index, block) for block in BLOCK_SIZES}
            int16 = name.endswith(INT16_SUFFIX)
            cfg = model_config.PRESETS[name.removesuffix(RECOMPUTE).removesuffix(INT16_SUFFIX)]
            per_sample = statistics.median(r["median"] for r in runs.values())
            main = runs.get(48) or runs[RECOMPUTE_BLOCK]
            macs = model_config.macs_per_sample(cfg)
            rows.append({
                "model": name, "precision": "float32, full recompute" if recompute else ("int16" if int16 else "float32"), "kind": cfg["kind"],
                "parameters": sum(int(np.prod(shape)) for shape in expected_shapes(cfg).values()),
                "macs_per_sample": macs, "unit": main["unit"],
                "per_sample_by_block": {str(b): r["median"] for b, r in runs.items()},
                "per_sample": per_sample, "per_sample_block48": main["median"],
                "worst_block_per_sample": max(r["max"] for r in runs.values()),
                "per_mac": per_sample / macs,
                "flash_bytes": flash_bytes(sizes, "zoo_" + re.sub(r"[^0-9A-Za-z_]", "_", name)),
                "ram_bytes": main["state_bytes"],
                "budget_share": {k: main["median"] / v for k, v in BUDGETS.items()},
            })
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| model | precision | parameters | MACs/sample | instr/sample (block 32 / 48 / 64) | instr/MAC | flash bytes | state bytes | share of 44.1 kHz budget | share of 48 kHz budget |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        blocks = " / ".join(f"{value:,.0f}" for value in r["per_sample_by_block"].values())
        lines.append(f"| {r['model']} | {r['precision']} | {r['parameters']:,} | {r['macs_per_sample']:,} | {blocks} | "
                     f"{r['per_mac']:.2f} | {r['flash_bytes']:,} | {r['ram_bytes']:,} | "
                     f"{100 * r['budget_share']['44.1 kHz']:.0f} % | {100 * r['budget_share']['48 kHz']:.0f} % |")
    return "\n".join(lines) + "\n"


# The C engine issue's targets: instructions per sample in QEMU, block 48.
TARGETS = {("nam-nano", "float32"): 1500, ("nam-feather", "float32"): 4500, ("lstm-12", "float32"): 1600,
           ("wavenet-10x8", "float32"): 8000, ("wavenet-10x8", "int16"): 4000}
MIN_RECOMPUTE_RATIO = 500


def targets_section(rows: list[dict[str, Any]]) -> str:
    """The measured figures against the targets, and streaming against full recompute."""
    # block 48, or the one block the recompute baseline is measured with
    at48 = {(r["model"].split("+")[0], r["precision"]): r["per_sample_by_block"].get("48", r["per_sample"])
            for r in rows}
    lines = ["## Against the targets", "",
             "| model | precision | target | measured (block 48) | |", "|---|---|---:|---:|---|"]
    for (model, precision), target in TARGETS.items():
        measured = at48.get((model, precision))
        if measured is None:
            continue
        verdict = "met" if measured <= target else f"missed by {100 * (measured / target - 1):.0f} %"
        lines.append(f"| {model} | {precision} | {target:,} | {measured:,.0f} | {verdict} |")
    streaming = at48.get(("wavenet-10x8", "float32"))
    recompute = at48.get(("wavenet-10x8", "float32, full recompute"))
    if streaming and recompute:
        ratio = recompute / streaming
        lines += ["", f"Streaming against full receptive-field recompute (the published approach), wavenet-10x8 "
                      f"float32: {recompute:,.0f} / {streaming:,.0f} = **{ratio:,.0f}x** fewer instructions "
                      f"(target >= {MIN_RECOMPUTE_RATIO}x: {'met' if ratio >= MIN_RECOMPUTE_RATIO else 'missed'})."]
    lines += ["", "Where the instructions go (per layer, activation and instruction class) and a cycle estimate "
                  "per model for the STM32F767: [profile.md](profile.md); the int16 engine's formats, accuracy "
                  "and optimisation steps: [int16.md](int16.md)."]
    return "\n".join(lines) + "\n"


HEADER = """# Benchmarks: instructions per sample in QEMU

Generated by `valvenet bench` (do not edit by hand):

    ./bazelw build //firmware:bench_mps2_an500
    .venv/bin/valvenet bench --firmware bazel-bin/firmware/bench_mps2_an500.elf --out docs

Each model of the zoo (models/BUILD; seeded random weights: instruction counts do not depend
on weight values) runs in QEMU `-M mps2-an500 -icount shift=0` on an internal test signal, in
16 blocks of 32, 48 and 64 samples; the figures are the median over blocks of executed
instructions divided by the block length (SysTick at 25 MHz, one tick = 40 instructions).
Flash bytes are the model's generated code and constants (from the ELF's symbols), state
bytes its caller-owned streaming state. The budget shares divide instructions per sample (block
48) by the STM32F767's cycles per sample at 216 MHz (4,898 at 44.1 kHz, 4,500 at 48 kHz).

**Instructions are not cycles.** The Cortex-M7 dual-issues some pairs, VDIV takes ~14 cycles,
VLDM/VPUSH a cycle per register, and only a board has caches, flash wait states and TCMs;
cycle counts come from the board (DWT CYCCNT) in the hardware timing job.

"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--firmware", required=True, type=Path, help="benchmark image for mps2-an500 (ELF)")
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder for benchmarks.json and benchmarks.md")


def run(args: argparse.Namespace) -> int:
    if not args.firmware.is_file():  # else arm-none-eabi-nm fails first, with a traceback
        raise FileNotFoundError(errno.ENOENT, "no such firmware image", str(args.firmware))
    args.out.mkdir(parents=True, exist_ok=True)  # before the minutes of benchmarking
    rows = run_benchmark(args.firmware)
    atomic.write_text(args.out / "benchmarks.json", json.dumps(rows, indent=2))
    atomic.write_text(args.out / "benchmarks.md", HEADER + markdown(rows) + "\n" + targets_section(rows))
    print(markdown(rows))
    return 0
