"""Quality per instruction: test ESR against the M7's worst-block instructions per sample for
every preset that fits under ~150 % of the 48 kHz budget, at equal training time; the Pareto
front and the recommended model for each budget (docs/quality_per_instruction.md).

    ./bazelw build //tools/lv2host                                  # once: the amp renders
    PYTHONPATH=python .venv/bin/python tools/results/quality_per_instruction.py WORK \\
        [--minutes 30] [--amp highgain] [--jobs 2] [--models nam-nano lstm-12 ...] [--di DIR]

WORK/data is the built-in dataset (`valvenet dataset build --seed SEED`, built if missing);
WORK/runs/AMP-MODEL each model's `valvenet train` run (a finished run is kept, so a table is
filled over several sessions). With --jobs N the runs go N at a time, each pinned to one core.
Costs come from docs/benchmarks.json (`valvenet bench`, tools/bench_docs.sh): the worst block
of 48 in instructions (the chart's x axis) and in estimated cycles (what decides the budget).
Each trained model is scored in float32 (the oracle) and in int16 (the int16 C engine on the
host, with the scales training stored) on the test split and on recorded guitar (Debian's
sonic-pi-samples, tools/results/generalisation.py), plus, with --di, the first 10 s of every
WAV in DIR (real DI recordings, peak -6 dBFS) through the same amp preset.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generalisation import PEAK, RATE, recorded_guitar  # noqa: E402

from valvenet import atomic  # noqa: E402
from valvenet.amp_fit import BUDGET_48K  # noqa: E402
from valvenet.distill_material import read_di_folder  # noqa: E402
from valvenet.export.c_host import Q15Engine  # noqa: E402
from valvenet.export.cost import CHAIN_PER_SAMPLE  # noqa: E402
from valvenet.losses import scores  # noqa: E402
from valvenet.models.config import receptive_field  # noqa: E402
from valvenet.models.model_file import ModelFile, load  # noqa: E402
from valvenet.models.oracle import Oracle  # noqa: E402
from valvenet.synth import amp  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "docs" / "benchmarks.json"
LIMIT = 1.5  # presets whose cheapest precision fits this share of the 48 kHz budget (estimated cycles)
BUDGETS = (0.25, 0.5, 0.75, 1.0)  # shares of the 48 kHz budget, the pedal's chain included
DI_SECONDS = 10.0


def bench_rows() -> dict[tuple[str, str], dict[str, Any]]:
    """(preset, precision) -> the benchmark's row, for the zoo's plain presets."""
    rows = json.loads(BENCHMARKS.read_text())
    return {(r["model"].split("+")[0], r["precision"]): r for r in rows if r["precision"] in ("float32", "int16")}


def fitting_presets(bench: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """Presets with a precision whose worst block fits LIMIT of the 48 kHz budget, cheapest first."""
    best: dict[str, float] = {}
    for (preset, _), row in bench.items():
        best[preset] = min(best.get(preset, np.inf), row["est_cycles_worst"])
    return sorted((p for p, cycles in best.items() if cycles <= LIMIT * BUDGET_48K), key=best.get)


def ensure_dataset(work: Path, seed: int) -> None:
    """WORK/data: the built-in dataset (`valvenet dataset build --seed SEED`), built if missing."""
    if not (work / "data" / "meta.json").exists():
        subprocess.run([sys.executable, "-m", "valvenet.cli", "dataset", "build", "--out", str(work / "data"),
                        "--seed", str(seed)], check=True)


def train_all(args: argparse.Namespace, models: list[str]) -> None:
    """Trains every model without a finished run, args.jobs at a time, each on its own core."""
    missing = [m for m in models if not (run_dir(args, m) / "model.vnet").exists()]
    cores: queue.Queue[int] = queue.Queue()
    for core in sorted(os.sched_getaffinity(0))[: args.jobs]:
        cores.put(core)

    def one(model: str) -> None:
        core = cores.get()
        try:
            pin = (lambda: os.sched_setaffinity(0, {core})) if args.jobs > 1 else None
            log = run_dir(args, model).with_suffix(".log")
            with open(log, "w") as out:
                rc = subprocess.run(train_command(args, model), stdout=out, stderr=subprocess.STDOUT,
                                    preexec_fn=pin).returncode
            if rc != 0:
                print(f"training {model} failed (exit {rc}): see {log}", file=sys.stderr)
        finally:
            cores.put(core)

    (args.work / "runs").mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(one, missing))


def run_dir(args: argparse.Namespace, model: str) -> Path:
    return args.work / "runs" / f"{args.amp}-{model}"


def train_command(args: argparse.Namespace, model: str) -> list[str]:
    return [sys.executable, "-m", "valvenet.cli", "train", "--data", str(args.work / "data"), "--name", args.amp,
            "--model", model, "--out", str(run_dir(args, model)), "--max-minutes", str(args.minutes),
            "--seed", str(args.seed)]


def real_di(folder: Path) -> np.ndarray:
    """The first DI_SECONDS of every DI recording in folder (distill's reader: 48 kHz mono, named
    errors), each at peak -6 dBFS, half a second of silence between them."""
    clips = []
    for source in read_di_folder(folder, RATE):
        clip = source.audio[: int(DI_SECONDS * RATE)].astype(np.float64)
        clips += [PEAK * clip / np.max(np.abs(clip)), np.zeros(RATE // 2)]
    return np.concatenate(clips).astype(np.float32)


def checks(args: argparse.Namespace) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (input, the amp's output): the test split, recorded guitar and the real DIs."""
    test_in, _ = sf.read(args.work / "data" / "test" / f"{args.amp}-input.wav", dtype="float32")
    test_out, _ = sf.read(args.work / "data" / "test" / f"{args.amp}-target.wav", dtype="float32")
    result = {"test": (test_in, test_out)}
    inputs = {"recorded": recorded_guitar()}
    if args.di:
        inputs["real_di"] = real_di(args.di)
    for name, audio in inputs.items():
        result[name] = (audio, amp.run_amp(audio, amp.preset_controls(args.amp), RATE))
    return result


def score(engine: Any, model: ModelFile, check: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """Raw and pre-emphasised ESR of an engine (reset first) on one check (warm-up unscored)."""
    engine.reset()
    prediction = engine.process_all(check[0])
    found = scores(check[1], prediction, skip=receptive_field(model.config) - 1)
    return {"esr": found["esr"], "esr_preemph": found["esr_preemph"]}


def rows_for(args: argparse.Namespace, model_name: str, bench: dict[tuple[str, str], dict[str, Any]],
             audio: dict[str, tuple[np.ndarray, np.ndarray]], command: str) -> list[dict[str, Any]]:
    """One row per precision the benchmark has for a trained model."""
    model = load(run_dir(args, model_name) / "model.vnet")
    training = model.metadata["training"]
    rows = []
    for precision in ("float32", "int16"):
        cost = bench.get((model_name, precision))
        if cost is None:
            continue
        row = {"amp": args.amp, "model": model_name, "precision": precision, "command": command,
               "parameters": model.parameter_count(), "minutes": training["minutes"],
               "epochs": training["epochs"], "samples_per_second": training["samples_per_second"],
               "instructions_worst": cost["worst_block48"], "cycles_worst": cost["est_cycles_worst"],
               "share_48k": cost["est_cycles_worst"] / BUDGET_48K,
               "share_48k_chain": (cost["est_cycles_worst"] + CHAIN_PER_SAMPLE) / BUDGET_48K}
        engine = Oracle(model) if precision == "float32" else Q15Engine(model)  # one C build per model
        for name, check in audio.items():
            found = score(engine, model, check)
            row[f"{name}_esr_preemph"], row[f"{name}_esr"] = found["esr_preemph"], found["esr"]
        rows.append(row)
        print(f"{model_name} {precision}: test {100 * row['test_esr_preemph']:.2f} %, recorded "
              f"{100 * row['recorded_esr_preemph']:.2f} %, {row['instructions_worst']:,.0f} instr", flush=True)
    return rows


def pareto(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The rows no other row beats on both instructions and ESR (by `key`), cheapest first."""
    front: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: (r["instructions_worst"], r[key])):
        if not front or row[key] < front[-1][key]:
            front.append(row)
    return front


def recommendations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each budget share (chain included, estimated cycles): the lowest test ESR that fits."""
    found = []
    for budget in BUDGETS:
        fits = [r for r in rows if r["share_48k_chain"] < budget]
        best = min(fits, key=lambda r: (r["test_esr_preemph"], r["cycles_worst"])) if fits else None
        found.append({"budget": budget, "row": best})
    return found


def plot(rows: list[dict[str, Any]], path: Path, amp_name: str) -> None:
    """ESR (pre-emphasised, log) against worst-block instructions, test split and recorded guitar,
    float32 filled and int16 open, the test split's Pareto front drawn, budget lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(9, 5.5))
    for key, colour, label in (("test_esr_preemph", "C0", f"test split ({amp_name}, sampled guitar)"),
                               ("recorded_esr_preemph", "C3", "recorded guitar")):
        for precision, fill in (("float32", None), ("int16", "none")):
            chosen = [r for r in rows if r["precision"] == precision]
            ax.scatter([r["instructions_worst"] for r in chosen], [100 * r[key] for r in chosen], s=50,
                       marker="o" if precision == "float32" else "s", facecolors=fill or colour,
                       edgecolors=colour, label=f"{label}, {precision}")
        front = pareto(rows, key)
        ax.plot([r["instructions_worst"] for r in front], [100 * r[key] for r in front], color=colour, lw=1,
                ls="-" if key.startswith("test") else "--")
    for r in rows:
        ax.annotate(f"{r['model']}{'' if r['precision'] == 'float32' else ' i16'}",
                    (r["instructions_worst"], 100 * r["test_esr_preemph"]), textcoords="offset points",
                    xytext=(4, 4), fontsize=7)
    for share in (0.5, 0.75, 1.0):
        ax.axvline(share * BUDGET_48K, color="grey", lw=0.8, ls=":")
        ax.text(share * BUDGET_48K, 0.98, f"{share:.0%} of 48 kHz at 1 cycle per instr. ", fontsize=7,
                color="grey", rotation=90, va="top", ha="right", transform=ax.get_xaxis_transform())
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:g}")
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator([500, 750, 1000, 1500, 2000, 3000, 4000, 6000, 8000,
                                                                12000, 16000]))
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([0.5, 1, 2, 3, 5, 10, 20, 30, 50, 100]))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("instructions per sample, worst block of 48 (QEMU, M7 build)")
    ax.set_ylabel("ESR, pre-emphasised (%)")
    ax.set_title("Sound per instruction: equal training time, lines join each check's Pareto front")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    with atomic.replacing(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def header(result: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The page's opening: what was measured, how, and by which commands (generated)."""
    commands = "\n".join(dict.fromkeys(r["command"] for r in rows))
    missing = ", ".join(result["missing"]) or "none"
    return f"""# Quality per instruction

Generated by `tools/results/quality_per_instruction.py` (do not edit by hand; the reading is in
[training.md](training.md#quality-per-instruction)). Every preset whose worst block fits 150 % of
the 48 kHz budget in one of its precisions (docs/benchmarks.json), trained on the built-in
`{result["amp"]}` preset (`valvenet dataset build --seed 0`, default lengths) for the same time,
then scored in float32 (the oracle) and int16 (the int16 C engine on the host) on the test split
(30 s of sampled guitar), on ~24 s of recorded guitar (Debian's sonic-pi-samples) and, where the
DI column is filled, on the first 10 s of each real DI of `../shared/realdata/di` (peak -6 dBFS),
each through the same amp preset. Instructions: QEMU `-icount shift=0`, worst block of 48
(`valvenet bench`); est. cycles: the benchmark's cycle model over the same trace; the share with
chain adds the pedal's {CHAIN_PER_SAMPLE} cycles per sample (cabinet, gain, gate, audio path).

```sh
./bazelw build //tools/lv2host
{commands}
```

Presets still to train: {missing}.

"""


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.2f} %"


def markdown(result: dict[str, Any], figure: str) -> str:
    rows = result["rows"]
    has_di = any("real_di_esr_preemph" in r for r in rows)
    lines = [f"![test ESR against instructions per sample]({figure})", "",
             "| model | precision | parameters | instr/sample, worst block | est. cycles, worst | share of 48 kHz "
             "(with chain) | minutes | epochs | train samples/s | test ESR pre-emph (raw) | recorded guitar "
             "pre-emph (raw) |" + (" real DI pre-emph (raw) |" if has_di else ""),
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if has_di else "")]
    for r in sorted(rows, key=lambda r: r["instructions_worst"]):
        line = (f"| {r['model']} | {r['precision']} | {r['parameters']:,} | {r['instructions_worst']:,.0f} | "
                f"{r['cycles_worst']:,.0f} | {r['share_48k']:.0%} ({r['share_48k_chain']:.0%}) | {r['minutes']:.1f} | "
                f"{r['epochs']} | {r['samples_per_second']:,.0f} | {_pct(r['test_esr_preemph'])} "
                f"({_pct(r['test_esr'])}) | {_pct(r['recorded_esr_preemph'])} ({_pct(r['recorded_esr'])}) |")
        if has_di:
            line += f" {_pct(r.get('real_di_esr_preemph'))} ({_pct(r.get('real_di_esr'))}) |"
        lines.append(line)
    lines += ["", "Pareto front (test split): " + ", ".join(
        f"{r['model']} {r['precision']} ({r['instructions_worst']:,.0f} instr, {_pct(r['test_esr_preemph'])})"
        for r in pareto(rows, "test_esr_preemph")) + ".", "",
        "| budget (48 kHz, chain included, est. cycles) | recommended | test ESR pre-emph | recorded guitar |",
        "|---|---|---:|---:|"]
    for rec in recommendations(rows):
        r = rec["row"]
        lines.append(f"| < {rec['budget']:.0%} | " + ("nothing fits |  |  |" if r is None else
                     f"{r['model']} {r['precision']} ({r['share_48k_chain']:.0%}) | {_pct(r['test_esr_preemph'])} | "
                     f"{_pct(r['recorded_esr_preemph'])} |"))
    return "\n".join(lines) + "\n"


def command_line(args: argparse.Namespace, models: list[str]) -> str:
    """The command that makes these rows, with the working folder and DI folder as WORK and DI."""
    words = ["WORK", "--minutes", f"{args.minutes:g}", "--amp", args.amp, "--jobs", str(args.jobs),
             "--seed", str(args.seed), "--models", *models] + (["--di", "DI"] if args.di else [])
    return "PYTHONPATH=python .venv/bin/python tools/results/quality_per_instruction.py " + shlex.join(words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", type=Path, help="working folder: data/ and runs/ (kept between runs)")
    parser.add_argument("--minutes", type=float, default=30.0, help="training time per model (default 30)")
    parser.add_argument("--amp", default="highgain", help="built-in amp preset (default highgain)")
    parser.add_argument("--models", nargs="+", help="presets (default: every preset under 150%% of the budget)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time, each pinned to one core (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--di", type=Path, help="folder of real DI recordings to check on as well")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "quality_per_instruction",
                        help="OUT.md, OUT.json and OUT.png (default docs/quality_per_instruction)")
    args = parser.parse_args(argv)
    bench = bench_rows()
    models = args.models or fitting_presets(bench)
    unknown = [m for m in models if not any((m, p) in bench for p in ("float32", "int16"))]
    if unknown:
        raise SystemExit(f"{BENCHMARKS}: no benchmark for {', '.join(unknown)}: add them to the zoo (models/BUILD) "
                         "and rerun tools/bench_docs.sh")
    ensure_dataset(args.work, args.seed)
    train_all(args, models)
    command = command_line(args, models)
    audio = checks(args)
    rows = [row for m in models if (run_dir(args, m) / "model.vnet").exists()
            for row in rows_for(args, m, bench, audio, command)]
    earlier = json.loads(args.out.with_suffix(".json").read_text())["rows"] if args.out.with_suffix(".json").exists() else []
    done = {(r["model"], r["precision"]) for r in rows}
    rows += [r for r in earlier if (r["model"], r["precision"]) not in done and r["amp"] == args.amp]
    result = {"amp": args.amp, "rows": rows, "missing": [m for m in fitting_presets(bench)
                                                         if m not in {r["model"] for r in rows}]}
    atomic.write_text(args.out.with_suffix(".json"), json.dumps(result, indent=2, sort_keys=True) + "\n")
    plot(rows, args.out.with_suffix(".png"), args.amp)
    page = header(result, rows) + markdown(result, args.out.with_suffix(".png").name)
    atomic.write_text(args.out.with_suffix(".md"), page)
    print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
