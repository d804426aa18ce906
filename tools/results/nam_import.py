"""Exactness of `valvenet import nam` on real Neural Amp Modeler captures (docs/results.md).

    PYTHONPATH=python .venv/bin/python3 tools/results/nam_import.py --real-data ../shared/realdata

For every reference render REAL/reference/CAPTURE__DI.wav (NAM 0.12.3's own output for
REAL/captures/CAPTURE.nam on the first 240,000 samples of REAL/di/DI.wav, float64 model, zero
input before the first sample): import the capture, run the numpy oracle (float64) from the
same zero input history (receptive field - 1 zero samples first; the oracle's own zero state
is zero *layer* history, which differs while the biases settle), and compare; then the
float32 C engine against the oracle on the same input. Prints one Markdown row per render.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from valvenet.export.c_host import CEngine
from valvenet.export.nam import read_nam
from valvenet.models import nam_wavenet
from valvenet.models.model_file import ModelFile
from valvenet.models.oracle import Oracle

SAMPLES = 240_000
ORACLE_BOUND, ENGINE_BOUND = 1e-5, 1e-4


def architecture(model: ModelFile) -> str:
    arrays = model.config["layer_arrays"]
    return " + ".join(f"{a['channels']} ch x {len(a['dilations'])} (k {a['kernel_size']}, {a['activation']})"
                      for a in arrays)


def from_zero_input(engine: Oracle | CEngine, model: ModelFile, x: np.ndarray) -> np.ndarray:
    """The engine's output for x after receptive field - 1 zero samples (NAM's pad_start)."""
    engine.reset()
    engine.process_all(np.zeros(nam_wavenet.receptive_field(model.config) - 1))
    return np.asarray(engine.process_all(x), dtype=np.float64)


def row(real: Path, reference: Path) -> tuple[str, bool]:
    capture_name, di_name = reference.stem.split("__")
    model = read_nam(real / "captures" / f"{capture_name}.nam")
    x, _ = sf.read(real / "di" / f"{di_name}.wav", dtype="float64", always_2d=True)
    x = x[:SAMPLES, 0]
    expected, _ = sf.read(reference, dtype="float64")
    ours = from_zero_input(Oracle(model), model, x)
    oracle_error = float(np.max(np.abs(ours - expected)))
    try:
        c_error = f"{float(np.max(np.abs(from_zero_input(CEngine(model), model, x) - ours))):.2e}"
        c_ok = float(c_error) <= ENGINE_BOUND
    except Exception as exc:  # the C engine refusing a shape is a result to report
        c_error, c_ok = f"refused: {exc}", False
    ok = oracle_error <= ORACLE_BOUND and c_ok
    weights = len(json.loads((real / "captures" / f"{capture_name}.nam").read_text())["weights"])
    return (f"| {capture_name} | {di_name} | {architecture(model)} | {weights:,} | {model.parameter_count():,} | "
            f"{oracle_error:.2e} | {c_error} | {'yes' if ok else 'NO'} |"), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-data", required=True, type=Path, help="the realdata folder (captures/, di/, reference/)")
    args = parser.parse_args()
    references = sorted((args.real_data / "reference").glob("*__*.wav"))
    if not references:
        print(f"{args.real_data}/reference: no CAPTURE__DI.wav renders", file=sys.stderr)
        return 2
    print(f"| capture | DI (first {SAMPLES:,} samples) | architecture | .nam weights | ValveNet parameters | "
          f"oracle vs NAM, max abs (<= {ORACLE_BOUND:g}) | float32 C vs oracle, max abs (<= {ENGINE_BOUND:g}) | within |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    all_ok = True
    for reference in references:
        line, ok = row(args.real_data, reference)
        all_ok &= ok
        print(line, flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
