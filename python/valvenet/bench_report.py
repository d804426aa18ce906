"""docs/benchmarks.md from `valvenet bench`'s rows: the per-model table, where instructions
understate cycles, the targets (met or missed), the cycle model's assumptions and its error
against a board's DWT figures (when a hardware timing job has produced them)."""

from __future__ import annotations

from typing import Any

from valvenet import m7_cycles

# Issue 13's targets: instructions per sample in QEMU, worst block of 48, block 48.
TARGETS = [("nam-nano", "int16", 1400, False), ("nam-feather", "int16", 3400, True),
           ("nam-nano", "float32", 2300, False), ("lstm-12", "int16", 1700, False),
           ("wavenet-10x8", "int16", 4600, False)]
STRETCH = ("nam-feather", "int16", 3000)  # estimated cycles per sample, worst block of 48
MIN_RECOMPUTE_RATIO = 500
TRACE_BLOCKS = 3  # blocks of 48 whose executed instructions go through the cycle model

COMMAND = """    tools/bench_docs.sh

which builds //firmware:bench_mps2_an500, runs `valvenet bench --firmware
bazel-bin/firmware/bench_mps2_an500.elf --out docs --amp-fit firmware/amp_fit.bzl --candidate
models/trained/X.vnet ...`, builds //firmware:amp_nucleo_f767zi with the default that table chose
and adds its memory use (`valvenet bench --render-only --image ...size.txt`)."""


def _number(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The main table: one row per model."""
    lines = [
        "| model | precision | parameters | MACs/sample | instr/sample, median (block 32 / 48 / 64) | instr/sample, "
        "worst block of 48 | est. cycles/sample, median / worst block of 48 | cycles per instr | code bytes | "
        "const bytes | state bytes | hot code bytes (ITCM 16,384) | share of 44.1 kHz budget (worst, cycles) | "
        "share of 48 kHz budget (worst, cycles) |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        blocks = " / ".join(f"{value:,.0f}" for value in r["per_sample_by_block"].values())
        traced = "est_cycles_worst" in r
        cycles = f"{r['est_cycles_median']:,.0f} / {r['est_cycles_worst']:,.0f}" if traced else "not traced"
        cpi = f"{r['cycles_per_instruction']:.2f}" if traced else ""
        hot = f"{r['hot_code_bytes']:,} ({'fits' if r['itcm_fit'] else 'does not fit'})" if traced else ""
        shares = [f"{100 * r['cycle_share'][k]:.0f} %" if traced else "" for k in ("44.1 kHz", "48 kHz")]
        lines.append(f"| {r['model']} | {r['precision']} | {r['parameters']:,} | {r['macs_per_sample']:,} | {blocks} | "
                     f"{_number(r.get('worst_block48'))} | {cycles} | {cpi} | {_number(r.get('code_bytes'))} | "
                     f"{_number(r.get('const_bytes'))} | {r['ram_bytes']:,} | {hot} | {shares[0]} | {shares[1]} |")
    return "\n".join(lines) + "\n"


def understatement_section(rows: list[dict[str, Any]]) -> str:
    """Where instruction counts understate cycles: cycles per instruction and the stalls."""
    causes = sorted({c for r in rows for c in r.get("est_stalls_per_sample", {})})
    lines = ["## Where instructions understate cycles", "",
             "Estimated cycles per executed instruction (worst and median blocks together) and the cycle model's "
             "stall cycles per sample by cause. Above 1.00 the instruction count understates the cost; below it, "
             "dual issue more than pays for the stalls.", "",
             "| model | precision | cycles per instr | " + " | ".join(causes) + " |",
             "|---|---|---:|" + "---:|" * len(causes)]
    for r in rows:
        if "cycles_per_instruction" not in r:
            continue
        mark = "**{:.2f}** (understates)".format(r["cycles_per_instruction"]) if r["cycles_per_instruction"] > 1 \
            else f"{r['cycles_per_instruction']:.2f}"
        lines.append(f"| {r['model']} | {r['precision']} | {mark} | "
                     + " | ".join(f"{r['est_stalls_per_sample'].get(c, 0.0):,.0f}" for c in causes) + " |")
    return "\n".join(lines) + "\n"


def targets_section(rows: list[dict[str, Any]]) -> str:
    """The measured figures against issue 13's targets, and streaming against full recompute."""
    by_name = {(r["model"].split("+")[0], r["precision"]): r for r in rows}
    lines = ["## Against the targets", "",
             "Issue 13's targets: instructions per sample in QEMU, worst block of 48 (harness subtracted); "
             "with each model's median, estimated cycles (worst block), bytes, ITCM fit and budget shares "
             "(estimated cycles of the worst block).", "",
             "| model | precision | target | median | worst block of 48 | est. cycles, worst | code / state bytes | "
             "hot code in ITCM | share of 44.1 / 48 kHz | |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for model, precision, target, needs_itcm in TARGETS:
        r = by_name.get((model, precision))
        if r is None:
            continue
        measured = r["worst_block48"]
        fits = r.get("itcm_fit")
        verdict = "met" if measured <= target else f"missed by {100 * (measured / target - 1):.0f} %"
        if needs_itcm and not fits:
            verdict = "missed (hot code does not fit ITCM)" if measured <= target else verdict + "; hot code does not fit ITCM"
        itcm = "" if fits is None else ("yes" if fits else "no") + f" ({r['hot_code_bytes']:,} bytes)"
        cycles = _number(r.get("est_cycles_worst"))
        shares = " / ".join(f"{100 * r['cycle_share'][k]:.0f} %" for k in ("44.1 kHz", "48 kHz")) \
            if "cycle_share" in r else ""
        lines.append(f"| {model} | {precision} | <= {target:,} | {r['per_sample_block48']:,.0f} | {measured:,.0f} | "
                     f"{cycles} | {_number(r.get('code_bytes'))} / {r['ram_bytes']:,} | {itcm} | {shares} | {verdict} |")
    model, precision, target = STRETCH
    r = by_name.get((model, precision))
    if r is not None and "est_cycles_worst" in r:
        cycles = r["est_cycles_worst"]
        lines += ["", f"Stretch: {model} {precision} <= {target:,} estimated cycles per sample (worst block of 48): "
                      f"{cycles:,.0f}, {'met' if cycles <= target else 'missed'}."]
    streaming = by_name.get(("wavenet-10x8", "float32"))
    recompute = by_name.get(("wavenet-10x8", "float32, full recompute"))
    if streaming and recompute:
        ratio = recompute["per_sample"] / streaming["per_sample_block48"]
        lines += ["", f"Streaming against full receptive-field recompute (the published approach), wavenet-10x8 "
                      f"float32: {recompute['per_sample']:,.0f} / {streaming['per_sample_block48']:,.0f} = "
                      f"**{ratio:,.0f}x** fewer instructions (target >= {MIN_RECOMPUTE_RATIO}x: "
                      f"{'met' if ratio >= MIN_RECOMPUTE_RATIO else 'missed'})."]
    return "\n".join(lines) + "\n"


def dwt_section(rows: list[dict[str, Any]], dwt: list[dict[str, Any]] | None) -> str:
    """The board's DWT cycles (a hardware timing job's timing.json "bench" records) against
    the estimate, or a statement that there are none yet."""
    lines = ["## The cycle model against the board (DWT CYCCNT)", ""]
    measured = [d for d in (dwt or []) if d.get("unit") == "cycles"]
    if not measured:
        return "\n".join(lines + [
            "None yet: no NUCLEO-F767ZI has run the hardware timing job. When one has "
            "(`bazel test --config=hil //tests/robot:timing_hardware`, its `timing.json` in the test outputs), "
            "pass it with `valvenet bench ... --dwt timing.json` and this section gives, per model, the "
            "board's worst-block cycles per sample, the estimate and the model's error. Until then every cycle "
            "figure on this page is the model's, not a measurement."]) + "\n"
    estimates = {r["model"]: r for r in rows if "est_cycles_worst" in r}
    lines += ["| model | DWT cycles/sample, worst block | estimated | error |", "|---|---:|---:|---:|"]
    for d in measured:
        r = estimates.get(d["model"])
        worst = d["max_per_sample"]
        if r is None:
            lines.append(f"| {d['model']} | {worst:,.0f} | not in the zoo | |")
            continue
        error = 100 * (r["est_cycles_worst"] / worst - 1)
        lines.append(f"| {d['model']} | {worst:,.0f} | {r['est_cycles_worst']:,.0f} | {error:+.0f} % |")
    return "\n".join(lines) + "\n"


def images_section(images: list[dict[str, Any]]) -> str:
    """The amp images' memory use (their size reports), where the page was given any."""
    if not images:
        return ""
    names = sorted({region for image in images for region in image["regions"]})
    lines = ["## The amp images' memory", "",
             "From each image's size report (the link fails when a region overflows); the NUCLEO image places "
             "the model's hot code in ITCM and its weights and state in DTCM.", "",
             "| image | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for image in images:
        cells = []
        for region in names:
            used, size = image["regions"].get(region, (0, 0))
            cells.append(f"{used:,} / {size:,} ({100 * used / size:.0f} %)" if size else "")
        lines.append(f"| {image['image']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def cycle_model_section() -> str:
    """The cycle model's assumptions, with the constants it runs with."""
    m = m7_cycles
    return f"""## The cycle model (python/valvenet/m7_cycles.py)

QEMU logs every executed instruction of the model's process() calls and what they call
(`-singlestep -d exec,nochain`, python/valvenet/exec_trace.py; {TRACE_BLOCKS} blocks of 48 per model), and
an in-order Cortex-M7 issue model replays the trace with these rules:

- **Dual issue**: two instructions per cycle when the second needs no result of the first, they
  use different pipes (one load/store, one multiply/MAC, one FP data-processing instruction per
  cycle; two ALU instructions may pair), neither is a multi-cycle transfer, and the first is not a
  taken branch.
- **Latencies** (cycles until a result can be used): ALU 1; loads {m.LOAD_LATENCY} (a load-use
  stall of one cycle); integer multiply/MAC {m.MAC_LATENCY}, but a MAC chained on the previous
  MAC's accumulator gets it forwarded (no stall); FP add/multiply/convert {m.FP_LATENCY}; FP fused
  multiply-add {m.FP_MAC_LATENCY}; VDIV/VSQRT {m.DIVIDE_CYCLES}, and the FP pipe issues nothing
  else meanwhile; SDIV/UDIV {m.INT_DIVIDE_CYCLES}.
- **Multi-cycle transfers**: LDM/STM/PUSH/POP and VLDM/VSTM/VPUSH/VPOP hold the issue stage one
  cycle per 64 bits moved.
- **Branches**: each branch address predicts its last outcome (and an indirect branch its last
  target); at first sight backward and unconditional branches are predicted taken, forward ones
  not taken, returns correctly; a wrong guess costs {m.BRANCH_PENALTY} cycles. Each block of the
  trace starts with a cold predictor (as after the rest of the firmware ran in between).
- **Memory**: ITCM code and all data zero wait states (DTCM; the engines place state and weights
  there), except a PC-relative literal load from code outside ITCM, which waits for the flash
  too. Code outside ITCM comes from flash in {m.FLASH_LINE_BYTES}-byte lines with
  {m.FLASH_WAIT_STATES} wait states (216 MHz): a line entered by a jump waits
  {m.FLASH_WAIT_STATES} cycles, the next sequential line is prefetched; no ART or L1 cache is
  modelled (the worst case, as for a cold cache). A model's code is in ITCM when its hot code
  fits the 16 KB; else all of it runs from flash. Library calls (memcpy, memset) always do.

Hot code: the bytes of the model's functions that its process() executes (from the trace,
reset excluded) in the benchmark image, which is built without placement; the NUCLEO image
places the per-layer kernels and block functions (VN_HOT_TEXT) and leaves once-per-block helpers
in flash, so its `.itcm_text` can be a little smaller (the amp images' memory table gives it).

What the model leaves out: the M7's actual pairing restrictions beyond the pipes above,
write-buffer and bank conflicts, the FPU's exact per-instruction latencies (ARM does not
publish them all; these are the usual figures), the interrupts the audio path adds. It is an
estimate; its error against the board's DWT counts is the next section.
"""


def header(rows: list[dict[str, Any]]) -> str:
    """The page's opening: the command, the method, and the harness overhead as measured."""
    overheads = sorted({int(r.get("harness_overhead_per_block", 0)) for r in rows}) or [0]
    span = f"{overheads[0]:,}" if len(overheads) == 1 else f"{overheads[0]:,} to {overheads[-1]:,}"
    return HEADER.replace("{overhead}", span).replace("{per_sample}", f"{overheads[-1] / 48:.1f}")


HEADER = f"""# Benchmarks: instructions and estimated cycles per sample

Generated by `valvenet bench` (do not edit by hand). One command regenerates this page,
benchmarks.json and the amp's fit table (firmware/amp_fit.bzl) with today's engines:

{COMMAND}

Each model of the zoo (models/BUILD; seeded random weights: instruction counts do not depend
on weight values) runs in QEMU `-M mps2-an500 -icount shift=0` on a clip of the built-in
dataset's guitar (the loudest 0.1 s of its test split, firmware/app/bench_input.h), in 16
blocks of 32, 48 and 64 samples. Instruction figures are executed instructions divided by the
block length (SysTick at 25 MHz, one tick = 40 instructions): the median over blocks and the
worst block (real time is decided by the worst block). **The harness is subtracted**: the same
loop around an empty process call measured {{overhead}} instructions per block ({{per_sample}} per
sample at block 48; the counter's resolution is one tick, 40 instructions).

Code bytes: the model's generated functions; const bytes: its constant data arrays (0 where
GCC folded the weights into the code's literal pools, which the code bytes then include); state
bytes: its caller-owned streaming state. Estimated cycles: the cycle model below, run over the
executed-instruction trace; the budget shares divide the worst block's estimated cycles per
sample by the STM32F767's cycles per sample at 216 MHz (4,898 at 44.1 kHz, 4,500 at 48 kHz).

"""


def page(rows: list[dict[str, Any]], dwt: list[dict[str, Any]] | None = None,
         images: list[dict[str, Any]] | None = None) -> str:
    sections = [header(rows) + markdown(rows), targets_section(rows), understatement_section(rows),
                images_section(images or []), cycle_model_section(), dwt_section(rows, dwt)]
    links = ("Where the instructions go (per layer, activation and instruction class): [profile.md](profile.md); "
             "the int16 engine: [int16.md](int16.md); the amp's default model by fit: "
             "[pedal.md](pedal.md#the-amps-default-model-by-measured-fit).\n")
    return "\n".join([section for section in sections if section] + [links])
