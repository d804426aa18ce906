"""`valvenet eval`: ESR of a model file on a dataset split, computed by the oracle.

The oracle (not Keras) is the reference, so the figure printed is what the firmware is held
to. The model's receptive field (its warm-up) at the start of the split is not scored. The data
are the train/val/test folders or one dry/amp pair, split as `valvenet train` splits it, or
recordings at several knob settings (a sweep or a knob folder, datasets/knob_data.py): a
conditioned model is then scored at every setting, its knobs set as the clip was recorded,
and the whole split's ESR is the sum of the errors over the sum of the targets' energy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from valvenet.models.model_file import ModelFile, load
from valvenet.losses import DEFAULT_PRE_EMPHASIS, esr_terms, pooled_esr, scores
from valvenet.models import config as model_config
from valvenet.models.oracle import Oracle


def evaluate_pair(model: ModelFile, pair: Any, coefficient: float = DEFAULT_PRE_EMPHASIS,
                  precision: str = "float32") -> dict[str, Any]:
    """Scores of the model on an AudioPair, plus the prediction itself; a DatasetError for a
    pair at another rate or too short to score (all within the model's warm-up). float32: the
    oracle (what the float firmware is held to); int16: the int16 C engine built on the host
    with the file's scales, bit for bit what an int16 image plays, so a precision can be chosen
    by what it sounds like (amp_fit)."""
    prediction, skip = _predict(model, pair, _engine(model, precision))
    return {**scores(pair.target, prediction, skip=skip, coefficient=coefficient), "prediction": prediction}


def _engine(model: ModelFile, precision: str) -> Any:
    if precision == "float32":
        return Oracle(model)
    if precision == "int16":
        from valvenet.export.c_host import Q15Engine

        return Q15Engine(model)
    raise ValueError(f"precision {precision!r}: float32 or int16")


def int16_test_scores(model: ModelFile, pair: Any, coefficient: float = DEFAULT_PRE_EMPHASIS) -> dict[str, Any]:
    """The int16 engine's raw and pre-emphasised ESR and DC error on a test pair, for the
    training record ("test_int16"); {"error": why} where it cannot be measured (no host C
    compiler, a model without int16 scales), so a finished training run is never lost to it."""
    try:
        found = evaluate_pair(model, pair, coefficient, precision="int16")
    except (OSError, RuntimeError, ValueError) as error:
        return {"error": str(error).splitlines()[0] if str(error) else type(error).__name__}
    return {k: found[k] for k in ("esr", "esr_preemph", "dc")}


def _predict(model: ModelFile, pair: Any, engine: Any) -> tuple[np.ndarray, int]:
    """An engine's output for a pair (the oracle, or the int16 C engine: process_all) and the
    warm-up not scored; a DatasetError for a pair at another rate or all within the warm-up."""
    from valvenet.datasets.loaders import DatasetError

    if pair.sample_rate != model.sample_rate:
        raise DatasetError(f"{pair.input_path}: sample rate {pair.sample_rate} Hz, the model was trained at "
                           f"{model.sample_rate} Hz")
    skip = model_config.receptive_field(model.config) - 1
    if pair.num_samples <= skip:
        raise DatasetError(f"{pair.input_path}: too short to score: {pair.num_samples} samples, the model's "
                           f"warm-up (receptive field) alone is {skip + 1}")
    return engine.process_all(pair.input), skip


def evaluate_knobs(model: ModelFile, split: Any, coefficient: float = DEFAULT_PRE_EMPHASIS,
                   trained: list[dict[str, float]] | None = None) -> dict[str, Any]:
    """Scores of a conditioned model on a KnobSplit: over the whole split and per setting
    (`trained`: the training settings, to mark which settings the model never heard), plus
    each clip's prediction."""
    sums, per_setting, predictions = np.zeros(4), [], []
    for clip in split.clips:
        oracle = Oracle(model)
        oracle.set_knobs(clip.settings)
        prediction, skip = _predict(model, clip.pair, oracle)
        terms = esr_terms(clip.pair.target, prediction, skip, coefficient)
        sums += terms
        row = {"settings": clip.settings, **pooled_esr(terms)}
        if trained is not None:
            row["trained"] = clip.settings in trained
        per_setting.append(row)
        predictions.append(prediction)
    return {**pooled_esr(sums), "dc": _dc(split, predictions),
            "per_setting": per_setting, "predictions": predictions}


def _dc(split: Any, predictions: list[np.ndarray]) -> float:
    """The DC error over every clip together."""
    from valvenet.losses import dc_error

    return float(dc_error(np.concatenate([c.pair.target for c in split.clips]), np.concatenate(predictions)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model file (.vnet)")
    parser.add_argument("--input", default="", help="dry recording of a reamped pair, with --target")
    parser.add_argument("--target", default="", help="the amp's recording of --input")
    parser.add_argument("--data", default="", help="instead of --input/--target: dataset folder")
    parser.add_argument("--name", default="", help="NAME of the input/target pair in --data")
    parser.add_argument("--channel", type=int, help="channel of multi-channel recordings (0 = left)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--pre-emphasis", type=float, default=DEFAULT_PRE_EMPHASIS)
    parser.add_argument("--precision", default="float32", choices=("float32", "int16"),
                        help="float32: the oracle; int16: the int16 C engine built on the host with the "
                        "file's scales (what an int16 firmware image plays)")
    parser.add_argument("--record", action="store_true",
                        help="with --precision int16 --split test: store the scores in the model file's "
                        "training record as test_int16 (what `train` stores; for files trained before it did)")


def run(args: argparse.Namespace) -> int:
    from valvenet.datasets.loaders import load_split
    from valvenet.datasets.splits import training_splits

    if args.record and (args.precision != "int16" or args.split != "test"):
        return _usage(f"{args.model}: --record stores the int16 engine's test scores: give --precision int16 "
                      f"--split test")
    model = load(args.model)
    if args.input or args.target or not (args.data and args.name):
        splits = training_splits(args.data, args.name, args.input, args.target, args.channel)[0]
        pair = splits[args.split]
    else:
        pair = load_split(Path(args.data), args.name, args.split, args.channel)
    if hasattr(pair, "clips"):
        if args.precision != "float32":
            return _usage(f"{args.model}: --precision int16 scores plain pairs only, not knob settings")
        return _run_knobs(model, args, splits)
    result = evaluate_pair(model, pair, args.pre_emphasis, args.precision)
    found = {"esr": result["esr"], "esr_preemph": result["esr_preemph"], "dc": result["dc"]}
    print(json.dumps({"model": model.name, "split": args.split, "precision": args.precision,
                      "samples": int(np.size(pair.input)), **found}))
    if args.record:
        _record_int16(Path(args.model), model, found)
    return 0


def _usage(message: str) -> int:
    print(f"valvenet eval: error: {message}", file=sys.stderr)
    return 2


def _record_int16(path: Path, model: ModelFile, found: dict[str, float]) -> None:
    """Stores int16 test scores in the file's training record (written whole, atomically)."""
    from valvenet.models.model_file import ModelFileError, save

    if "training" not in model.metadata:
        raise ModelFileError(f"{path}: no training record to add the int16 scores to (not a trained model)")
    model.metadata["training"]["test_int16"] = found
    save(model, path)


def _run_knobs(model: ModelFile, args: argparse.Namespace, splits: dict[str, Any]) -> int:
    """`valvenet eval` on recordings at several knob settings: one JSON line for the split, one
    per setting (`trained`: whether the training split has that setting)."""
    from valvenet.datasets.loaders import DatasetError
    from valvenet.models import knobs

    split = splits[args.split]
    wanted, have = list(split.clips[0].settings), knobs.knob_names(model.config)
    if sorted(wanted) != sorted(have):
        raise DatasetError(f"{args.model}: the model's knobs ({', '.join(have) or 'none'}) are not the data's "
                           f"({', '.join(wanted)}, {args.data})")
    trained = [c.settings for c in splits["train"].clips]
    result = evaluate_knobs(model, split, args.pre_emphasis, trained)
    print(json.dumps({"model": model.name, "split": args.split, "settings": len(split.clips),
                      "esr": result["esr"], "esr_preemph": result["esr_preemph"], "dc": result["dc"]}))
    for row in result["per_setting"]:
        print(json.dumps({"setting": row["settings"], "trained": row["trained"], "esr": row["esr"],
                          "esr_preemph": row["esr_preemph"]}))
    return 0
