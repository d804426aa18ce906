"""Activation scales for the int16 engine, from data.

Runs the float oracle (valvenet.models.oracle, float64) on calibration audio, records through
its observer the largest magnitude of every tensor the int16 engine stores, and picks for each a
power-of-two scale: f fractional bits, the most for which max * HEADROOM * 2^f still fits
an int16. HEADROOM leaves room for audio somewhat louder than the calibration set; beyond it
the engine saturates (never wraps).

Tensor names (the keys of `ranges` and `scales`; "x" is the model input after the input
gain, "y" the model output of the WaveNets, before the output gain; the oracle's names):
- gated WaveNet, per layer l: "h{l}" the layer input (h0 = input layer output), "r{l}" the
  residual/skip output, "z{l}" the conv output (reported, not stored). The gate output is
  always Q15 (|tanh * sigmoid| < 1) and needs no calibration.
- NAM WaveNet, per layer array a and layer l: "a{a}.h{l}" the layer input (h0 = rechannel
  output, h{n} the array's output, the next array's input), "a{a}.p{l}" the activation output,
  "a{a}.s" the head sum (array a's head input: the previous array's head output plus the sum
  of the activations).
- LSTM: "c" the cell state. The hidden state is always Q15 (|o * tanh(c)| < 1).
- GRU: nothing beyond x: the hidden state is Q15 (a convex mix of itself and a tanh).

A conditioned model (models/knobs.py) is run at every corner of its knobs (each knob at 0 and
at 1) and at its defaults: the scales hold wherever the knobs are turned.

The recurrent models step sample by sample in Python here (about 10 us a sample): a few
seconds to 30 s of audio is plenty and keeps calibration under a minute.

The scales travel in the model file: metadata["int16_scales"] = {tensor: fractional bits},
written by training (calibrated on the training input, `with_scales`) and by the benchmark
zoo's random models (calibrated on `synthetic_guitar`), read by `valvenet export c
--precision int16`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from valvenet.models import knobs
from valvenet.models.model_file import ModelFile
from valvenet.models.oracle import Oracle

HEADROOM = 2.0
MAX_FRAC = 24  # tensors that are all but zero: still a sane shift
METADATA_KEY = "int16_scales"
TRAINING_SECONDS = 30.0  # of training input: covers the dataset's dynamics, calibrates in < 1 min


def frac_bits(max_abs: float, headroom: float = HEADROOM) -> int:
    """Most fractional bits f with max_abs * headroom * 2^f <= 32767."""
    if not max_abs > 0.0:
        return MAX_FRAC
    return min(MAX_FRAC, math.floor(math.log2(32767.0 / (max_abs * headroom))))


def ranges(model: ModelFile, audio: np.ndarray, block_size: int = 4096) -> dict[str, float]:
    """Largest |value| of each stored tensor, over the float oracle's run on `audio` (the
    oracle's observer sees every named tensor: valvenet.models.oracle)."""
    peaks: dict[str, float] = {}

    def see(name: str, values: np.ndarray) -> None:
        peaks[name] = max(peaks.get(name, 0.0), float(np.max(np.abs(values))) if np.size(values) else 0.0)

    audio = np.asarray(audio, np.float64).reshape(-1)
    for positions in knob_corners(model.config):
        oracle = Oracle(model, observer=see)
        if positions is not None:
            oracle.set_knob_positions(positions)
        for start in range(0, audio.size, block_size):
            oracle.process(audio[start:start + block_size])
    return peaks


def knob_corners(config: dict) -> list[np.ndarray | None]:
    """The knob positions calibration runs at: none for a model without knobs; else every
    corner (each knob at 0 or 1) and the defaults."""
    count = knobs.knob_count(config)
    if not count:
        return [None]
    return [np.asarray(c, np.float64) for c in itertools.product((0.0, 1.0), repeat=count)] + [knobs.knob_vector(config)]


def stored_scales(model: ModelFile) -> dict[str, int] | None:
    """The calibrated fractional bits in the model file's metadata, if any."""
    stored = model.metadata.get(METADATA_KEY)
    return None if stored is None else {str(k): int(v) for k, v in stored.items()}


def scales(model: ModelFile, audio: np.ndarray, headroom: float = HEADROOM) -> dict[str, int]:
    """Fractional bits per stored tensor (see the module docstring for the names)."""
    return {name: frac_bits(value, headroom) for name, value in ranges(model, audio).items()}


def with_scales(model: ModelFile, audio: np.ndarray, seconds: float = TRAINING_SECONDS) -> ModelFile:
    """The model with its int16 scales, calibrated on the first `seconds` of `audio`, in its metadata."""
    audio = np.asarray(audio).reshape(-1)[:int(seconds * model.sample_rate)]
    return ModelFile(model.config, model.tensors, {**model.metadata, METADATA_KEY: scales(model, audio)})


def synthetic_guitar(seconds: float, rate: int = 48000, seed: int = 0) -> np.ndarray:
    """A deterministic guitar-like calibration signal, for models without their training data
    (the benchmark zoo's random weights): plucked notes and three-note chords in the guitar's
    range (82-660 Hz), each a few decaying harmonics lasting one 0.3 s slot (muted by a 5 ms
    release), at levels from soft to 0.9 peak; every fourth slot silent. Seeded: the same seed
    gives the same samples on every machine."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    out = np.zeros(n)
    slot = 0.3
    length = int(slot * rate)
    release = np.minimum(1.0, (length - np.arange(length)) / (0.005 * rate))
    for index, start in enumerate(np.arange(0.0, seconds, slot)):
        if index % 4 == 3:
            continue
        begin = int(start * rate)
        local = t[begin:begin + length] - start
        level = rng.uniform(0.1, 0.9)
        notes = 82.41 * 2.0 ** (rng.integers(0, 36, size=3 if rng.random() < 0.4 else 1) / 12.0)
        tone = np.zeros(local.size)
        for f in notes:
            for harmonic, weight in ((1, 1.0), (2, 0.5), (3, 0.25), (4, 0.12)):
                tone += weight * np.sin(2 * np.pi * f * harmonic * local) * np.exp(-local * (3.0 + 2.0 * harmonic))
        out[begin:begin + local.size] += level * release[:local.size] * tone / max(float(np.max(np.abs(tone))), 1e-9)
    return (0.9 * out / max(float(np.max(np.abs(out))), 0.9)).astype(np.float32)
