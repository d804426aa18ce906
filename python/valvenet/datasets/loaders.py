"""Loading input/target recording pairs from the layouts amp modellers publish, with validation.

Training on a bad pair fails slowly and obscurely (a NaN loss after an hour, a model that
learned a delay, a silent model), so every problem a recording can have is caught here, at
load time, with a `DatasetError` whose message starts with the offending file's path and says
what is wrong and by how much. Problems that still leave a usable pair (a clipped recording,
an uncertain latency estimate) are warnings: they go into `AudioPair.warnings` and are also
emitted with `warnings.warn` (category `DatasetWarning`).

Layouts:
- `load_split` / `load_dataset`: Automated-GuitarAmpModelling / CoreAudioML,
  `ROOT/{train,val,test}/NAME-input.wav` + `NAME-target.wav`, aligned by convention.
- `load_nam_pair`: one input/output pair as Neural Amp Modeler users record it; the output's
  latency is measured (cross-correlation, or NAM's calibration blips) and removed.
- `load_pattern`: a pair found by a file-name pattern with a `{role}` placeholder (the
  Schmitz & Embrechts amp dataset and other ad-hoc collections).

Rules (module constants):
- Audio is returned as float32 in [-1, 1], one channel. PCM of any width is scaled by
  libsndfile; float files with samples beyond full scale are rejected (rescaling silently
  would change how hard the model is driven).
- A multi-channel file needs `channel`; mono files are used as they are whatever `channel`
  says, so a mono DI can pair with one channel of a stereo amp recording.
- Lengths may differ by at most the delay plus LENGTH_TOLERANCE samples; after shifting the
  target earlier by the delay both are trimmed to the common length.
- Silent: peak below SILENCE_DBFS. Clipped: samples at |x| >= CLIP_LEVEL in runs of at least
  CLIP_RUN samples (a lone full-scale sample is a legitimate peak; a flat run is clipping).
- Latency: searched up to DEFAULT_MAX_DELAY_SECONDS over the first LATENCY_WINDOW_SECONDS of
  playing; a cross-correlation peak ratio below latency.MIN_CONFIDENCE is a warning, an
  output ahead of its input an error.
"""

from __future__ import annotations

import fnmatch
import math
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from valvenet.datasets.latency import (
    MIN_CONFIDENCE,
    LatencyError,
    LatencyEstimate,
    detect_delay_blips,
    detect_delay_xcorr,
)

SPLITS: tuple[str, ...] = ("train", "val", "test")
SILENCE_DBFS = -80.0
CLIP_LEVEL = 0.999
CLIP_RUN = 3
LENGTH_TOLERANCE = 1
DEFAULT_MAX_DELAY_SECONDS = 0.1
LATENCY_WINDOW_SECONDS = 3.0
_LISTED_FILES = 12


class DatasetError(ValueError):
    """A recording pair that cannot be used; the message starts with the offending file."""


class DatasetWarning(UserWarning):
    """A usable pair with a problem worth knowing (clipping, uncertain latency)."""


@dataclass(frozen=True, eq=False)
class AudioPair:
    """One aligned input/target pair, ready for training.

    input, target: float32 mono in [-1, 1], equal lengths.
    delay: samples the target was shifted earlier by to align it (0 for aligned layouts).
    warnings: problems that did not stop loading (also emitted as DatasetWarning).
    report: what was done, in words (latency found, samples kept).
    """

    input: np.ndarray
    target: np.ndarray
    sample_rate: int
    input_path: Path
    target_path: Path
    delay: int = 0
    warnings: tuple[str, ...] = ()
    report: str = ""

    @property
    def num_samples(self) -> int:
        """Samples in each of input and target."""
        return int(self.input.shape[0])

    @property
    def duration(self) -> float:
        """Seconds of audio in the pair."""
        return self.num_samples / self.sample_rate


# --------------------------------------------------------------------------- public loaders


def load_split(root: Path, name: str, split: str, channel: int | None = None,
               min_samples: int = 0) -> AudioPair:
    """Loads `root/split/name-input.wav` and `name-target.wav` (Automated-GuitarAmpModelling).

    That layout is aligned by its authors, so no latency is searched for: a length difference
    beyond LENGTH_TOLERANCE means the files do not belong together.
    """
    root = Path(root)
    if split not in SPLITS:
        raise DatasetError(f"{root}: unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    folder = root / split
    input_path, target_path = folder / f"{name}-input.wav", folder / f"{name}-target.wav"
    x, y, rate = _read_pair(input_path, target_path, channel)
    return _finish(x, y, rate, input_path, target_path, None, min_samples,
                   "aligned by the layout's convention")


def load_dataset(root: Path, name: str, channel: int | None = None,
                 min_samples: int = 0) -> dict[str, AudioPair]:
    """Loads the train, val and test splits of `name`; all must share one sample rate,
    because a model is trained for exactly one rate."""
    pairs = {split: load_split(root, name, split, channel, min_samples) for split in SPLITS}
    first = pairs[SPLITS[0]]
    for split in SPLITS[1:]:
        pair = pairs[split]
        if pair.sample_rate != first.sample_rate:
            raise DatasetError(f"{pair.input_path}: sample rate {pair.sample_rate} Hz in the {split} split "
                               f"differs from {first.sample_rate} Hz in the {SPLITS[0]} split "
                               f"({first.input_path})")
    return pairs


def load_nam_pair(input_path: Path, output_path: Path, channel: int | None = None,
                  max_delay_seconds: float | None = DEFAULT_MAX_DELAY_SECONDS, min_samples: int = 0,
                  blip_positions: Sequence[int] | None = None) -> AudioPair:
    """Loads one reamped input/output pair and removes the output's latency.

    The latency is measured from `blip_positions` (where the input's calibration clicks are,
    e.g. `NAM_V3_BLIPS`) when given, otherwise by cross-correlation over the first
    LATENCY_WINDOW_SECONDS of playing, searching up to `max_delay_seconds`. Pass
    `max_delay_seconds=None` for a pair known to be aligned already.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    x, y, rate = _read_pair(input_path, output_path, channel)
    if max_delay_seconds is None:
        return _finish(x, y, rate, input_path, output_path, None, min_samples, "no latency search (aligned)")
    estimate = _measure_latency(x, y, rate, input_path, output_path, max_delay_seconds, blip_positions)
    return _finish(x, y, rate, input_path, output_path, estimate, min_samples, estimate.describe(rate))


def load_pattern(root: Path, pattern: str, roles: Sequence[str] = ("input", "output"),
                 channel: int | None = None, max_delay_seconds: float | None = DEFAULT_MAX_DELAY_SECONDS,
                 min_samples: int = 0, blip_positions: Sequence[int] | None = None) -> AudioPair:
    """Finds the input and output files under `root` by a glob `pattern` with a `{role}`
    placeholder (e.g. "*{role}*.wav", roles ("input", "output")) and loads them as
    `load_nam_pair` does.

    Each role must match exactly one file; the role itself is matched case-insensitively
    because published datasets mix "Input" and "input". Collections of many amps and settings
    are selected by the fixed part of the pattern ("EnglRetro_gain5_*{role}*.wav").
    """
    root = Path(root)
    input_path, output_path = _find_pair(root, pattern, roles)
    return load_nam_pair(input_path, output_path, channel, max_delay_seconds, min_samples, blip_positions)


# --------------------------------------------------------------------------- reading one file


def _read_pair(input_path: Path, target_path: Path, channel: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Reads both files and checks what can be checked before alignment."""
    x, input_rate = _read_mono(input_path, channel)
    y, target_rate = _read_mono(target_path, channel)
    if input_rate != target_rate:
        raise DatasetError(f"{target_path}: sample rate {target_rate} Hz differs from the input's "
                           f"{input_rate} Hz ({input_path}); resample one of them")
    _check_not_silent(input_path, x, "input")
    _check_not_silent(target_path, y, "target")
    return x, y, input_rate


def _read_mono(path: Path, channel: int | None) -> tuple[np.ndarray, int]:
    """One channel of an audio file as float32, checked for finiteness and full scale."""
    data, rate = _read_file(path)
    mono = _pick_channel(path, data, channel)
    if mono.size == 0:
        raise DatasetError(f"{path}: contains no audio samples")
    _check_finite(path, mono, rate)
    _check_full_scale(path, mono)
    return mono, rate


def _read_file(path: Path) -> tuple[np.ndarray, int]:
    """Every channel as float32 (frames x channels); soundfile's errors gain the path."""
    if not path.exists():
        raise DatasetError(_missing_message(path))
    if not path.is_file():
        raise DatasetError(f"{path}: is not a file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        raise DatasetError(f"{path}: unreadable or corrupt audio file: {exc}") from exc
    return data, int(rate)


def _missing_message(path: Path) -> str:
    """Says which file is missing and what is there instead, since a typo is the usual cause."""
    folder = path.parent
    if not folder.is_dir():
        return f"{path}: file not found (folder {folder} does not exist)"
    present = sorted(p.name for p in folder.iterdir() if p.suffix.lower() == ".wav")
    if not present:
        return f"{path}: file not found (no .wav files in {folder})"
    return f"{path}: file not found; .wav files in {folder}: {_listing(present)}"


def _pick_channel(path: Path, data: np.ndarray, channel: int | None) -> np.ndarray:
    """The chosen channel of a multi-channel file; a mono file's only channel."""
    count = data.shape[1]
    if count == 1:
        return np.ascontiguousarray(data[:, 0])
    if channel is None:
        raise DatasetError(f"{path}: has {count} channels and no channel was chosen; "
                           f"a model learns one mono signal, so choose a channel (0..{count - 1})")
    if not 0 <= channel < count:
        raise DatasetError(f"{path}: channel {channel} is out of range: the file has {count} channels "
                           f"(0..{count - 1})")
    return np.ascontiguousarray(data[:, channel])


def _check_finite(path: Path, x: np.ndarray, rate: int) -> None:
    """NaN or Inf (possible in float files) would poison the first batch that contains them."""
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        first = int(bad[0])
        kind = "NaN" if math.isnan(float(x[first])) else "Inf"
        raise DatasetError(f"{path}: {kind} at sample {first} ({first / rate:.3f} s); "
                           f"{bad.size} non-finite samples in all")


def _check_full_scale(path: Path, x: np.ndarray) -> None:
    """Float files can exceed 1.0; the pipeline's gains assume [-1, 1]."""
    index = int(np.argmax(np.abs(x)))
    peak = float(abs(x[index]))
    if peak > 1.0:
        raise DatasetError(f"{path}: samples exceed full scale: peak {peak:.4g} "
                           f"({_dbfs(peak):+.1f} dBFS) at sample {index}; scale the file into [-1, 1] "
                           f"(an input and its target by the same gain, so the drive level is kept)")


def _check_not_silent(path: Path, x: np.ndarray, role: str) -> None:
    """A silent recording (wrong input on the interface, muted track) cannot train anything."""
    peak = float(np.max(np.abs(x)))
    if _dbfs(peak) < SILENCE_DBFS:
        detail = " (all samples are zero)" if peak == 0.0 else ""
        raise DatasetError(f"{path}: {role} is silent: peak {_dbfs(peak):.1f} dBFS{detail}, "
                           f"below the {SILENCE_DBFS:.0f} dBFS floor")


def _dbfs(peak: float) -> float:
    return 20.0 * math.log10(peak) if peak > 0.0 else -math.inf


# --------------------------------------------------------------------------- alignment


def _measure_latency(x: np.ndarray, y: np.ndarray, rate: int, input_path: Path, output_path: Path,
                     max_delay_seconds: float, blip_positions: Sequence[int] | None) -> LatencyEstimate:
    """Runs the chosen detector; its errors gain both paths."""
    if max_delay_seconds < 0:
        raise DatasetError(f"{output_path}: max_delay_seconds must be >= 0, got {max_delay_seconds}")
    max_delay = int(round(max_delay_seconds * rate))
    try:
        if blip_positions is not None:
            return detect_delay_blips(x, y, blip_positions, max_delay)
        return detect_delay_xcorr(x, y, max_delay, window=int(LATENCY_WINDOW_SECONDS * rate))
    except LatencyError as exc:
        raise DatasetError(f"{output_path}: cannot align with {input_path}: {exc}") from exc


def _finish(x: np.ndarray, y: np.ndarray, rate: int, input_path: Path, target_path: Path,
            estimate: LatencyEstimate | None, min_samples: int, how: str) -> AudioPair:
    """Aligns, trims and checks the pair, collects its warnings and builds the AudioPair."""
    delay = estimate.delay if estimate else 0
    x, y = _align(x, y, delay, input_path, target_path)
    if x.size < min_samples:
        after = f" after removing {delay} samples of latency" if delay else ""
        raise DatasetError(f"{input_path}: too short for one training segment: {x.size} samples{after}, "
                           f"need at least {min_samples}")
    notes = _latency_notes(estimate, target_path) + _clip_notes(x, input_path, "input") \
        + _clip_notes(y, target_path, "target")
    _emit(notes)
    report = f"{how}; {x.size} samples ({x.size / rate:.2f} s at {rate} Hz) kept"
    return AudioPair(input=x, target=y, sample_rate=rate, input_path=input_path, target_path=target_path,
                     delay=delay, warnings=notes, report=report)


def _emit(notes: Sequence[str]) -> None:
    """Warns once per note, attributed to the first caller outside this module (the user's
    line, however deeply the loaders call one another)."""
    frame, level = sys._getframe(0), 1
    while frame.f_back is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    for note in notes:
        warnings.warn(note, DatasetWarning, stacklevel=level)


def _align(x: np.ndarray, y: np.ndarray, delay: int, input_path: Path,
           target_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Shifts the target earlier by `delay` and trims both to the common length.

    The lengths may differ by up to the delay (the recorder may or may not have run on for
    the latency) plus LENGTH_TOLERANCE; more means the files are different takes or edits.
    """
    difference = abs(len(y) - len(x))
    if difference > delay + LENGTH_TOLERANCE:
        raise DatasetError(f"{target_path}: length {len(y)} samples does not match the input's {len(x)} "
                           f"samples ({input_path}): they differ by {difference}, more than the delay "
                           f"({delay}) plus {LENGTH_TOLERANCE} sample of tolerance; are they the same take?")
    shifted = y[delay:]
    common = min(len(x), len(shifted))
    return x[:common], shifted[:common]


def _latency_notes(estimate: LatencyEstimate | None, target_path: Path) -> tuple[str, ...]:
    """Warnings about the latency estimate itself."""
    if estimate is None:
        return ()
    notes = tuple(f"{target_path}: {note}" for note in estimate.notes)
    if estimate.method == "xcorr" and estimate.confidence < MIN_CONFIDENCE:
        notes += (f"{target_path}: latency estimate is uncertain: peak ratio {estimate.confidence:.2f} "
                  f"(below {MIN_CONFIDENCE:g}); check the alignment or give the input's blip positions",)
    return notes


def _clip_notes(x: np.ndarray, path: Path, role: str) -> tuple[str, ...]:
    """A warning when the recording clips: the model would learn the converter's clipping."""
    count = clipped_samples(x)
    if count == 0:
        return ()
    return (f"{path}: {role} clips: {count} samples ({100.0 * count / x.size:.3f} %) at |x| >= {CLIP_LEVEL} "
            f"in runs of {CLIP_RUN} or more; record with more headroom",)


def clipped_samples(x: np.ndarray, level: float = CLIP_LEVEL, run: int = CLIP_RUN) -> int:
    """Samples at |x| >= level that belong to runs of at least `run` consecutive such samples."""
    hot = np.concatenate(([0], (np.abs(x) >= level).astype(np.int8), [0]))
    edges = np.diff(hot)
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(lengths[lengths >= run].sum())


# --------------------------------------------------------------------------- file-name patterns


def _find_pair(root: Path, pattern: str, roles: Sequence[str]) -> tuple[Path, Path]:
    """The one file per role that `pattern` names under `root`."""
    if not root.is_dir():
        raise DatasetError(f"{root}: folder not found")
    if "{role}" not in pattern:
        raise DatasetError(f"{root}: pattern {pattern!r} has no {{role}} placeholder")
    if len(roles) != 2:
        raise DatasetError(f"{root}: expected two roles (input, output), got {list(roles)}")
    candidates = _glob_files(root, pattern.replace("{role}", "*"))
    found = [_match_role(root, pattern, role, candidates) for role in roles]
    if found[0] == found[1]:
        raise DatasetError(f"{found[0]}: matches both roles {roles[0]!r} and {roles[1]!r} of {pattern!r}")
    return found[0], found[1]


def _glob_files(root: Path, pattern: str) -> list[Path]:
    """Files matching a glob, with the "**" that filling "*{role}*" creates folded back to "*"."""
    parts = [part if part == "**" else re.sub(r"\*{2,}", "*", part) for part in pattern.split("/")]
    try:
        return sorted(p for p in root.glob("/".join(parts)) if p.is_file())
    except ValueError as exc:
        raise DatasetError(f"{root}: invalid file-name pattern {pattern!r}: {exc}") from exc


def _match_role(root: Path, pattern: str, role: str, candidates: list[Path]) -> Path:
    """Exactly one candidate whose relative path matches the pattern with this role filled in."""
    wanted = pattern.replace("{role}", role)
    regex = re.compile(fnmatch.translate(wanted), re.IGNORECASE)
    matches = [p for p in candidates if regex.match(p.relative_to(root).as_posix())]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        nearby = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix.lower() == ".wav")
        present = f"; .wav files there: {_listing(nearby)}" if nearby else "; there are no .wav files there"
        raise DatasetError(f"{root}: no file matches {wanted!r} for role {role!r}{present}")
    names = _listing([p.relative_to(root).as_posix() for p in matches])
    raise DatasetError(f"{root}: {len(matches)} files match {wanted!r} for role {role!r}: {names}; "
                       f"make the pattern more specific")


def _listing(names: Sequence[str]) -> str:
    """A comma-separated list, shortened when long."""
    shown = ", ".join(names[:_LISTED_FILES])
    more = len(names) - _LISTED_FILES
    return shown + (f" and {more} more" if more > 0 else "")
