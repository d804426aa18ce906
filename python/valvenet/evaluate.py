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
from pathlib import Path
from typing import Any

import numpy as np

from valvenet.models.model_file import ModelFile, load
from valvenet.losses import DEFAULT_PRE_EMPHASIS, esr_terms, pooled_esr, scores
from valvenet.models import config as model_config
from valvenet.models.oracle import Oracle


def evaluate_pair(model: ModelFile, pair: Any, coefficient: float = DEFAULT_PRE_EMPHASIS) -> dict[str, Any]:
    """Scores of the model on an AudioPair, plus the prediction itself; a DatasetError for a
    pair at another rate or too short to score (all within the model's warm-up)."""
    prediction, skip = _predict(model, pair, Oracle(model))
    return {**scores(pair.target, prediction, skip=skip, coefficient=coefficient), "prediction": prediction}


def _predict(model: ModelFile, pair: Any, oracle: Oracle) -> tuple[np.ndarray, int]:
    """The oracle's output for a pair and the warm-up not scored; a DatasetError for a pair at
    another rate or all within the warm-up."""
    from valvenet.datasets.loaders import DatasetError

    if pair.sample_rate != model.sample_rate:
        raise DatasetError(f"{pair.input_path}: sample rate {pair.sample_rate} Hz, the model was trained at "
                           f"{model.sample_rate} Hz")
    skip = model_config.receptive_field(model.config) - 1
    if pair.num_samples <= skip:
        raise DatasetError(f"{pair.input_path}: too short to score: {pair.num_samples} samples, the model's "
                           f"warm-up (receptive field) alone is {skip + 1}")
    return oracle.process_all(pair.input), skip


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


def run(args: argparse.Namespace) -> int:
    from valvenet.datasets.loaders import load_split
    from valvenet.datasets.splits import training_splits

    model = load(args.model)
    if args.input or args.target or not (args.data and args.name):
        splits = training_splits(args.data, args.name, args.input, args.target, args.channel)[0]
        pair = splits[args.split]
    else:
        pair = load_split(Path(args.data), args.name, args.split, args.channel)
    if hasattr(pair, "clips"):
        return _run_knobs(model, args, splits)
    result = evaluate_pair(model, pair, args.pre_emphasis)
    print(json.dumps({"model": model.name, "split": args.split, "samples": int(np.size(pair.input)),
                      "esr": result["esr"], "esr_preemph": result["esr_preemph"], "dc": result["dc"]}))
    return 0


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
