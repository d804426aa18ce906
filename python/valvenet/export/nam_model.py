"""Bazel tool: a Neural Amp Modeler capture as a model file for firmware (valvenet_firmware).

`valvenet import nam`; for the int16 engine, the int16 scales calibrated on 30 s of the
deterministic synthetic guitar (models/calibrate.py: a capture carries no training audio; on
the nine real DI recordings of the shared real-data folder this gives the same ESR against the
oracle as calibrating on real DI, 1.5e-4 for a feather capture); then, with --max-budget-share,
the real-time check: a capture whose
estimated cycles (export/cost.py, from the measured docs/benchmarks.json) plus the pedal's
chain are over that share of the F767's budget at its sample rate is refused, with the estimate and the advice to distill
it into a model that fits. The image is not built: a pedal that cannot keep up with the audio
would only click.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from valvenet.export import cost
from valvenet.export.nam import read_nam
from valvenet.models import calibrate
from valvenet.models.model_file import ModelFile, save

CALIBRATION_SECONDS = 30.0


def check_budget(capture: Path, model: ModelFile, precision: str, benchmarks: Path, max_share: float) -> str | None:
    """None when the model fits max_share of the budget; else the refusal, one paragraph."""
    guess = cost.estimate(model.config, precision, cost.load_benchmarks(benchmarks))
    share = guess.realtime_share(model.sample_rate)
    if share <= max_share:
        return None
    budget = cost.F767_CLOCK_HZ / model.sample_rate
    return (f"{capture}: too big for real time on the F767: estimated {guess.cycles:,.0f} cycles per sample "
            f"for the model ({guess.macs:,} MACs, {guess.instructions:,.0f} instructions per sample, scaled from "
            f"the worst block measured for {guess.basis} in {benchmarks.name}) + {cost.CHAIN_PER_SAMPLE:,} for "
            f"the pedal's chain = {100 * share:.0f} % of the budget at {model.sample_rate} Hz "
            f"({budget:,.0f} cycles per sample at 216 MHz; this image allows {100 * max_share:.0f} %). "
            f"Distill it into a model that fits and build from the student: "
            f"valvenet distill --teacher {capture.name} --model nam-micro --out RUN (nam-micro: the best student "
            f"that fits with the cabinet, docs/real_amps.md)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nam_model", description=__doc__.splitlines()[0])
    parser.add_argument("--capture", required=True, type=Path, help="Neural Amp Modeler capture (.nam)")
    parser.add_argument("--out", required=True, type=Path, help="model file to write (.vnet)")
    parser.add_argument("--name", help="model name (default: the capture's file name without .nam)")
    parser.add_argument("--precision", default="float32", choices=("float32", "int16"))
    parser.add_argument("--max-budget-share", type=float, help="refuse above this share of the real-time budget")
    parser.add_argument("--benchmarks", type=Path, help="docs/benchmarks.json (with --max-budget-share)")
    args = parser.parse_args(argv)
    model = read_nam(args.capture, args.name)
    if args.precision == "int16" and calibrate.stored_scales(model) is None:
        model = calibrate.with_scales(model, calibrate.synthetic_guitar(CALIBRATION_SECONDS, model.sample_rate),
                                      CALIBRATION_SECONDS)
    if args.max_budget_share is not None:
        refusal = check_budget(args.capture, model, args.precision, args.benchmarks, args.max_budget_share)
        if refusal:
            print(f"nam_model: error: {refusal}", file=sys.stderr)
            return 1
    save(model, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
