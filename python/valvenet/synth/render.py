"""The dry guitar: a MIDI performance played by fluidsynth on FluidR3_GM's sampled guitars.

Why these settings:
- 48000 Hz: the dataset's rate (the rate of Neural Amp Modeler's standard files, and of most
  audio interfaces); fluidsynth renders at that rate directly, so nothing is resampled.
- `-R 0 -C 0` (reverb and chorus off) and a fixed gain: the dry signal is the guitar alone, and
  fluidsynth's fast render (`-F`) is then byte-identical from run to run.
- fluidsynth renders stereo; the two channels are averaged to mono.
- The split is then scaled to a fixed peak (INPUT_PEAK_DBFS), so the level fed to the amp, and
  thus how hard it distorts, does not depend on which notes the seed happened to draw.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from valvenet.synth.errors import SynthError

SAMPLE_RATE = 48000
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
FLUIDSYNTH_GAIN = 0.5  # fluidsynth's default is 0.2; float output cannot clip either way
INPUT_PEAK_DBFS = -6.0


def fluidsynth_path() -> str:
    """The fluidsynth executable, or a SynthError that says which package to install."""
    path = shutil.which("fluidsynth")
    if path is None:
        raise SynthError("fluidsynth not found: install the Debian packages fluidsynth and fluid-soundfont-gm")
    return path


def fluidsynth_version() -> str:
    """fluidsynth's runtime version ("2.3.1"), recorded in meta.json."""
    out = subprocess.run([fluidsynth_path(), "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"runtime version\s+(\S+)", out) or re.search(r"version\s+(\S+)", out)
    return match.group(1) if match else "unknown"


def _check_soundfont(soundfont: Path) -> None:
    if not soundfont.is_file():
        raise SynthError(f"soundfont {soundfont} not found: install the Debian package fluid-soundfont-gm")


def _fluidsynth_command(soundfont: Path, midi: Path, raw_out: Path, rate: int) -> list[str]:
    return [
        fluidsynth_path(),
        "-n", "-i", "-q",  # no MIDI input driver, no shell, no banner
        "-R", "0", "-C", "0",
        "-g", str(FLUIDSYNTH_GAIN),
        "-r", str(rate),
        "-o", "synth.cpu-cores=1",
        "-T", "raw", "-O", "float", "-E", "little",
        "-F", str(raw_out),
        str(soundfont), str(midi),
    ]  # fmt: skip


def render_midi(midi: Path, samples: int, rate: int = SAMPLE_RATE, soundfont: Path = SOUNDFONT) -> np.ndarray:
    """Renders a MIDI file to `samples` mono float32 samples (cut, or padded with silence)."""
    _check_soundfont(soundfont)
    with tempfile.TemporaryDirectory(prefix="valvenet-render-") as tmp:
        raw = Path(tmp) / "render.raw"
        proc = subprocess.run(_fluidsynth_command(soundfont, Path(midi), raw, rate), capture_output=True, text=True)
        if proc.returncode != 0 or not raw.is_file():
            raise SynthError(f"fluidsynth failed on {midi} (exit {proc.returncode}): {proc.stderr.strip()}")
        stereo = np.fromfile(raw, dtype="<f4")
    if stereo.size % 2:
        raise SynthError("fluidsynth wrote an odd number of stereo samples")
    mono = stereo.reshape(-1, 2).astype(np.float64).mean(axis=1)
    out = np.zeros(samples, dtype=np.float64)
    out[: min(samples, mono.size)] = mono[:samples]
    if not np.any(out):
        raise SynthError(f"fluidsynth rendered only silence from {midi} (stderr: {proc.stderr.strip()})")
    return out.astype(np.float32)


def normalise_peak(audio: np.ndarray, peak_dbfs: float = INPUT_PEAK_DBFS) -> np.ndarray:
    """Scales `audio` so its largest absolute sample is `peak_dbfs` (float32 out)."""
    peak = float(np.max(np.abs(audio)))
    if peak == 0.0:
        raise SynthError("cannot normalise silence")
    gain = 10.0 ** (peak_dbfs / 20.0) / peak
    return (audio.astype(np.float64) * gain).astype(np.float32)
