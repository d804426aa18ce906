"""The train, val and test splits a training run needs, from either layout a user has.

A guitarist who reamped their amp has one dry input and one amp recording (Neural Amp
Modeler's layout), not the train/val/test folders of the research datasets. Both are
accepted: `training_splits` loads the folders as they are, or loads the pair (its latency
measured and removed, see `loaders.load_nam_pair`) and cuts the validation and test splits
from its end, so the model is always scored on audio it never trained on.

NAM's standard v3 input file (48 kHz; its first 9 s repeated as its last 9 s, calibration
clicks at NAM_V3_BLIPS) is recognised by that repetition: its latency is measured on the
clicks, the opening 9 s validate, the closing 9 s test, and the playing between trains.

Each split must be long enough for what is done with it; a short one is a DatasetError that
names the minimum (in samples and seconds), never an error from deep inside numpy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import soundfile as sf

from valvenet.datasets.latency import NAM_V3_BLIPS
from valvenet.datasets.loaders import SPLITS, AudioPair, DatasetError, load_dataset, load_nam_pair

EVAL_FRACTION = 0.1  # of a plain pair, each for val and test (cut from its end)
NAM_V3_RATE = 48_000
NAM_V3_VALIDATION = 432_000  # samples: the first and the last 9 s are the same audio
NAM_V3_TRAIN_START = 480_000  # the clicks, chirps and noise after the first 9 s train too
NAM_V3_MIN_LENGTH = 2 * NAM_V3_VALIDATION + NAM_V3_TRAIN_START


def training_splits(data: str = "", name: str = "", input_path: str = "", target_path: str = "",
                    channel: int | None = None, min_train: int = 1,
                    min_eval: int = 1) -> tuple[dict[str, AudioPair], str]:
    """{train, val, test} pairs and one line saying how they were found. Either `data` and
    `name` (the folder layout) or `input_path` and `target_path` (one pair) are given."""
    if input_path or target_path:
        if not (input_path and target_path) or data or name:
            raise DatasetError("--input and --target go together, instead of --data and --name")
        splits, how = _from_pair(Path(input_path), Path(target_path), channel)
    elif data and name:
        splits, how = load_dataset(Path(data), name, channel), f"{data}: {name} in train/val/test folders"
    elif data:
        return _knob_splits(Path(data), channel, min_train, min_eval)
    else:
        raise DatasetError("no data: give --input DRY.wav --target AMP.wav, or --data DIR --name NAME "
                           "(or --data DIR alone for recordings at several knob settings)")
    check_lengths(splits, min_train, min_eval)
    return splits, how


def _knob_splits(data: Path, channel: int | None, min_train: int, min_eval: int) -> tuple[dict, str]:
    """A knob sweep or a user's knob folder (datasets/knob_data.py): KnobSplits, not pairs."""
    from valvenet.datasets import knob_data

    if knob_data.is_sweep(data):
        splits = knob_data.load_sweep(data, channel)
        how = f"{data}: a knob sweep"
    elif knob_data.is_knob_folder(data):
        splits = knob_data.load_knob_folder(data, channel)
        how = f"{data}: input.wav and target-<setting>.wav files, validation and test the last 10 % of each"
    else:
        raise DatasetError(f"{data}: --data without --name must be a knob sweep (meta.json with a knobs table) "
                           "or a folder of input.wav and target-<setting>.wav; give --name NAME for a "
                           "train/val/test dataset")
    knob_data.check_lengths(splits, min_train, min_eval)
    settings = len(splits["train"].clips)
    return splits, f"{how}, {settings} training settings of {', '.join(splits['train'].clips[0].settings)}"


def check_lengths(splits: dict[str, AudioPair], min_train: int, min_eval: int) -> None:
    """Each split holds at least its minimum: the training one a segment with its context, the
    others more than the model's warm-up."""
    for split in SPLITS:
        pair, minimum = splits[split], (min_train if split == "train" else min_eval)
        if pair.num_samples < minimum:
            rate = pair.sample_rate
            raise DatasetError(f"{pair.input_path}: the {split} split is too short: {pair.num_samples} samples "
                               f"({pair.num_samples / rate:.3f} s), need at least {minimum} "
                               f"({minimum / rate:.3f} s at {rate} Hz)" + _hint(split))


def _hint(split: str) -> str:
    if split == "train":
        return "; record more, or train on shorter segments (--segment)"
    return "; record more (a pair's validation and test splits are 10 % of it each)"


def is_nam_v3_input(path: Path, channel: int | None = None) -> bool:
    """Whether `path` is NAM's standard v3 input file: 48 kHz, long enough, its first 9 s
    repeated exactly as its last 9 s."""
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, OSError):
        return False  # the loader says what is wrong with the file
    if info.samplerate != NAM_V3_RATE or info.frames < NAM_V3_MIN_LENGTH:
        return False
    head, _ = sf.read(str(path), frames=NAM_V3_VALIDATION, dtype="float32", always_2d=True)
    tail, _ = sf.read(str(path), start=info.frames - NAM_V3_VALIDATION, dtype="float32", always_2d=True)
    column = channel if channel is not None and 0 <= channel < info.channels else 0
    return bool(np.any(head[:, column]) and np.array_equal(head[:, column], tail[:, column]))


def _from_pair(input_path: Path, target_path: Path, channel: int | None) -> tuple[dict[str, AudioPair], str]:
    """The splits of one reamped pair, and how they were cut."""
    if is_nam_v3_input(input_path, channel):
        frames = sf.info(str(input_path)).frames
        pair = load_nam_pair(input_path, target_path, channel, blip_positions=NAM_V3_BLIPS)
        test_start = frames - NAM_V3_VALIDATION
        bounds = {"train": (NAM_V3_TRAIN_START, test_start), "val": (0, NAM_V3_VALIDATION),
                  "test": (test_start, pair.num_samples)}
        layout = "NAM's standard v3 input file: validation its first 9 s, test its last 9 s"
    else:
        pair = load_nam_pair(input_path, target_path, channel)
        n = pair.num_samples
        cut = int(round(EVAL_FRACTION * n))
        bounds = {"train": (0, n - 2 * cut), "val": (n - 2 * cut, n - cut), "test": (n - cut, n)}
        layout = f"validation and test the last {100 * EVAL_FRACTION:g} % each"
    splits = {split: _slice(pair, *bounds[split]) for split in SPLITS}
    return splits, f"{input_path} + {target_path}: {pair.report}; {layout}"


def _slice(pair: AudioPair, start: int, stop: int) -> AudioPair:
    """The samples [start, stop) of an aligned pair, as a pair of its own."""
    stop = max(start, stop)
    return dataclasses.replace(pair, input=pair.input[start:stop], target=pair.target[start:stop])
