"""Recordings of one amp at several knob settings: the data a conditioned model trains on.

Two layouts:
- A knob sweep of the built-in amp (`valvenet dataset build --sweep ...`): the train/val/test
  folders of the AGM layout, one clip per setting named by it (`gain=0.25,tone=0.5-input.wav`),
  and meta.json's `knobs` table (names, ranges, each clip's setting). `load_sweep` reads it.
- A user's re-amped folder: one dry `input.wav` and one `target-<setting>.wav` per knob
  position (`target-gain=0.7,tone=0.3.wav`: the amp recorded with its gain at 0.7 and tone at
  0.3, in the knob's own units). `load_knob_folder` measures each target's latency, and cuts
  validation and test from the end of every pair (the same times for every setting).

Either way every clip names the same knobs; the knobs' ranges are the smallest and largest
value recorded (a model is not asked to extrapolate) and their defaults the middle.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from valvenet.datasets.loaders import SPLITS, AudioPair, DatasetError, load_nam_pair, load_split
from valvenet.datasets.splits import EVAL_FRACTION
from valvenet.synth.sweep import format_setting, parse_setting

META = "meta.json"
INPUT_NAME = "input.wav"
TARGET_PREFIX = "target-"


@dataclass(frozen=True, eq=False)
class KnobClip:
    """One recording pair and the knob setting it was made at (knob name -> value)."""

    pair: AudioPair
    settings: dict[str, float]

    @property
    def label(self) -> str:
        return format_setting(self.settings)


@dataclass(frozen=True, eq=False)
class KnobSplit:
    """A split of a knob dataset: its clips (the same knobs in every one)."""

    clips: tuple[KnobClip, ...]

    @property
    def sample_rate(self) -> int:
        return self.clips[0].pair.sample_rate

    @property
    def num_samples(self) -> int:
        return sum(c.pair.num_samples for c in self.clips)

    @property
    def input_path(self) -> Path:
        return self.clips[0].pair.input_path

    @property
    def audio(self) -> np.ndarray:
        """Every clip's input, one after another (the level statistics of the split)."""
        return np.concatenate([c.pair.input for c in self.clips])


def knob_ranges(splits: dict[str, KnobSplit]) -> list[dict[str, Any]]:
    """The knobs of a dataset, as a model config lists them (models/knobs.py): each knob's
    range the values recorded, its default the middle."""
    clips = [c for split in splits.values() for c in split.clips]
    names = list(clips[0].settings)
    knobs = []
    for name in names:
        values = [c.settings[name] for c in clips]
        lo, hi = min(values), max(values)
        if lo == hi:
            raise DatasetError(f"{clips[0].pair.input_path}: knob {name!r} has one value ({lo:g}) in every "
                               "clip: nothing to learn about it")
        knobs.append({"name": name, "min": lo, "max": hi, "default": (lo + hi) / 2})
    return knobs


def _check_same_knobs(clips: list[KnobClip]) -> None:
    names = list(clips[0].settings)
    for clip in clips[1:]:
        if list(clip.settings) != names:
            raise DatasetError(f"{clip.pair.target_path}: knobs {', '.join(clip.settings)} differ from "
                               f"{', '.join(names)} ({clips[0].pair.target_path}); every clip names the same knobs")


def is_sweep(root: Path) -> bool:
    """Whether `root` is a knob sweep (its meta.json has a knobs table)."""
    try:
        return "knobs" in json.loads((Path(root) / META).read_text())
    except (OSError, ValueError):
        return False


def load_sweep(root: Path, channel: int | None = None, min_samples: int = 0) -> dict[str, KnobSplit]:
    """The splits of a knob sweep built by `valvenet dataset build --sweep`."""
    root = Path(root)
    try:
        table = json.loads((root / META).read_text())["knobs"]
        clips_by_split = table["clips"]
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{root / META}: not a knob sweep's meta.json (no knobs table with clips): {exc}") from exc
    splits = {}
    for split in SPLITS:
        entries = clips_by_split.get(split) or {}
        if not entries:
            raise DatasetError(f"{root / META}: the knobs table lists no {split} clips")
        clips = [KnobClip(load_split(root, name, split, channel, min_samples), dict(settings))
                 for name, settings in entries.items()]
        _check_same_knobs(clips)
        splits[split] = KnobSplit(_in_order(clips))
    return splits


def is_knob_folder(folder: Path) -> bool:
    """Whether `folder` holds a dry input.wav and target-<setting>.wav files."""
    folder = Path(folder)
    return (folder / INPUT_NAME).is_file() and any(folder.glob(f"{TARGET_PREFIX}*.wav"))


def load_knob_folder(folder: Path, channel: int | None = None) -> dict[str, KnobSplit]:
    """A user's re-amped folder: input.wav + target-<setting>.wav per setting, each aligned
    (its latency measured and removed) and cut into train, val and test by time (the last
    EVAL_FRACTION each for val and test)."""
    folder = Path(folder)
    input_path = folder / INPUT_NAME
    if not input_path.is_file():
        raise DatasetError(f"{input_path}: no such file (a knob folder holds the dry {INPUT_NAME} and one "
                           f"{TARGET_PREFIX}<setting>.wav per knob setting, e.g. target-gain=0.5,tone=0.3.wav)")
    targets = sorted(folder.glob(f"{TARGET_PREFIX}*.wav"))
    if len(targets) < 2:
        raise DatasetError(f"{folder}: {len(targets)} {TARGET_PREFIX}<setting>.wav files; a knob folder needs "
                           "recordings at two settings at least")
    clips = []
    for path in targets:
        try:
            settings = parse_setting(path.stem[len(TARGET_PREFIX):], str(path))
        except ValueError as exc:
            raise DatasetError(str(exc)) from exc
        clips.append(KnobClip(load_nam_pair(input_path, path, channel), settings))
    _check_same_knobs(clips)
    clips = list(_in_order(clips))
    n = min(c.pair.num_samples for c in clips)
    cut = int(round(EVAL_FRACTION * n))
    bounds = {"train": (0, n - 2 * cut), "val": (n - 2 * cut, n - cut), "test": (n - cut, n)}
    return {split: KnobSplit(tuple(KnobClip(_slice(c.pair, *bounds[split]), c.settings) for c in clips))
            for split in SPLITS}


def _in_order(clips: list[KnobClip]) -> tuple[KnobClip, ...]:
    """Clips by their knob values, first knob first (file names sort 0.5 before 0)."""
    return tuple(sorted(clips, key=lambda c: tuple(c.settings.values())))


def _slice(pair: AudioPair, start: int, stop: int) -> AudioPair:
    return dataclasses.replace(pair, input=pair.input[start:stop], target=pair.target[start:stop])


def check_lengths(splits: dict[str, KnobSplit], min_train: int, min_eval: int) -> None:
    """Every clip of a split holds at least the split's minimum (a segment with its context
    for train, more than the model's warm-up for val and test)."""
    for split, knob_split in splits.items():
        minimum = min_train if split == "train" else min_eval
        for clip in knob_split.clips:
            if clip.pair.num_samples < minimum:
                rate = clip.pair.sample_rate
                raise DatasetError(f"{clip.pair.target_path}: the {split} part of setting {clip.label} is too short: "
                                   f"{clip.pair.num_samples} samples, need at least {minimum} "
                                   f"({minimum / rate:.3f} s at {rate} Hz)")
