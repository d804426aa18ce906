"""A split as the trainer reads it: model inputs with their knob channels, targets, clip bounds.

One recording pair is one clip with the audio as its only input channel. A knob dataset's
split (datasets/knob_data.py) is many clips, each at one knob setting: its model input is the
audio followed by the setting's knob values, normalised by the model's knob ranges
(models/knobs.py). Segments are drawn inside one clip, never across two (a segment spanning
two settings would teach a jump no amp makes). For a single clip the random draws are exactly
those of the trainer before knobs existed, so the seeds of older runs give the same segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from valvenet.models import knobs


@dataclass(frozen=True)
class Clip:
    """Model input (N, 1 + knobs) float32, target (N,) and the setting (empty without knobs)."""

    x: np.ndarray
    y: np.ndarray
    settings: dict[str, float]


def clips(split: Any, config: dict[str, Any]) -> list[Clip]:
    """The clips of an AudioPair or a KnobSplit, with the model's knob inputs."""
    if not hasattr(split, "clips"):
        return [Clip(np.asarray(split.input, np.float32)[:, None], np.asarray(split.target, np.float32), {})]
    out = []
    for clip in split.clips:
        vector = knobs.knob_vector(config, clip.settings).astype(np.float32)
        audio = np.asarray(clip.pair.input, np.float32)
        x = np.column_stack([audio, np.broadcast_to(vector, (audio.size, vector.size))]).astype(np.float32)
        out.append(Clip(x, np.asarray(clip.pair.target, np.float32), dict(clip.settings)))
    return out


def train_audio(data: list[Clip]) -> np.ndarray:
    """The clips' audio channel, end to end (what input initialisation measures)."""
    return np.concatenate([c.x[:, 0] for c in data])


def input_rms(audio: np.ndarray) -> float:
    """RMS of a training input, floored at -80 dBFS: what both recurrent and gated-WaveNet
    initialisation scale their input kernels by (silence is refused before training)."""
    audio = np.asarray(audio, np.float64)
    return max(float(np.sqrt(np.mean(audio * audio))), 1e-4)


def sample_windows(data: list[Clip], count: int, length: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    """`count` random aligned windows of `length` samples, each inside one clip (clips drawn in
    proportion to the windows they hold): inputs (count, length, channels), targets (count, length, 1)."""
    if len(data) == 1:
        choice = np.zeros(count, dtype=np.int64)
        starts = rng.integers(0, data[0].y.size - length + 1, size=count)
    else:
        room = np.array([max(0, c.y.size - length + 1) for c in data], dtype=np.float64)
        choice = rng.choice(len(data), size=count, p=room / room.sum())
        starts = np.floor(rng.random(count) * room[choice]).astype(np.int64)
    x = np.stack([data[c].x[s:s + length] for c, s in zip(choice, starts)])
    y = np.stack([data[c].y[s:s + length] for c, s in zip(choice, starts)])
    return x.astype(np.float32), y[..., None].astype(np.float32)


def windows_with_context(x: np.ndarray, context: int, hop: int) -> np.ndarray:
    """Cut a clip's input (N, channels) into windows of context + hop samples whose scored parts
    tile it exactly. The padding is silence with the clip's knob values (a pedal whose knobs
    were set before the first note)."""
    x = np.asarray(x, np.float32).reshape(x.shape[0], -1)
    count = -(-x.shape[0] // hop)
    pad_row = np.concatenate([[0.0], x[0, 1:]]).astype(np.float32)
    head = np.tile(pad_row, (context, 1))
    tail = np.tile(pad_row, (count * hop - x.shape[0], 1))
    padded = np.concatenate([head, x, tail])
    index = np.arange(count)[:, None] * hop + np.arange(context + hop)[None, :]
    return padded[index]
