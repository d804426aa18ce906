"""Outputs are written atomically: a failure leaves an earlier output as it was, and no
temporary file behind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from valvenet import atomic


def test_a_failed_write_keeps_the_earlier_output(tmp_path: Path) -> None:
    out = tmp_path / "take.wav"
    out.write_bytes(b"earlier result")
    with pytest.raises(RuntimeError):
        with atomic.replacing(out) as tmp:
            tmp.write_bytes(b"half a")
            raise RuntimeError("disk full")
    assert out.read_bytes() == b"earlier result"
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]


def test_a_finished_write_replaces_the_output(tmp_path: Path) -> None:
    out = tmp_path / "best.weights.h5"
    out.write_bytes(b"earlier result")
    with atomic.replacing(out) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".weights.h5")  # Keras and soundfile go by the name
        tmp.write_bytes(b"new")
    assert out.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"]


def test_wav_and_text(tmp_path: Path) -> None:
    audio = np.linspace(-0.5, 0.5, 100, dtype=np.float32)
    atomic.write_wav(tmp_path / "out.wav", audio, 48000)
    atomic.write_text(tmp_path / "out.json", "{}\n")
    read, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == 48000 and np.array_equal(read, audio)
    assert (tmp_path / "out.json").read_text() == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "out.wav"]
