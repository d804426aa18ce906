"""Exactness of `valvenet import nam` on real Neural Amp Modeler captures (docs/results.md).

    PYTHONPATH=python .venv/bin/python3 tools/results/nam_import.py --real-data ../shared/realdata

For every reference render REAL/reference/CAPTURE__DI.wav (NAM 0.12.3's own output for
REAL/captures/CAPTURE.nam on the first 240,000 samples of REAL/di/DI.wav, float64 model, zero
input before the first sample): import the capture, run the numpy oracle (float64) from the
same zero input history (receptive field - 1 zero samples first; the oracle's own zero state
is zero *layer* history, which differs while the biases settle), and compare; then the
float32 C engine against the oracle on the same input; then `export nam` of the imported
model against the capture itself (config, and weights but those of the last layer's residual
1x1, which feeds nothing and is written as zeros). Prints one Markdown row per render.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from valvenet.export.c_host import CEngine
from valvenet.export.nam import nam_layout, read_nam, to_nam
from valvenet.models import config as model_config
from valvenet.models.model_file import ModelFile
from valvenet.models.oracle import Oracle

SAMPLES = 240_000
ORACLE_BOUND, ENGINE_BOUND = 1e-5, 1e-4


def architecture(model: ModelFile) -> str:
    if model.config["kind"] == "lstm":
        return f"LSTM {model.config.get('layers', 1)} x {model.config['hidden']}"
    arrays = model.config["layer_arrays"]
    return " + ".join(f"{a['channels']} ch x {len(a['dilations'])} (k {a['kernel_size']}, "
                      f"{'gated ' if a.get('gated') else ''}{a['activation']})" for a in arrays)


def from_zero_input(engine: Oracle | CEngine, model: ModelFile, x: np.ndarray) -> np.ndarray:
    """The engine's output for x after receptive field - 1 zero samples (NAM's pad_start)."""
    engine.reset()
    engine.process_all(np.zeros(model_config.receptive_field(model.config) - 1))
    return np.asarray(engine.process_all(x), dtype=np.float64)


def exported_back(capture: Path, model: ModelFile) -> tuple[str, bool]:
    """Whether `export nam` of the imported model gives the capture's config and weights."""
    original, back = json.loads(capture.read_text()), to_nam(model)
    differ = np.flatnonzero(np.asarray(original["weights"]) != np.asarray(back["weights"]))
    unused = np.zeros(len(original["weights"]), bool)
    if model.config["kind"] == "nam_wavenet":
        at = 0
        for entry in nam_layout(model.config):
            size = int(np.prod(entry.nam_shape))
            unused[at:at + size] = entry.name is None
            at += size
    same = back["config"] == original["config"] and not (~unused[differ]).any()
    return f"{'same' if same else 'DIFFERENT'} ({int(unused.sum())} unused zeroed)", same


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
    back, back_ok = exported_back(real / "captures" / f"{capture_name}.nam", model)
    ok = oracle_error <= ORACLE_BOUND and c_ok and back_ok
    weights = len(json.loads((real / "captures" / f"{capture_name}.nam").read_text())["weights"])
    return (f"| {capture_name} | {di_name} | {architecture(model)} | {weights:,} | {model.parameter_count():,} | "
            f"{oracle_error:.2e} | {c_error} | {back} | {'yes' if ok else 'NO'} |"), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real-data", required=True, type=Path, help="the realdata folder (captures/, di/, reference/)")
    args = parser.parse_args()
    references = sorted((args.real_data / "reference").glob("*__*.wav"))
    if not references:
        print(f"{args.real_data}/reference: no CAPTURE__DI.wav renders", file=sys.stderr)
        return 2
    print(f"| capture | DI (first {SAMPLES:,} samples) | architecture | .nam weights | ValveNet parameters | "
          f"oracle vs NAM, max abs (<= {ORACLE_BOUND:g}) | float32 C vs oracle, max abs (<= {ENGINE_BOUND:g}) | "
          "export nam vs the capture | within |")
    print("|---|---|---|---:|---:|---:|---:|---|---|")
    all_ok = True
    for reference in references:
        line, ok = row(args.real_data, reference)
        all_ok &= ok
        print(line, flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
