"""TFLite against the C engines for trained WaveNets: one JSON row per run folder.

    PYTHONPATH=python .venv/bin/python3 tools/results/tflite_table.py --data /tmp/results/data \\
        --seconds 10 --out /tmp/tflite-results.json /tmp/results/runs/crunch-wavenet-10x8 ...

Each run folder holds model.vnet and options.json (its dataset pair name and preset). Per model:
- parameters; MACC per output sample both ways:
  "macc_full_window" = macs_per_sample x receptive field: one inference over a window of one
  receptive field computing every layer at every position of the window, as a fixed-window
  network (X-Cube-AI's "MACC" of a model whose input is that window and that yields one
  sample) does. Counted: weight multiply-accumulates only (activations and adds are not).
  "macc_streaming" = macs_per_sample: each layer once per sample, the past kept in state
  (the C engines). "macc_exported_window" = macs_per_sample x window / block of the export.
- test ESR: Keras (the model file's training record, the whole test split), then on the
  first --seconds of the test split: the oracle; TFLite float32/int16x8/int8 under LiteRT and
  TFLM run overlap-save (export.tflite: window = receptive field - 1 + block, hop = block),
  each against the target and against the oracle; the C engine float32 and int16.
- reasons for the conversion error, one number each (ESR against the oracle): int8 with
  float32 input/output (only the activations quantized inside) next to int8 I/O; the input's
  int8 quantization alone (oracle on the int8-quantized input); windows without carried context
  (oracle reset every 64 samples, and every `block`) against overlap-save's exact streaming;
  the weights rounded to int8 per output channel alone (int16x8 and int8 both have them);
  int16x8 calibrated on 32 windows of the training input next to the default (activation
  ranges that the calibration did not reach saturate).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from valvenet.datasets.loaders import load_split
from valvenet.export import tflite
from valvenet.models.model_file import load
from valvenet.losses import esr, pre_emphasis
from valvenet.models import config as model_config
from valvenet.models.oracle import Oracle

SHORT_HOP = 64


def scored(target: np.ndarray, prediction: np.ndarray, skip: int) -> dict[str, float]:
    return {"esr": esr(target[skip:], prediction[skip:]),
            "esr_preemph": esr(pre_emphasis(target)[skip:], pre_emphasis(prediction)[skip:])}


def row(run: Path, data: Path, seconds: float | None, block: int) -> dict:
    started = time.time()
    options = json.loads((run / "options.json").read_text())
    model = load(run / "model.vnet")
    field = model_config.receptive_field(model.config)
    macs = model_config.macs_per_sample(model.config)
    window, block = tflite.window_and_block(model, str(run / "model.vnet"), block=block)
    test = load_split(data, options["name"], "test")
    train = load_split(data, options["name"], "train").input
    count = test.num_samples if seconds is None else min(test.num_samples, int(seconds * test.sample_rate))
    x, target = test.input[:count], test.target[:count]
    skip = field - 1
    reference = Oracle(model).process_all(x)
    result = {
        "run": run.name, "model": model.name, "preset": options["model"], "dataset": options["name"],
        "parameters": model.parameter_count(), "receptive_field": field, "window": window, "block": block,
        "macc_full_window": macs * field, "macc_streaming": macs, "macc_exported_window": macs * window / block,
        "test_seconds": count / test.sample_rate,
        "keras_test": model.metadata.get("training", {}).get("test"),
        "oracle": scored(target, reference, skip),
        "tflite": {}, "c_engine": {}, "reasons": {},
    }
    with tempfile.TemporaryDirectory() as folder:
        for quant in tflite.QUANTS:
            report = tflite.export(model, quant, Path(folder), quant, str(run / "model.vnet"), window, block, train)
            entry = {"bytes": report["bytes"], "arena_bytes": report["arena_bytes"], "ops": sorted(set(report["ops"]))}
            for interpreter in ("litert", "tflm"):
                runner = tflite.WindowRunner(report["tflite"], interpreter, report["arena_bytes"])
                y = tflite.overlap_save(runner, x, window, block)
                entry[interpreter] = {**scored(target, y, skip), "esr_vs_oracle": esr(reference[skip:], y[skip:])}
            result["tflite"][quant] = entry
            if quant == "int8":
                runner = tflite.WindowRunner(report["tflite"], "litert")
                quantized = runner.input_quantizer()(x)
                scale, zero = runner._scale(runner.input)  # noqa: SLF001
                x_q = (quantized.astype(np.float64) - zero) * scale
                y = Oracle(model).process_all(x_q)
                result["reasons"]["int8_input_quantization_only"] = esr(reference[skip:], y[skip:])
                result["reasons"]["int8_input_scale"] = scale
                float_io = tflite.export(model, quant, Path(folder), "int8_float_io", "", window, block, train, io="float")
                y = tflite.overlap_save(tflite.WindowRunner(float_io["tflite"], "litert"), x, window, block)
                result["reasons"]["int8_float_io_litert"] = esr(reference[skip:], y[skip:])
                result["reasons"]["int8_int_io_litert"] = entry["litert"]["esr_vs_oracle"]
            if quant == "int16x8":
                few = tflite.export(model, quant, Path(folder), "int16x8_32", "", window, block, train, calibration_windows=32)
                y = tflite.overlap_save(tflite.WindowRunner(few["tflite"], "litert"), x, window, block)
                result["reasons"]["int16x8_calibrated_on_32_windows_litert"] = esr(reference[skip:], y[skip:])
                result["reasons"][f"int16x8_calibrated_on_{tflite.REPRESENTATIVE_WINDOWS}_windows_litert"] = \
                    entry["litert"]["esr_vs_oracle"]
    y = Oracle(tflite.int8_weights(model)).process_all(x)
    result["reasons"]["int8_weights_only"] = esr(reference[skip:], y[skip:])
    for hop in (SHORT_HOP, block):
        y = tflite.stateless(model, x, hop)
        result["reasons"][f"no_context_hop_{hop}"] = esr(reference[skip:], y[skip:])
    from valvenet.models import calibrate
    from valvenet.export.c_host import CEngine, Q15Engine
    from valvenet.models.calibrate import stored_scales

    y = CEngine(model).process_all(x)
    result["c_engine"]["float32"] = {**scored(target, y, skip), "esr_vs_oracle": esr(reference[skip:], y[skip:])}
    q15_model = model if stored_scales(model) is not None else calibrate.with_scales(model, train)
    y = Q15Engine(q15_model).process_all(x)
    result["c_engine"]["int16"] = {**scored(target, y, skip), "esr_vs_oracle": esr(reference[skip:], y[skip:]),
                                   "scales": "model file" if q15_model is model else "train split, 30 s"}
    result["wall_seconds"] = time.time() - started
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (model.vnet, options.json)")
    parser.add_argument("--data", required=True, type=Path, help="the dataset folder the runs trained on")
    parser.add_argument("--seconds", type=float, help="evaluate on the first SECONDS of the test split (default: all)")
    parser.add_argument("--block", type=int, default=tflite.DEFAULT_BLOCK, help="valid outputs per window (= hop)")
    parser.add_argument("--out", type=Path, help="write the rows here as JSON (rewritten after each model)")
    args = parser.parse_args()
    rows = []
    for run in args.runs:
        if not (run / "model.vnet").exists():
            print(f"{run}: no model.vnet (training not finished?), skipped", file=sys.stderr)
            continue
        rows.append(row(run, args.data, args.seconds, args.block))
        print(json.dumps(rows[-1]), flush=True)
        if args.out:
            args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
