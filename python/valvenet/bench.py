"""`valvenet bench`: instructions and estimated Cortex-M7 cycles per sample of every model in a
benchmark firmware image, measured in QEMU mps2-an500 with -icount shift=0, written as JSON
and Markdown (docs/benchmarks.md), and the amp's default-model fit table (firmware/amp_fit.bzl).

A benchmark, not a test: it reports and asserts nothing about speed. QEMU counts executed
instructions exactly (SysTick at 25 MHz = 40 instructions per tick); instructions are not
cycles, so each model's executed-instruction trace also goes through the documented cycle
model (valvenet.m7_cycles) for an estimate, to be checked against DWT cycles on a board.
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

from valvenet import amp_fit, atomic, bench_report, exec_trace, m7_cycles
from valvenet.device import Console, open_transport
from valvenet.models import config as model_config
from valvenet.models.model_file import INT16_SUFFIX
from valvenet.models.shapes import expected_shapes

CORE_CLOCK_HZ = 216_000_000
BUDGETS = {"44.1 kHz": CORE_CLOCK_HZ / 44_100, "48 kHz": CORE_CLOCK_HZ / 48_000}
BLOCK_SIZES = (32, 48, 64)
BLOCKS = 16
MAIN_BLOCK = 48
ITCM_BYTES = 16 * 1024
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


def model_bytes(sizes: dict[str, tuple[int, str]], prefix: str, kinds: str) -> int:
    """Bytes of one generated model's symbols of the given nm classes (its symbols share a
    prefix; the variants' prefixes (recompute baseline, int16 engine) extend the float
    model's, so they are kept apart)."""
    others = tuple(prefix + variant + "_" for variant in VARIANT_SYMBOLS if not prefix.endswith(variant))
    return sum(size for name, (size, kind) in sizes.items()
               if name.startswith(prefix + "_") and kind in kinds and not name.startswith(others))


def flash_bytes(sizes: dict[str, tuple[int, str]], prefix: str) -> int:
    """Code and constant data of one generated model."""
    return model_bytes(sizes, prefix, "tTrRdD")


def measure(console: Console, index: int, block: int, blocks: int = BLOCKS) -> dict[str, Any]:
    reply = console.command(f"bench {index} {block} {blocks}", timeout=600)
    if not reply.startswith("OK bench"):
        raise RuntimeError(f"bench {index} {block}: {reply}")
    fields = dict(re.findall(r"(\w+)=(\S+)", reply))
    overhead = int(fields.get("overhead", 0))  # the harness alone, counter units per block
    return {"model": fields["model"], "unit": fields["unit"], "overhead_per_block": overhead,
            "median": int(fields["median_x10"]) / 10 - overhead / block,
            "max": int(fields["max_x10"]) / 10 - overhead / block, "state_bytes": int(fields["state"])}


def model_names(console: Console) -> list[str]:
    """The image's models in table order. The `models` reply gives the count; each name comes
    from a one-sample bench of that model, because the reply line (256 bytes) holds only the
    first dozen names of an image with float32 and int16 zoos."""
    listing = console.command("models")
    count = re.search(r"count=(\d+)", listing)
    if count is None:
        raise RuntimeError(f"models: {listing}")
    return [measure(console, index, 1, 1)["model"] for index in range(int(count.group(1)))]


def symbol_prefix(name: str) -> str:
    return "zoo_" + re.sub(r"[^0-9A-Za-z_]", "_", name)


def instruction_row(name: str, runs: dict[int, dict[str, Any]], sizes: dict[str, tuple[int, str]]) -> dict[str, Any]:
    """A model's measured instruction figures (net of the harness), sizes and budget shares."""
    recompute = name.endswith(RECOMPUTE)
    int16 = name.endswith(INT16_SUFFIX)
    cfg = model_config.PRESETS[name.removesuffix(RECOMPUTE).removesuffix(INT16_SUFFIX)]
    per_sample = statistics.median(r["median"] for r in runs.values())
    main = runs.get(MAIN_BLOCK) or runs[RECOMPUTE_BLOCK]
    macs = model_config.macs_per_sample(cfg)
    prefix = symbol_prefix(name)
    return {
        "model": name, "precision": "float32, full recompute" if recompute else ("int16" if int16 else "float32"),
        "kind": cfg["kind"], "parameters": sum(int(np.prod(shape)) for shape in expected_shapes(cfg).values()),
        "macs_per_sample": macs, "unit": main["unit"],
        "per_sample_by_block": {str(b): r["median"] for b, r in runs.items()},
        "per_sample": per_sample, "per_sample_block48": main["median"],
        "worst_block48": main["max"], "worst_block_per_sample": max(r["max"] for r in runs.values()),
        "harness_overhead_per_block": main["overhead_per_block"],
        "per_mac": per_sample / macs,
        "flash_bytes": flash_bytes(sizes, prefix), "code_bytes": model_bytes(sizes, prefix, "tT"),
        "const_bytes": model_bytes(sizes, prefix, "rRdD"), "ram_bytes": main["state_bytes"],
        "budget_share": {k: main["median"] / v for k, v in BUDGETS.items()},
    }


def cycle_figures(elf: Path, index: int, name: str, code: dict[int, m7_cycles.Instruction],
                  functions: list[exec_trace.Function]) -> dict[str, Any]:
    """Trace the image's model `index` for TRACE_BLOCKS blocks of MAIN_BLOCK; cycle_summary."""
    prefix = symbol_prefix(name)
    trace, traced = exec_trace.trace_model(elf, index, prefix, MAIN_BLOCK, bench_report.TRACE_BLOCKS, code,
                                              functions)
    return cycle_summary(trace, traced, prefix, code, MAIN_BLOCK)


def cycle_summary(trace: list[int], traced: list[exec_trace.Function], prefix: str,
                  code: dict[int, m7_cycles.Instruction], block: int) -> dict[str, Any]:
    """The model's hot code (its functions that process() runs), whether that fits ITCM, and
    the cycle model's estimate per block (the trace split at each process() entry): code in
    ITCM when it fits, else all of it fetched from flash (what an image built without
    placement does)."""
    executed = set(trace)
    hot = [f for f in exec_trace.model_functions(traced, prefix)
           if not f.name.endswith("_reset") and any(a in executed for a in range(f.address, f.address + f.size, 2))]
    hot_bytes = sum(f.size for f in hot)
    fits = hot_bytes <= ITCM_BYTES
    ranges = [(f.address, f.address + f.size) for f in hot]

    def in_itcm(address: int) -> bool:
        return fits and any(lo <= address < hi for lo, hi in ranges)

    entry = next(f.address for f in traced if f.name == prefix + "_process")
    starts = [i for i, a in enumerate(trace) if a == entry] + [len(trace)]
    per_block = [m7_cycles.estimate(trace[a:b], code, in_itcm) for a, b in zip(starts, starts[1:])]
    cycles = [e.cycles / block for e in per_block]
    stalls: dict[str, float] = {}
    for e in per_block:
        for cause, n in e.stalls.items():
            stalls[cause] = stalls.get(cause, 0.0) + n / (block * len(per_block))
    instructions = sum(e.instructions for e in per_block)
    worst = max(cycles)
    return {"hot_code_bytes": hot_bytes, "itcm_fit": fits, "est_cycles_median": statistics.median(cycles),
            "est_cycles_worst": worst, "cycles_per_instruction": sum(e.cycles for e in per_block) / instructions,
            "traced_instructions_per_sample": instructions / (block * len(per_block)),
            "est_stalls_per_sample": stalls, "cycle_share": {k: worst / v for k, v in BUDGETS.items()}}


def run_benchmark(firmware: Path, cycles: bool = True) -> list[dict[str, Any]]:
    """Bench every model of the image at each block size; one row per model. With `cycles`,
    each model (but the recompute baseline) is traced and run through the cycle model."""
    sizes = symbol_sizes(firmware)
    rows = []
    with open_transport("qemu", firmware) as transport:
        console = Console(transport)
        console.wait_for_line(r"^ValveNet ", 30)
        for index, name in enumerate(model_names(console)):
            if name.endswith(RECOMPUTE):
                runs = {RECOMPUTE_BLOCK: measure(console, index, RECOMPUTE_BLOCK, 1)}
            else:
                runs = {block: measure(console, index, block) for block in BLOCK_SIZES}
            rows.append(instruction_row(name, runs, sizes))
    if cycles:
        code, functions = exec_trace.program(firmware), exec_trace.functions(firmware)
        for index, row in enumerate(rows):
            if not row["model"].endswith(RECOMPUTE):
                row.update(cycle_figures(firmware, index, row["model"], code, functions))
    return rows


def image_memory(size_report: Path) -> dict[str, Any]:
    """A firmware image's memory use from its size report (firmware_image's NAME.size.txt:
    region, used, size; the link fails on overflow), for the page's fit table."""
    regions = {}
    for line in size_report.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0].isupper() and parts[1].isdigit() and parts[2].isdigit():
            regions[parts[0]] = (int(parts[1]), int(parts[2]))
    return {"image": size_report.name.removesuffix(".size.txt"), "regions": regions}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--firmware", type=Path, help="benchmark image for mps2-an500 (ELF)")
    parser.add_argument("--out", type=Path, default=Path("docs"), help="folder for benchmarks.json and benchmarks.md")
    parser.add_argument("--render-only", action="store_true",
                        help="no measuring: rewrite benchmarks.md (and --amp-fit) from the folder's benchmarks.json")
    parser.add_argument("--no-cycles", action="store_true", help="skip the traces and the cycle model (faster)")
    parser.add_argument("--amp-fit", type=Path, help="write the amp's default-model fit table here "
                        "(firmware/amp_fit.bzl), from the trained models given with --candidate")
    parser.add_argument("--candidate", type=Path, action="append", default=[],
                        help="a trained model file the amp may default to (repeatable)")
    parser.add_argument("--image", type=Path, action="append", default=[],
                        help="an image's size report (bazel-bin/firmware/NAME.size.txt) for the page's memory table")
    parser.add_argument("--dwt", type=Path, help="a hardware timing job's timing.json (DWT cycles on a board): "
                        "the cycle model's error against it goes into the page")


def run(args: argparse.Namespace) -> int:
    if args.render_only:
        rows = json.loads((args.out / "benchmarks.json").read_text())
    else:
        if args.firmware is None:
            raise FileNotFoundError(errno.ENOENT, "needed to measure (--render-only rewrites the page from "
                                    "benchmarks.json)", "--firmware")
        if not args.firmware.is_file():  # else arm-none-eabi-nm fails first, with a traceback
            raise FileNotFoundError(errno.ENOENT, "no such firmware image", str(args.firmware))
        args.out.mkdir(parents=True, exist_ok=True)  # before the minutes of benchmarking
        rows = run_benchmark(args.firmware, cycles=not args.no_cycles)
        atomic.write_text(args.out / "benchmarks.json", json.dumps(rows, indent=2))
    dwt = json.loads(args.dwt.read_text())["bench"] if args.dwt is not None else None
    images = [image_memory(path) for path in args.image]
    atomic.write_text(args.out / "benchmarks.md", bench_report.page(rows, dwt, images))
    if args.amp_fit is not None:
        atomic.write_text(args.amp_fit, amp_fit.render(amp_fit.table(rows, args.candidate)))
    print(bench_report.markdown(rows))
    return 0
