"""`valvenet eval`: ESR of a model file on a dataset split, computed by the oracle.

The oracle (not Keras) is the reference, so the figure printed is what the firmware is held
to. The model's receptive field (its warm-up) at the start of the split is not scored. The data
are the train/val/test folders or one dry/amp pair, split as `valvenet train` splits it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from valvenet.models.model_file import ModelFile, load
from valvenet.losses import DEFAULT_PRE_EMPHASIS, scores
from valvenet.models import config as model_config
from valvenet.models.oracle import Oracle


def evaluate_pair(model: ModelFile, pair: Any, coefficient: float = DEFAULT_PRE_EMPHASIS) -> dict[str, Any]:
    """Scores of the model on an AudioPair, plus the prediction itself; a DatasetError for a
    pair at another rate or too short to score (all within the model's warm-up)."""
    from valvenet.datasets.loaders import DatasetError

    if pair.sample_rate != model.sample_rate:
        raise DatasetError(f"{pair.input_path}: sample rate {pair.sample_rate} Hz, the model was trained at "
                           f"{model.sample_rate} Hz")
    skip = model_config.receptive_field(model.config) - 1
    if pair.num_samples <= skip:
        raise DatasetError(f"{pair.input_path}: too short to score: {pair.num_samples} samples, the model's "
                           f"warm-up (receptive field) alone is {skip + 1}")
    prediction = Oracle(model).process_all(pair.input)
    return {**scores(pair.target, prediction, skip=skip, coefficient=coefficient), "prediction": prediction}


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
        pair = training_splits(args.data, args.name, args.input, args.target, args.channel)[0][args.split]
    else:
        pair = load_split(Path(args.data), args.name, args.split, args.channel)
    result = evaluate_pair(model, pair, args.pre_emphasis)
    print(json.dumps({"model": model.name, "split": args.split, "samples": int(np.size(pair.input)),
                      "esr": result["esr"], "esr_preemph": result["esr_preemph"], "dc": result["dc"]}))
    return 0
