"""The DI material a distillation plays through its teacher, and its held-out split.

Why it is built this way:
- A teacher model can render its output for any input, so distillation needs dry guitar
  only: the built-in seeded performance (synth/, fluidsynth) plus any folders of real DI
  recordings. No target recordings, no latency to measure.
- Held-out material is a deterministic split of every source: its last HOLDOUT share, the
  first half for validation (best epoch, learning-rate schedule) and the second for the
  test figures. Training segments come only from the part before it, so a student is scored
  on playing it never heard. The held-out pieces are joined with silence longer than both
  receptive fields, so no piece's history leaks into the next.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HOLDOUT = 0.2  # share of every source kept out of training (half validation, half test)
BUILTIN_SEED = 0


class DistillError(ValueError):
    """A distillation input that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Source:
    """One dry recording: where it came from and its float32 mono samples."""

    name: str
    audio: np.ndarray
    path: Path | None = None


@dataclass(frozen=True)
class Material:
    """Training parts of every source, and the held-out validation and test signals."""

    train: list[np.ndarray]
    val: np.ndarray
    test: np.ndarray
    sources: list[dict[str, object]]  # name, seconds, sha256: what the run was made from


def builtin_performance(seconds: float, rate: int, seed: int = BUILTIN_SEED) -> Source:
    """`seconds` of the built-in seeded guitar performance, dry, rendered by fluidsynth."""
    from valvenet.synth.builder import SPLIT_SECONDS, BuildOptions, dry_guitar

    with tempfile.TemporaryDirectory(prefix="valvenet-di-") as tmp:
        options = BuildOptions(out=Path(tmp), seconds_scale=seconds / SPLIT_SECONDS["train"], seed=seed)
        audio, _ = dry_guitar("train", options, rate, Path(tmp))
    return Source(f"built-in performance (seed {seed}, {seconds:g} s)", np.asarray(audio, dtype=np.float32))


def read_di(path: Path, rate: int) -> Source:
    """One mono DI recording at the teacher's rate; DistillError naming the file otherwise."""
    import soundfile as sf

    try:
        audio, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError) as exc:
        raise DistillError(f"{path}: unreadable or corrupt audio file: {exc}") from exc
    if file_rate != rate:
        raise DistillError(f"{path}: sample rate {file_rate} Hz, the teacher runs at {rate} Hz; resample the DI")
    if audio.shape[1] != 1:
        raise DistillError(f"{path}: {audio.shape[1]} channels; a DI recording must be mono")
    if audio.shape[0] == 0 or not np.any(audio):
        raise DistillError(f"{path}: silent or empty; a DI recording must hold guitar")
    if not np.all(np.isfinite(audio)):
        raise DistillError(f"{path}: NaN or Inf samples")
    return Source(path.stem, np.ascontiguousarray(audio[:, 0]), path)


def read_di_folder(folder: Path, rate: int) -> list[Source]:
    """Every .wav file in a folder (sorted by name), each a DI recording."""
    if not folder.is_dir():
        raise DistillError(f"{folder}: DI folder not found (or not a folder)")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav" and p.is_file())
    if not files:
        raise DistillError(f"{folder}: no .wav files in the DI folder")
    return [read_di(p, rate) for p in files]


def _digest(audio: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(audio, dtype="<f4").tobytes()).hexdigest()


def split_material(sources: list[Source], gap: int, min_train: int) -> Material:
    """Each source's first 1 - HOLDOUT for training, the rest for validation then test, the
    held-out pieces joined by `gap` samples of silence. A source too short to give one training
    segment of `min_train` samples gives held-out material only."""
    silence = np.zeros(gap, dtype=np.float32)
    train, val, test, described = [], [silence], [silence], []
    for source in sources:
        n = source.audio.size
        cut = int(round(n * (1 - HOLDOUT)))
        middle = cut + (n - cut) // 2
        if cut >= min_train:
            train.append(source.audio[:cut])
        val += [source.audio[cut:middle], silence]
        test += [source.audio[middle:], silence]
        described.append({"name": source.name, "path": str(source.path) if source.path else None,
                          "samples": int(n), "trained_samples": int(cut if cut >= min_train else 0),
                          "sha256": _digest(source.audio)})
    if not train:
        raise DistillError(f"no DI source is long enough to train on: each needs more than "
                           f"{min_train / (1 - HOLDOUT):.0f} samples (a segment with its context, before the "
                           f"held-out {100 * HOLDOUT:g} %)")
    return Material(train, np.concatenate(val), np.concatenate(test), described)

