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


def assert_engine_matches(y: np.ndarray, want: np.ndarray, precision: str) -> None:
    """The amp image's output against a float64 reference, to its engine's bound: float32
    within 1e-4 (max abs error), int16 at most 1e-3 ESR (the self-test's bounds). The amp's
    precision follows its default model by measured fit (firmware/amp_fit.bzl)."""
    if precision == "float32":
        assert np.max(np.abs(y - want)) <= 1e-4
    else:
        esr = float(np.sum((y.astype(np.float64) - want) ** 2) / np.sum(np.asarray(want, np.float64) ** 2))
        assert esr <= 1e-3, f"{precision} engine: ESR {esr:.2e} against the reference"
