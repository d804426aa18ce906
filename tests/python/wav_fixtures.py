"""Test signals and WAV writing shared by the tests that drive the amp image (run, pedal)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 48000


def write(path: Path, audio: np.ndarray, rate: int = RATE) -> Path:
    """audio as a float32 WAV at path; returns the path."""
    sf.write(path, audio, rate, subtype="FLOAT")
    return path


def guitar_like(seconds: float) -> np.ndarray:
    """Plucked 110 Hz notes, four a second, decaying: a deterministic stand-in for a guitar."""
    t = np.arange(int(round(seconds * RATE))) / RATE
    return (0.3 * np.exp(-4 * (t % 0.25)) * np.sin(2 * np.pi * 110 * t)).astype(np.float32)
