"""Instruction profile of one zoo model in QEMU: where the executed instructions go.

    # from the repository root:
    ./bazelw build //firmware:bench_mps2_an500
    PYTHONPATH=python .venv/bin/python3 tools/profile/profile.py \
        --firmware bazel-bin/firmware/bench_mps2_an500.elf --model nam-nano [--block 48 --blocks 4]

Method (QEMU 7.2 has no TCG plugins): the bench image runs under the same machine and
`-icount shift=0` as `valvenet bench`, plus `-singlestep -d exec,nochain -dfilter LO..HI`: every
translation block is one instruction and every executed one is logged with its address, for
addresses inside the model's own code only (the symbols `zoo_<model>_*`). The firmware's
`bench MODEL BLOCK BLOCKS` command then runs reset + BLOCKS calls of process(BLOCK samples),
so the log holds exactly the model's executed instructions (the test signal generator and the
counter reads lie outside the range). Each address is then mapped

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
"per MAC" is a row's instructions per VFMA/VMLA executed in it),
and the total next to the count the bench command itself reports (they agree unless the model
calls code outside its own symbols, e.g. memcpy; the difference is printed).

The log is about 80 bytes per executed instruction, in a temporary folder (wavenet1 at
--blocks 4: ~6 M instructions, ~0.5 GB, about a minute); use fewer blocks for big models.

Line attribution of scheduled code is approximate (GCC interleaves neighbouring statements;
an instruction belongs to the line the compiler says), the counts themselves are exact.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from valvenet.device.console import Console
from valvenet.device.qemu import QemuTransport

NM = "arm-none-eabi-nm"
OBJDUMP = "arm-none-eabi-objdump"
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


class ProfilingQemu(QemuTransport):
    """The bench transport with the instruction log switched on for one address range."""

    def __init__(self, firmware: Path, log: Path, ranges: list[tuple[int, int]]) -> None:
        super().__init__(firmware)
        self.log = log
        self.ranges = ranges

    def command_line(self, port: int) -> list[str]:
        cmd = super().command_line(port)
        dfilter = ",".join(f"0x{lo:x}..0x{hi - 1:x}" for lo, hi in self.ranges)
        help_text = subprocess.run([cmd[0], "-h"], capture_output=True, text=True).stdout
        # one instruction per translation block: -singlestep up to QEMU 8.0, then an accel property
        one_insn = ["-singlestep"] if "-singlestep" in help_text else ["-accel", "tcg,one-insn-per-tb=on"]
        return cmd[:1] + one_insn + ["-d", "exec,nochain", "-dfilter", dfilter, "-D", str(self.log)] + cmd[1:]


def model_symbols(elf: Path, prefix: str) -> list[tuple[int, int, str]]:
    out = subprocess.run([NM, "-S", "--defined-only", str(elf)], check=True, capture_output=True, text=True).stdout
    symbols = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT" and parts[3].startswith(prefix + "_"):
            symbols.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    return symbols


def disassembly(elf: Path, lo: int, hi: int) -> dict[int, str]:
    out = subprocess.run([OBJDUMP, "-d", "--no-show-raw-insn", f"--start-address=0x{lo:x}",
                          f"--stop-address=0x{hi:x}", str(elf)], check=True, capture_output=True, text=True).stdout
    mnemonics = {}
    for line in out.splitlines():
        match = re.match(r"^\s+([0-9a-f]+):\s+(\S+)", line)
        if match:
            mnemonics[int(match.group(1), 16)] = match.group(2)
    return mnemonics


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
               "vn_tanh_spline", "vn_sigmoid_spline", "vn_tanh_f32", "vn_sigmoid_f32",
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


def run_profile(firmware: Path, model: str, block: int, blocks: int) -> dict:
    prefix = "zoo_" + re.sub(r"[^0-9A-Za-z_]", "_", model)
    symbols = model_symbols(firmware, prefix)
    if not symbols:
        sys.exit(f"no code symbols {prefix}_* in {firmware}")
    lo = min(a for a, _, _ in symbols)
    hi = max(a + s for a, s, _ in symbols)
    ranges = [(a, a + s) for a, s, _ in symbols]
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "exec.log"
        transport = ProfilingQemu(firmware, log, ranges)
        transport.start()
        try:
            console = Console(transport)
            console.wait_for_line(r"^ValveNet ", 60)
            listing = console.command("models")
            index = dict((name, int(i)) for i, name in re.findall(r" (\d+):(\S+)", listing))[model]
            reply = console.command(f"bench {index} {block} {blocks}", timeout=1800)
            if not reply.startswith("OK bench"):
                sys.exit(reply)
            fields = dict(re.findall(r"(\w+)=(\S+)", reply))
        finally:
            transport.close()
        counts: collections.Counter[int] = collections.Counter()
        with open(log, "rb") as f:
            for line in f:
                match = re.search(rb"\[[0-9a-f]+/([0-9a-f]+)/", line)
                if match:
                    counts[int(match.group(1), 16)] += 1
    # Reset runs once (a memset call, mostly outside the range): drop the reset function's own count.
    reset = [(a, s) for a, s, n in symbols if n == prefix + "_reset"]
    for a, s in reset:
        for pc in list(counts):
            if a <= pc < a + s:
                del counts[pc]
    mnemonics = disassembly(firmware, lo, hi)
    chains = inline_chains(firmware, sorted(counts))
    samples = block * blocks
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    activation_total = 0
    activation_classes: collections.Counter[str] = collections.Counter()
    for pc, n in counts.items():
        region, in_activation = region_of(chains.get(pc, []), prefix)
        cls = classify(mnemonics.get(pc, "?"))
        table[region + (" [activation]" if in_activation else "")][cls] += n
        if in_activation:
            activation_total += n
            activation_classes[cls] += n
    return {"model": model, "block": block, "blocks": blocks, "samples": samples, "table": table,
            "activation": activation_total, "activation_classes": activation_classes,
            "bench_median": int(fields["median_x10"]) / 10, "total": sum(counts.values())}


def cycle_estimate(totals: collections.Counter[str]) -> tuple[float, float, float]:
    """(low, point, high) Cortex-M7 cycles for these instruction counts; docs/profile.md
    explains the model. Code and data in zero-wait-state TCM (or warm caches) assumed."""
    fp = totals["fp_mac"] + totals["fp_arith"] + totals["vmov"]  # one FP data-processing issue per cycle
    div = totals["fp_div"]  # VDIV.F32: 14 cycles
    other = totals["fp_load"] + totals["fp_store"] + totals["int_mem"] + totals["branch"] + totals["int_other"]
    total = sum(totals.values())
    low = max(fp + div, total / 2.0, totals["fp_load"] + totals["fp_store"] + totals["int_mem"])  # VDIV overlapped
    point = fp + 14 * div + 0.25 * other  # VDIV blocks the FP pipe; 3 of 4 others dual-issue with FP work
    high = total + 13 * div + 0.25 * fp  # no dual issue, VDIV blocks, a stall every 4th FP op (latency)
    return low, point, high


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
    low, point, high = cycle_estimate(totals)
    lines += ["", f"Cortex-M7 cycle estimate per sample (docs/profile.md): {point / s:.0f} "
              f"(bounds {low / s:.0f} .. {high / s:.0f})"]
    act = result["activation_classes"]
    lines += ["", f"of which inside inlined activation functions (vn_tanh/vn_sigmoid/vn_gate2...): "
              f"{result['activation'] / s:.1f} per sample ("
              + ", ".join(f"{c} {act[c] / s:.1f}" for c in CLASSES if act[c]) + ")",
              f"bench command's median for these blocks: {result['bench_median']:.1f} per sample "
              f"(profile total {result['total'] / s:.1f}: the mean, reset excluded)", ""]
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
