"""Optional cabinet: the amp's output convolved with a speaker-cabinet impulse response.

The IRs come from Debian's guitarix-common (44.1 kHz WAV files); they are resampled to the
dataset rate with a polyphase filter (48000/44100 = 160/147), scaled to unit energy (so every
IR passes about the same level) and then by IR_GAIN_DB: a unit-energy cabinet raises the peaks of
the presets' targets by 3.5-5.5 dB (its response is concentrated in the midrange), and -8 dB
brings them back to about -3 dBFS, below full scale.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

from valvenet.synth.errors import SynthError

IR_DIR = Path("/usr/share/gx_head/sounds/amps")
DEFAULT_IR = "Mesa Boogie Mark V.wav"  # short (75 ms) 4x12 response: cheap on the firmware FIR
IR_GAIN_DB = -8.0


def resolve_ir(name_or_path: str | None) -> Path:
    """An IR file: None means DEFAULT_IR; a name (with or without .wav) is looked up in IR_DIR."""
    if not name_or_path:
        name_or_path = DEFAULT_IR
    path = Path(name_or_path)
    if path.is_file():
        return path.resolve()
    for candidate in (IR_DIR / name_or_path, IR_DIR / f"{name_or_path}.wav"):
        if candidate.is_file():
            return candidate
    available = ", ".join(sorted(p.name for p in IR_DIR.glob("*.wav"))) or "none: install guitarix-common"
    raise SynthError(f"cabinet IR {name_or_path!r} not found (not a file, not in {IR_DIR}; there: {available})")


def load_ir(path: Path, rate: int) -> np.ndarray:
    """The IR as float64 mono at `rate`, scaled to unit energy and IR_GAIN_DB."""
    try:
        ir, ir_rate = sf.read(str(path), dtype="float64", always_2d=True)
    except RuntimeError as err:
        raise SynthError(f"cannot read cabinet IR {path}: {err}") from err
    ir = ir.mean(axis=1)
    if ir_rate != rate:
        ratio = Fraction(rate, ir_rate)
        ir = scipy.signal.resample_poly(ir, ratio.numerator, ratio.denominator)
    energy = float(np.sqrt(np.sum(ir**2)))
    if energy == 0.0:
        raise SynthError(f"cabinet IR {path} is silent")
    return ir / energy * 10.0 ** (IR_GAIN_DB / 20.0)


def apply_cab(audio: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Convolves `audio` with the IR (causal, same length out, float32)."""
    out = scipy.signal.fftconvolve(np.asarray(audio, dtype=np.float64), ir)[: len(audio)]
    return out.astype(np.float32)
