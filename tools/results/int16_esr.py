"""ESR of the int16 engine against the float oracle on a dataset's test split (docs/int16.md).

    PYTHONPATH=python .venv/bin/python3 tools/results/int16_esr.py --data /tmp/results/data --name crunch \\
        /tmp/results/runs/crunch-wavenet-10x8/model.vnet ...

Scales: the model file's (metadata "int16_scales", written by training), else calibrated as
training does (calibrate.with_scales: the first 30 s of the train split's input). Prints one
Markdown table row per model: ESR and the largest absolute difference.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from valvenet.models import calibrate
from valvenet.export.c_host import Q15Engine, esr
from valvenet.models.calibrate import stored_scales
from valvenet.models.model_file import load
from valvenet.models.oracle import Oracle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="dataset folder with train/ and test/")
    parser.add_argument("--name", required=True, help="pair name: NAME-input.wav, NAME-target.wav")
    parser.add_argument("models", nargs="+", type=Path)
    args = parser.parse_args()
    test, _ = sf.read(args.data / "test" / f"{args.name}-input.wav", dtype="float32")
    print("| model | kind | scales | ESR int16 vs float oracle | max abs difference |")
    print("|---|---|---|---:|---:|")
    for path in args.models:
        model = load(path)
        source = "model file"
        if stored_scales(model) is None:
            train, _ = sf.read(args.data / "train" / f"{args.name}-input.wav", dtype="float32")
            model, source = calibrate.with_scales(model, train), "train split, 30 s"
        reference = Oracle(model).process_all(test)
        actual = Q15Engine(model).process_all(test)
        print(f"| {path.parent.name} | {model.config['kind']} | {source} | {esr(actual, reference):.2e} | "
              f"{float(np.max(np.abs(actual - reference))):.2e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
