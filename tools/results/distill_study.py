"""What helps `valvenet distill` (docs/distill.md): short runs that change one thing each.

    PYTHONPATH=python .venv/bin/python tools/results/distill_study.py ../shared/realdata --capture jcm --epochs 6

One student (nam-nano) and one capture; each variant differs from the baseline in one option:
a fixed pool of teacher-rendered windows instead of fresh ones every epoch (data volume), no
real DI or only real DI in the mix, longer segments, and the loss without pre-emphasis. Every
variant is scored like tools/results/real_amps.py: against the teacher on the held-out real DIs
(never trained on), so the figures compare across variants whatever each trained on.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from real_amps import HeldOut, split_di, score  # tools/results/real_amps.py, beside this file

from valvenet import atomic
from valvenet.distill import DistillOptions, Teacher, distill, load_teacher
from valvenet.models.model_file import load

# name -> (what it tests, changes to the baseline's DistillOptions)
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "baseline": ("fresh windows every epoch; built-in 60 s + 6 real DIs; segment 8192, batch 16; "
                 "pre-emphasis 0.85", {}),
    "fixed pool": ("512 windows (~1.5 min of scored audio, 2.2 min with the context) rendered once and reused, like a recording", {"pool": 512}),
    "no real DI": ("built-in performance only (180 s)", {"di": [], "builtin_seconds": 180.0}),
    "real DI only": ("the 6 real training DIs only", {"builtin_seconds": 0.0}),
    "long segments": ("segment 32768, batch 4 (same samples per step, less context overhead)",
                      {"segment": 32768, "batch_size": 4}),
    "raw loss": ("loss without pre-emphasis (ESR on the raw signal + DC)", {"pre_emphasis": 0.0}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real", type=Path)
    parser.add_argument("--capture", default="jcm")
    parser.add_argument("--model", default="nam-nano")
    parser.add_argument("--epochs", type=int, default=6, help="fixed work per variant (16 batches of 16 per epoch): "
                        "the machine is shared, so wall-clock budgets would compare its load, not the variants")
    parser.add_argument("--minutes", type=float, default=15.0, help="a cap on each variant's time")
    parser.add_argument("--only", nargs="*", help="variant names (default: all)")
    parser.add_argument("--out", type=Path, default=Path("docs/distill_study.json"))
    args = parser.parse_args(argv)
    capture = args.real / "captures" / f"{args.capture}.nam"
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    with tempfile.TemporaryDirectory(prefix="distill-study-") as tmp:
        train_di, held_files = split_di(args.real, Path(tmp))
        held = HeldOut(Teacher(load_teacher(capture)), held_files)
        for name, (what, changes) in VARIANTS.items():
            if args.only and name not in args.only:
                continue
            options = DistillOptions(teacher=str(capture), model=args.model, out=f"{tmp}/{name}", di=[str(train_di)],
                                     builtin_seconds=60.0, max_minutes=args.minutes, max_epochs=args.epochs,
                                     steps_per_epoch=16, report=False)
            for key, value in changes.items():
                setattr(options, key, value)
            student = load(distill(options))
            training = student.metadata["training"]
            results[name] = {"what": what, "changes": changes, "capture": args.capture, "model": args.model,
                             "minutes": training["minutes"], "epochs": training["epochs"],
                             **score(student, held)}
            print(f"{name}: held-out ESR {100 * results[name]['esr_preemph']:.2f} % pre-emphasised", file=sys.stderr)
            atomic.write_text(args.out, json.dumps(results, indent=2, sort_keys=True) + "\n")
    for name, r in results.items():
        print(f"| {name} | {r['what']} | {r['epochs']} ({r['minutes']:.1f} min) | {100 * r['esr']:.2f} % | "
              f"{100 * r['esr_preemph']:.2f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
