"""Activation scales for the int16 engine, from data.

Runs the float oracle (valvenet.models.oracle, float64) on calibration audio, records the
largest magnitude of every tensor the int16 engine stores (per layer), and picks for each a
power-of-two scale: f fractional bits, the most for which max * HEADROOM * 2^f still fits
an int16. HEADROOM leaves room for audio somewhat louder than the calibration set; beyond it
the engine saturates (never wraps).

Gated WaveNet tensors (per layer l): "h{l}" the layer input (h0 = input layer output; h{L}
is not stored), "r{l}" the residual/skip output. "x" is the model input after the input gain.
The gate output is always Q15 (|tanh * sigmoid| < 1) and needs no calibration.
"""

from __future__ import annotations

import math

import numpy as np

from valvenet.export.model_file import ModelFile
from valvenet.models.oracle import Oracle, _apply, _sigmoid

HEADROOM = 2.0
MAX_FRAC = 24  # tensors that are all but zero: still a sane shift


def frac_bits(max_abs: float, headroom: float = HEADROOM) -> int:
    """Most fractional bits f with max_abs * headroom * 2^f <= 32767."""
    if not max_abs > 0.0:
        return MAX_FRAC
    return min(MAX_FRAC, math.floor(math.log2(32767.0 / (max_abs * headroom))))


def ranges(model: ModelFile, audio: np.ndarray, block_size: int = 4096) -> dict[str, float]:
    """Largest |value| of each stored tensor, over the float oracle's run on `audio`."""
    kind = model.config["kind"]
    if kind != "gated_wavenet":
        raise NotImplementedError(f"calibration for {kind} models")
    oracle = Oracle(model)
    core = oracle.core
    c = core.channels
    n = len(core.convs)
    out: dict[str, float] = {"x": 0.0, "y": 0.0, **{f"h{i}": 0.0 for i in range(n)}, **{f"r{i}": 0.0 for i in range(n)},
                             **{f"z{i}": 0.0 for i in range(n)}}
    audio = np.asarray(audio, np.float64).reshape(-1) * oracle.input_gain
    for start in range(0, audio.size, block_size):
        x = audio[start:start + block_size]
        out["x"] = max(out["x"], float(np.max(np.abs(x))))
        h = _apply(core.input, x[:, None])
        skips = []
        for i, (conv, residual) in enumerate(zip(core.convs, core.residuals)):
            out[f"h{i}"] = max(out[f"h{i}"], float(np.max(np.abs(h))))
            z = conv(h)
            out[f"z{i}"] = max(out[f"z{i}"], float(np.max(np.abs(z))))
            gated = np.tanh(z[:, :c]) * _sigmoid(z[:, c:])
            r = _apply(residual, gated)
            out[f"r{i}"] = max(out[f"r{i}"], float(np.max(np.abs(r))))
            skips.append(r)
            h = h + r
        y = _apply(core.output, np.concatenate(skips, axis=1))[:, 0]
        out["y"] = max(out["y"], float(np.max(np.abs(y))))
    return out


def scales(model: ModelFile, audio: np.ndarray, headroom: float = HEADROOM) -> dict[str, int]:
    """Fractional bits per stored tensor (see the module docstring for the names)."""
    return {name: frac_bits(value, headroom) for name, value in ranges(model, audio).items()}
