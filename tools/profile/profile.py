"""Instruction profile of one zoo model in QEMU: where the executed instructions go.

    # from the repository root:
    ./bazelw build //firmware:bench_mps2_an500
    PYTHONPATH=python .venv/bin/python3 tools/profile/profile.py \
        --firmware bazel-bin/firmware/bench_mps2_an500.elf --model nam-nano [--block 48 --blocks 4]

Method: the executed-instruction trace of `valvenet bench`'s cycle column
(python/valvenet/exec_trace.py: QEMU's `-singlestep -d exec,nochain` log of the model's
functions and what they call, from its first process() call on, while the firmware's
`bench MODEL BLOCK BLOCKS` command runs BLOCKS calls of process(BLOCK samples)). Each address
is then mapped

  - to a code region: the DWARF inlining chain (arm-none-eabi-addr2line -f -i) names the
    generated function an instruction belongs to, even when GCC inlined it into the block
    function (conv, activate, residual, gate, head, rechannel, ...); inlined helpers are
    reported as their own region where they matter (ring mirror copies, and the activation
    functions vn_tanh_fast etc. as a separate column);
  - to an instruction class from the disassembly (arm-none-eabi-objdump -d): FP loads
    (VLDR/VLDM/VPOP), FP stores (VSTR/VSTM/VPUSH), multiply-adds (VFMA/VMLA/VFMS/VMLS), other FP
    arithmetic, VMOV, integer loads/stores, branches/compares, other integer.

Output: a Markdown table of instructions per sample by region and class (reset excluded;
a region's instructions inside inlined activation functions get their own "[activation]" row,
library calls such as memcpy are "other"; "per MAC" is a row's instructions per VFMA/VMLA
executed in it), the total next to the count the bench command itself reports, and the cycle
model's estimate (python/valvenet/m7_cycles.py, docs/benchmarks.md) with its stalls.

The log is about 80 bytes per executed instruction, in a temporary folder (wavenet1 at
--blocks 4: ~6 M instructions, ~0.5 GB, about a minute); use fewer blocks for big models.

Line attribution of scheduled code is approximate (GCC interleaves neighbouring statements;
an instruction belongs to the line the compiler says), the counts themselves are exact.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import time
from pathlib import Path

from valvenet import bench, exec_trace
from valvenet.device import Console, open_transport

ADDR2LINE = "arm-none-eabi-addr2line"

CLASSES = ["fp_load", "fp_store", "fp_mac", "fp_arith", "fp_div", "vmov", "int_mem", "branch", "int_other"]


def classify(mnemonic: str) -> str:
    m = mnemonic.lower().split(".")[0]
    if m in ("vldr", "vldm", "vldmia", "vldmdb", "vpop"):
        return "fp_load"
    if m in ("vstr", "vstm", "vstmia", "vstmdb", "vpush"):
        return "fp_store"
    if m in ("vfma", "vmla", "vfms", "vmls", "vfnma", "vfnms", "vnmla", "vnmls"):
        return "fp_mac"
    if m in ("vdiv", "vsqrt"):
        return "fp_div"
    if m in ("vmov", "vmrs", "vmsr"):
        return "vmov"
    if m.startswith("v"):
        return "fp_arith"
    if re.match(r"^(ldr|str|ldm|stm|push|pop)", m):
        return "int_mem"
    if re.match(r"^(b|bl|blx|bx|cb|cbz|cbnz|cmp|cmn|tst|it|tbb|tbh)", m):
        return "branch"
    return "int_other"


def inline_chains(elf: Path, addresses: list[int]) -> dict[int, list[str]]:
    """address -> function names, innermost (inlined) first."""
    text = "\n".join(f"0x{a:x}" for a in addresses)
    out = subprocess.run([ADDR2LINE, "-e", str(elf), "-f", "-i", "-a"], input=text, check=True,
                         capture_output=True, text=True).stdout
    chains: dict[int, list[str]] = {}
    current = None
    lines = out.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^0x[0-9a-f]+$", line):
            current = int(line, 16)
            chains[current] = []
            i += 1
            continue
        chains[current].append(line.strip())
        i += 2  # function name, then file:line
    return chains


HELPERS = {"vn_copy_pairs": "ring mirror", "vn_ring_mirror": "ring mirror"}
ACTIVATIONS = ("vn_tanh_fast", "vn_sigmoid_fast", "vn_tanh", "vn_sigmoid", "vn_gate2", "vn_sigmoid_half",
               "vn_tanh_exact", "vn_sigmoid_exact")


def region_of(chain: list[str], prefix: str) -> tuple[str, bool]:
    """(region name, inside an activation function) for one inlining chain."""
    activation = any(name in ACTIVATIONS for name in chain)
    for name in chain:
        if name in HELPERS:
            return HELPERS[name], activation
    for name in chain:
        if name.startswith(prefix + "_"):
            region = name[len(prefix) + 1:].split(".")[0]
            return ("loop/glue (block)" if region == "block" else region), activation
    return "other", activation


def model_index(firmware: Path, model: str) -> tuple[int, float]:
    """(the model's index in the image, the bench command's median per sample at block 48)."""
    with open_transport("qemu", firmware) as transport:
        console = Console(transport)
        console.wait_for_line(r"^ValveNet ", 60)
        names = bench.model_names(console)
        if model not in names:
            sys.exit(f"no model {model} in {firmware}: {', '.join(names)}")
        index = names.index(model)
        return index, bench.measure(console, index, 48)["median"]


def run_profile(firmware: Path, model: str, block: int, blocks: int) -> dict:
    prefix = bench.symbol_prefix(model)
    code, functions = exec_trace.program(firmware), exec_trace.functions(firmware)
    index, median = model_index(firmware, model)
    trace, traced = exec_trace.trace_model(firmware, index, prefix, block, blocks, code, functions)
    counts = collections.Counter(trace)
    chains = inline_chains(firmware, sorted(counts))
    samples = block * blocks
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    activation_total = 0
    activation_classes: collections.Counter[str] = collections.Counter()
    for pc, n in counts.items():
        region, in_activation = region_of(chains.get(pc, []), prefix)
        insn = code.get(pc)
        cls = classify(insn.mnemonic if insn else "?")
        table[region + (" [activation]" if in_activation else "")][cls] += n
        if in_activation:
            activation_total += n
            activation_classes[cls] += n
    return {"model": model, "block": block, "blocks": blocks, "samples": samples, "table": table,
            "activation": activation_total, "activation_classes": activation_classes,
            "bench_median": median, "total": sum(counts.values()),
            "cycles": bench.cycle_summary(trace, traced, prefix, code, block)}


def markdown(result: dict) -> str:
    s = result["samples"]
    rows = sorted(result["table"].items(), key=lambda kv: -sum(kv[1].values()))
    head = "| region | total | per MAC | " + " | ".join(CLASSES) + " |"
    lines = [f"### {result['model']} (block {result['block']}, {result['blocks']} blocks; instructions per sample)", "",
             head, "|" + "---|" * (len(CLASSES) + 3)]
    totals: collections.Counter[str] = collections.Counter()

    def per_mac(counter: collections.Counter[str], region: str) -> str:
        macs = counter["fp_mac"]
        return "" if "[activation]" in region or not macs else f"{sum(counter.values()) / macs:.2f}"

    for region, counter in rows:
        totals.update(counter)
        lines.append(f"| {region} | {sum(counter.values()) / s:.1f} | {per_mac(counter, region)} | "
                     + " | ".join(f"{counter[c] / s:.1f}" for c in CLASSES) + " |")
    lines.append(f"| **all** | **{sum(totals.values()) / s:.1f}** | | "
                 + " | ".join(f"{totals[c] / s:.1f}" for c in CLASSES) + " |")
    cyc = result["cycles"]
    stalls = ", ".join(f"{cause} {n:.0f}" for cause, n in sorted(cyc["est_stalls_per_sample"].items(),
                                                                   key=lambda kv: -kv[1]))
    lines += ["", f"Cortex-M7 cycle model (docs/benchmarks.md): {cyc['est_cycles_median']:.0f} cycles per sample "
              f"(worst block {cyc['est_cycles_worst']:.0f}; {cyc['cycles_per_instruction']:.2f} per instruction; "
              f"hot code {cyc['hot_code_bytes']:,} bytes, {'in ITCM' if cyc['itcm_fit'] else 'from flash'}); "
              f"stall cycles per sample: {stalls}"]
    act = result["activation_classes"]
    lines += ["", f"of which inside inlined activation functions (vn_tanh/vn_sigmoid/vn_gate2...): "
              f"{result['activation'] / s:.1f} per sample ("
              + ", ".join(f"{c} {act[c] / s:.1f}" for c in CLASSES if act[c]) + ")",
              f"bench command's median for these blocks: {result['bench_median']:.1f} per sample "
              f"(harness subtracted; profile total {result['total'] / s:.1f}: the mean, reset excluded)", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firmware", type=Path, default=Path("bazel-bin/firmware/bench_mps2_an500.elf"))
    parser.add_argument("--model", action="append", required=True, help="zoo model name (repeatable)")
    parser.add_argument("--block", type=int, default=48)
    parser.add_argument("--blocks", type=int, default=4)
    args = parser.parse_args()
    for model in args.model:
        start = time.monotonic()
        result = run_profile(args.firmware, model, args.block, args.blocks)
        print(markdown(result))
        print(f"<!-- {time.monotonic() - start:.0f} s -->\n", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
