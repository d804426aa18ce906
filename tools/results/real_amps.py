"""Real amps on the F767: Neural Amp Modeler captures distilled into real-time students
(docs/real_amps.md and docs/real_amps.json).

    PYTHONPATH=python .venv/bin/python tools/results/real_amps.py ../shared/realdata --minutes 30

For each capture REAL/captures/*.nam (the teacher) and each student (nam-nano, nam-feather and
the preset with the most instructions per sample that fits FIT_SHARE of the 48 kHz budget in
docs/benchmarks.json, or --best), `valvenet distill` runs for --minutes on the built-in
performance plus the real DIs that are not held out (leave-some-out: HELD_OUT, the three DIs
with NAM reference renders, are never trained on); each student is then scored against its
teacher on the held-out DIs, whole files. Every capture is also reported as it is: parameters,
instructions per sample and whether it fits the budget (export/cost.py: measured when the
shape was benchmarked, else estimated from MACs).

Scoring runs teacher and student as Keras float32 models (the numpy oracle of a standard
capture needs ~10 s per second of audio; the Keras models equal it to float32 rounding,
tests/python/test_oracle.py), skipping the longer receptive field at each file's start.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from valvenet import atomic
from valvenet.distill import DistillOptions, Teacher, distill, load_teacher
from valvenet.losses import esr_terms, pooled_esr
from valvenet.models import config as model_config
from valvenet.models.model_file import load
from valvenet.export.cost import CHAIN_PER_SAMPLE, benchmarks_beside_package as benchmarks, describe as cost
from valvenet.export.cost import estimate as estimate_cost

HELD_OUT = ("celestial", "fast-thrash", "jazz-hop")
STUDENTS = ("nam-nano", "nam-feather")
FIT_SHARE = 0.75


def f767_share(config: dict[str, Any]) -> float | None:
    """The pedal's share of the 48 kHz budget with this model in the int16 engine: its
    estimated Cortex-M7 cycles (the cycle model's worst block of the nearest benchmarked model
    of its kind, scaled by MACs) plus the chain's CHAIN_PER_SAMPLE (export/cost.py, the amp fit
    rule's figure); None where no int16 model of its kind was benchmarked."""
    try:
        return estimate_cost(config, "int16", benchmarks()).realtime_share(48_000)
    except ValueError:
        return None


def best_fit(exclude: tuple[str, ...]) -> str | None:
    """The benchmarked preset with the most estimated cycles (more computation, more capacity)
    whose int16 engine plus the pedal's chain stays within FIT_SHARE of the 48 kHz budget,
    other than `exclude`; None when none does."""
    measured = [r["model"].removesuffix("+int16") for r in benchmarks() if r.get("precision") == "int16"]
    shares = {name: f767_share(model_config.PRESETS[name]) for name in measured
              if name in model_config.PRESETS and name not in exclude}
    fitting = [name for name, share in shares.items() if share is not None and share <= FIT_SHARE]
    return max(fitting, key=lambda name: shares[name]) if fitting else None


def split_di(real: Path, work: Path) -> tuple[Path, list[Path]]:
    """A folder of links to the training DIs, and the held-out DI files."""
    files = sorted((real / "di").glob("*.wav"))
    held = [f for f in files if f.stem in HELD_OUT]
    train = work / "train-di"
    train.mkdir(parents=True, exist_ok=True)
    for f in files:
        if f.stem not in HELD_OUT and not (train / f.name).exists():
            (train / f.name).symlink_to(f.resolve())
    return train, held


class HeldOut:
    """The held-out DI files and the teacher's output for them (rendered once per teacher)."""

    def __init__(self, teacher: Teacher, files: list[Path]) -> None:
        self.teacher = teacher
        self.inputs = {f.stem: sf.read(f, dtype="float32")[0] for f in files}
        self.targets = {name: teacher.signal(x).astype(np.float64) for name, x in self.inputs.items()}


def score(student: Any, held: HeldOut) -> dict[str, Any]:
    """Held-out ESR (raw and pre-emphasised) of the student against the teacher, over all files
    together and per file."""
    student_net = Teacher(student)
    skip = max(held.teacher.context, student_net.context)
    totals = np.zeros(4)
    per_file = {}
    for name, x in held.inputs.items():
        t, p = held.targets[name][skip:], student_net.signal(x).astype(np.float64)[skip:]
        terms = esr_terms(t, p)  # the trimmed signals, pre-emphasised from their first sample
        totals += terms
        per_file[name] = pooled_esr(terms)["esr_preemph"]
    return {**pooled_esr(totals), "per_file_preemph": per_file}


def student_row(capture: Path, preset: str, train_di: Path, held: HeldOut, args: argparse.Namespace,
                work: Path) -> dict[str, Any]:
    out = work / capture.stem / preset
    options = DistillOptions(teacher=str(capture), model=preset, out=str(out), di=[str(train_di)],
                             builtin_seconds=args.builtin_seconds, seed=args.seed, max_minutes=args.minutes,
                             steps_per_epoch=args.steps_per_epoch, restarts=args.restarts)
    student = load(distill(options))
    training = student.metadata["training"]
    scored = score(student, held)
    print(f"{capture.stem} {preset}: held-out ESR {100 * scored['esr_preemph']:.2f} % pre-emphasised", file=sys.stderr)
    return {"capture": capture.stem, "student": preset, "parameters": student.parameter_count(),
            **{k: training["cost"][k] for k in ("instructions_per_sample", "budget_share_48k", "source")},
            "f767_share_int16": f767_share(student.config),
            "minutes": training["minutes"], "epochs": training["epochs"], "stopped": training["stopped"],
            "settled": not training["note"], "teacher_rendered": "once", "restarts": training["restarts"], **scored}


def as_is_row(capture: Path) -> dict[str, Any]:
    model = load_teacher(capture)
    arrays = model.config["layer_arrays"]
    shape = " + ".join(f"{a['channels']} ch x {len(a['dilations'])}" for a in arrays)
    figures = cost(capture.stem, model.config)
    return {"capture": capture.stem, "architecture": shape, "parameters": model.parameter_count(), **figures,
            "f767_share_int16": f767_share(model.config)}


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:.2f} %"


def _recipe(row: dict[str, Any]) -> str:
    """How the teacher rendered, and the warm restarts a row's run made (rows before --restarts have none)."""
    restarts = row.get("restarts", 0)
    return row["teacher_rendered"] + (f", {restarts} restart{'s' if restarts > 1 else ''}" if restarts else "")


def markdown(students: list[dict[str, Any]], as_is: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = ["| capture | student | parameters | float32 instructions/sample | float32 48 kHz share | "
             "F767 pedal share (int16 + chain) | minutes (epochs) | teacher rendered | held-out ESR raw | "
             "held-out ESR pre-emph | per DI (pre-emph) |", "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|"]
    for r in students:
        per = ", ".join(f"{k} {100 * v:.2f} %" for k, v in r["per_file_preemph"].items())
        lines.append(f"| {r['capture']} | {r['student']} | {r['parameters']:,} | {r['instructions_per_sample']:,.0f} | "
                     f"{_pct(r['budget_share_48k'])} | {_pct(r.get('f767_share_int16'))} | "
                     f"{r['minutes']:.1f} ({r['epochs']}) | {_recipe(r)} | {_pct(r['esr'])} | {_pct(r['esr_preemph'])} | {per} |")
    lines += ["", "Captures as they are:", "",
              "| capture | shape (channels x layers per array) | parameters | float32 instructions/sample | "
              "float32 48 kHz share | F767 pedal share (int16 + chain) | fits (int16) | source |",
              "|---|---|---:|---:|---:|---:|---|---|"]
    for r in as_is:
        share = r.get("f767_share_int16")
        fits = "?" if share is None else ("yes" if share <= 1 else "no")
        per_sample = "?" if r["instructions_per_sample"] is None else f"{r['instructions_per_sample']:,.0f}"
        lines.append(f"| {r['capture']} | {r['architecture']} | {r['parameters']:,} | {per_sample} | "
                     f"{_pct(r['budget_share_48k'])} | {_pct(share)} | {fits} | {r['source']} |")
    return "\n".join(lines) + "\n"


def missing_rows(students: list[dict[str, Any]], as_is: list[dict[str, Any]], full: list[str]) -> list[str]:
    """"capture student" for each row the full table needs (every capture, every student in
    `full`) that no run has made yet: the table is filled over several runs, so whether it is
    complete is a property of the merged rows, not of the last command."""
    made = {(r["capture"], r["student"]) for r in students}
    return [f"{c['capture']} {preset}" for c in as_is for preset in full if (c["capture"], preset) not in made]


def header(args: argparse.Namespace, commands: list[str], presets: list[str], missing: list[str]) -> str:
    """The page's text above the tables: what was run, and how far to trust it."""
    smoke = ("**Smoke run**: every student distilled for only {:g} minutes, to show the script works; the "
             "table is not the result the issue asks for until the full run (`--minutes 30`) is done.\n\n"
             .format(args.minutes)) if args.minutes < 30 else ""
    partial = (f"**Partial table**: no row yet for {', '.join(missing)}; the full table has nam-nano, "
               f"nam-feather and the best preset that fits 75 % of the budget for every capture.\n\n"
               if missing else "")
    runs = "; ".join(f"`PYTHONPATH=python .venv/bin/python {c}`" for c in commands)
    if len(commands) > 1:
        runs = f"{len(commands)} runs, each row by one of them (its `command` in real_amps.json): {runs}"
    return (f"# Real amps on the F767: captures distilled into real-time students\n\n{smoke}{partial}"
            f"Written by {runs} (REALDATA: ../shared/realdata, see its README). Teachers: the Neural Amp "
            f"Modeler captures in REALDATA/captures. Students: "
            f"{', '.join(presets)}, each distilled (`valvenet distill`, docs/distill.md) on the built-in "
            f"performance plus the real DIs except {', '.join(HELD_OUT)}, which are held out; ESR is the student "
            f"against its teacher on those three whole files. Teacher rendered: \"once\" rows were trained on the "
            f"teacher's output rendered before the first epoch (recurrent students always, WaveNets from commit "
            f"609b8a0), \"every epoch\" rows by the first version, which rendered each epoch's windows afresh "
            f"(the same targets; about 2.2x fewer epochs in the same minutes, docs/distill.md); \"N restarts\": the run's validation stalled with time left and it went on from its best weights N times (`--restarts`, the default from commit 6ad0d4b on; rows without it stopped at the stall). Instructions per sample: the float32 engine's, "
            f"measured in QEMU (docs/benchmarks.json) or estimated from MACs where the shape was not benchmarked; "
            f"budget share of 216 MHz / 48 kHz = 4,500 instructions per sample. The F767 pedal share: the int16 "
            f"engine's estimated Cortex-M7 cycles (the cycle model's worst block, scaled by MACs from the nearest "
            f"benchmarked model of the kind) plus the pedal's chain ({CHAIN_PER_SAMPLE:,} per sample), over 4,500; "
            f"the pedal keeps its load under 75 %.\n\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = DistillOptions("", "", "")  # distill's own defaults, so a row is made as `valvenet distill` would
    parser.add_argument("real", type=Path, help="the realdata folder (captures/, di/)")
    parser.add_argument("--minutes", type=float, default=30.0, help="distillation time per student")
    parser.add_argument("--best", help="the third student (default: the best benchmarked preset that fits)")
    parser.add_argument("--students", nargs="*", help="presets to distill (default: nam-nano, nam-feather and --best)")
    parser.add_argument("--captures", nargs="*", help="capture names to distill (default: all in REAL/captures; all are reported as they are)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--builtin-seconds", type=float, default=defaults.builtin_seconds,
                        help="seconds of the built-in performance in each student's material")
    parser.add_argument("--steps-per-epoch", type=int, default=defaults.steps_per_epoch,
                        help="batches between validations (a smoke run with tiny --minutes needs few)")
    parser.add_argument("--restarts", type=int, default=defaults.restarts,
                        help="warm restarts when a student's validation stalls with time left (distill --restarts)")
    parser.add_argument("--work", type=Path, help="run folders (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=Path("docs/real_amps"), help="writes OUT.json and OUT.md")
    args = parser.parse_args(argv)
    every_capture = sorted((args.real / "captures").glob("*.nam"))
    captures = [c for c in every_capture if not args.captures or c.stem in args.captures]
    best = args.best or best_fit(STUDENTS)
    if best is None and not args.students:
        raise SystemExit(f"no benchmarked preset fits {100 * FIT_SHARE:g} % of the 48 kHz budget; give --best")
    presets = args.students or [*STUDENTS, best]
    full = [*STUDENTS, *([best] if best else [])]  # the students every capture's row set needs
    as_is = [as_is_row(c) for c in every_capture]
    command = f"tools/results/real_amps.py REALDATA --minutes {args.minutes:g} --seed {args.seed}" + \
        f" --steps-per-epoch {args.steps_per_epoch} --builtin-seconds {args.builtin_seconds:g}" + \
        (f" --best {args.best}" if args.best else "") + (f" --students {' '.join(args.students)}" if args.students else "") + \
        (f" --captures {' '.join(args.captures)}" if args.captures else "") + f" --restarts {args.restarts}"
    students = earlier_rows(args.out, [(c.stem, preset) for c in captures for preset in presets])
    with tempfile.TemporaryDirectory(prefix="real-amps-") as tmp:
        work = args.work or Path(tmp)
        train_di, held_files = split_di(args.real, work)
        for capture in captures:
            held = HeldOut(Teacher(load_teacher(capture)), held_files)
            for preset in presets:
                students.append({**student_row(capture, preset, train_di, held, args, work), "command": command})
                write(args, command, presets, full, students, as_is)  # each row as it comes: a long run keeps what it did
    print(write(args, command, presets, full, students, as_is))
    return 0


def earlier_rows(out: Path, planned: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """The rows of an earlier OUT.json that this run does not redo, each with the command that
    made it: a 30-minute-per-student table is filled over several runs, and a run of some
    students must not drop the others'."""
    path = out.with_suffix(".json")
    if not path.exists():
        return []
    earlier = json.loads(path.read_text())
    return [{"command": earlier["command"], **row} for row in earlier["students"]
            if (row["capture"], row["student"]) not in planned]


def write(args: argparse.Namespace, command: str, presets: list[str], full: list[str],
          students: list[dict[str, Any]], as_is: list[dict[str, Any]]) -> str:
    """Writes OUT.json and OUT.md with the rows so far; returns the page."""
    students = sorted(students, key=lambda r: (r["capture"], r["student"]))
    result = {"command": command, "held_out": list(HELD_OUT), "students": students, "as_is": as_is}
    atomic.write_text(args.out.with_suffix(".json"), json.dumps(result, indent=2, sort_keys=True) + "\n")
    commands = list(dict.fromkeys(r["command"] for r in students)) or [command]
    page = header(args, commands, sorted({r["student"] for r in students} | set(presets)),
                  missing_rows(students, as_is, full)) + \
        markdown(students, as_is, args)
    atomic.write_text(args.out.with_suffix(".md"), page)
    return page


if __name__ == "__main__":
    sys.exit(main())
