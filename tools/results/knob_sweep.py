"""Knobs that turn: one conditioned model against separate single-setting models
(docs/knob_results.md, .json, .png).

    PYTHONPATH=python .venv/bin/python tools/results/knob_sweep.py --minutes 30

Builds the built-in amp's knob sweep (`valvenet dataset build --sweep SPEC`), trains MODEL
conditioned on its knobs for --minutes, and trains one MODEL per training setting (the same
clip, `--data SWEEP --name SETTING`) for --minutes / settings each: the same total time. Every
model is scored on the test split by the oracle (`valvenet eval`): the conditioned one at every
setting, the trained ones and those between them it never heard; each separate model at its
own setting. The target (issue 18): the conditioned model's ESR at the unheard settings within
1.5x of the separate models' at theirs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

from valvenet import atomic
from valvenet.datasets.knob_data import load_sweep
from valvenet.evaluate import evaluate_knobs, evaluate_pair
from valvenet.models.model_file import load
from valvenet.synth import BuildOptions, build_dataset
from valvenet.synth.sweep import format_setting
from valvenet.train import TrainOptions, train

TARGET_RATIO = 1.5


def trained(data: Path, out: Path, model: str, minutes: float, seed: int, name: str = "") -> Path:
    """A training run (the conditioned one with its report: its knobs.png is the page's figure); a run
    already in OUT (--work) is kept, so a rerun only scores."""
    options = TrainOptions(data=str(data), name=name, model=model, out=str(out), seed=seed, max_minutes=minutes,
                           report=name == "")
    if (out / "model.vnet").is_file():
        return out / "model.vnet"  # a rerun keeps finished runs (--work)
    return train(options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="gain=0..1:5,tone=0..1:3")
    parser.add_argument("--model", default="nam-nano")
    parser.add_argument("--minutes", type=float, default=30.0, help="the conditioned model's time; the separate "
                        "models share the same total")
    parser.add_argument("--seconds-scale", type=float, default=1 / 3, help="of the sweep (train: 180 s x this per setting)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/valvenet-knob-sweep"))
    parser.add_argument("--out", type=Path, default=Path("docs/knob_results"))
    args = parser.parse_args(argv)
    data = args.work / "sweep"
    if not (data / "meta.json").is_file():
        build_dataset(BuildOptions(out=data, seconds_scale=args.seconds_scale, seed=args.seed, sweep=args.sweep))
    splits = load_sweep(data)
    settings = [c.settings for c in splits["train"].clips]
    conditioned_path = trained(data, args.work / "conditioned", args.model, args.minutes, args.seed)
    conditioned = load(conditioned_path)
    scored = evaluate_knobs(conditioned, splits["test"], trained=settings)
    each = args.minutes / len(settings)
    separate = []
    for clip in splits["test"].clips:
        if clip.settings not in settings:
            continue
        name = format_setting(clip.settings)
        path = trained(data, args.work / "separate" / name, args.model, each, args.seed, name=name)
        result = evaluate_pair(load(path), clip.pair)
        separate.append({"settings": clip.settings, "esr": result["esr"], "esr_preemph": result["esr_preemph"]})
        print(f"separate {name}: {100 * result['esr_preemph']:.2f} %", file=sys.stderr)
    rows = scored["per_setting"]
    unheard = [r["esr_preemph"] for r in rows if not r["trained"]]
    heard = [r["esr_preemph"] for r in rows if r["trained"]]
    alone = [r["esr_preemph"] for r in separate]
    summary = {"conditioned_unheard_mean": float(np.mean(unheard)), "conditioned_trained_mean": float(np.mean(heard)),
               "separate_mean": float(np.mean(alone)), "ratio": float(np.mean(unheard) / np.mean(alone))}
    summary["target_met"] = summary["ratio"] <= TARGET_RATIO
    training = conditioned.metadata["training"]
    result = {"command": command(args), "sweep": args.sweep, "model": args.model, "minutes": args.minutes,
              "conditioned": {"per_setting": rows, "epochs": training["epochs"], "minutes": training["minutes"],
                              "test": training["test"]["esr_preemph"]},
              "separate": separate, "separate_minutes_each": each, "summary": summary}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out.with_suffix(".json"), json.dumps(result, indent=2, sort_keys=True) + "\n")
    shutil.copyfile(args.work / "conditioned" / "knobs.png", args.out.with_suffix(".png"))
    page = markdown(result, args.out.with_suffix(".png").name)
    atomic.write_text(args.out.with_suffix(".md"), page)
    print(page)
    return 0


def command(args: argparse.Namespace) -> str:
    out = "" if args.out == Path("docs/knob_results") else f" --out {args.out}"
    return (f"tools/results/knob_sweep.py --sweep {args.sweep} --model {args.model} --minutes {args.minutes:g} "
            f"--seconds-scale {args.seconds_scale:.4g} --seed {args.seed}{out}")


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def markdown(result: dict[str, Any], figure: str) -> str:
    s, c = result["summary"], result["conditioned"]
    alone = {json.dumps(r["settings"], sort_keys=True): r for r in result["separate"]}
    lines = [f"| setting | trained on | conditioned {result['model']} (pre-emph / raw) | separate {result['model']} "
             "at this setting (pre-emph) |", "|---|---|---:|---:|"]
    for r in c["per_setting"]:
        other = alone.get(json.dumps(r["settings"], sort_keys=True))
        lines.append(f"| {format_setting(r['settings'])} | {'yes' if r['trained'] else 'no'} | "
                     f"{_pct(r['esr_preemph'])} / {_pct(r['esr'])} | {_pct(other['esr_preemph']) if other else '-'} |")
    verdict = "met" if s["target_met"] else "missed"
    return (f"# Knobs that turn: one conditioned model against a model per setting\n\n"
            f"Written by `PYTHONPATH=python .venv/bin/python {result['command']}`. The built-in amp's knob sweep "
            f"`{result['sweep']}` ([knobs.md](knobs.md)'s mapping: gain moves PreGain, Drive, Distortion and MasterGain "
            f"from the crunch preset's values to the high-gain preset's, tone tilts Treble and Middle); "
            f"{result['model']} conditioned on both knobs trained {c['minutes']:.1f} minutes ({c['epochs']} epochs), "
            f"and one {result['model']} per training setting, {result['separate_minutes_each']:.2f} minutes each "
            f"(the same total time). Test split, scored by the oracle; 'trained on: no' are the settings between "
            f"the grid's, which the conditioned model never heard.\n\n"
            f"- conditioned, at the settings it never heard: **{_pct(s['conditioned_unheard_mean'])}** mean "
            f"pre-emphasised ESR (at its training settings {_pct(s['conditioned_trained_mean'])})\n"
            f"- separate models, each at its own setting: **{_pct(s['separate_mean'])}** mean\n"
            f"- ratio {s['ratio']:.2f} (target <= {TARGET_RATIO:g}): **{verdict}**\n\n"
            + "\n".join(lines) + f"\n\n![ESR over the knobs]({figure})\n")


if __name__ == "__main__":
    sys.exit(main())
