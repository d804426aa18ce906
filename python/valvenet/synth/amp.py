"""The amp: guitarix's GxAmplifier-X LV2 plugin, run by this project's lv2host (tools/lv2host).

Presets are data (control values by port symbol), so meta.json can record exactly what made
each target, and a new preset is one more dict entry. The plugin's own cabinet is off in every
preset (`c_model` 18): the cabinet is a separate impulse response (see cab.py), as it is on the
firmware side.

THD (harmonics over fundamental, a 1 kHz sine at -20 dBFS) sorts the presets by how hard they
distort: clean ~1 %, crunch ~17 %, high gain ~78 % (shared/facts.md: ~1, ~16, ~78 %).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from valvenet import paths
from valvenet.synth.errors import SynthError

PLUGIN_URI = "http://guitarix.sourceforge.net/plugins/gx_amp#GUITARIX"
BLOCK_SIZE = 256  # fixed: the output is a function of the block size
PREROLL_SECONDS = 1.0  # silence run first and dropped: the plugin fades its output in

# GxAmplifier-X controls. model: tube stage (0 = 12ax7); t_model: tonestack (2 Twin Reverb,
# 4 JCM-800, 9 Mesa Boogie); c_model 18: internal cabinet off. MasterGain is a plain output
# gain (dB, no effect on THD), set so each target peaks near -3 dBFS for the -6 dBFS input:
# float WAVs could hold more, but loaders that clip at full scale are common.
PRESETS: dict[str, dict[str, float]] = {
    "clean": {
        "PreGain": -5.0, "Drive": 0.01, "Distortion": 1.0, "MasterGain": 15.0,
        "Bass": 0.5, "Middle": 0.5, "Treble": 0.6, "Presence": 5.0,
        "HIGHGAIN": 0.0, "model": 0.0, "t_model": 2.0, "c_model": 18.0,
    },
    "crunch": {
        "PreGain": 0.5, "Drive": 0.3, "Distortion": 1.0, "MasterGain": -6.0,
        "Bass": 0.5, "Middle": 0.6, "Treble": 0.6, "Presence": 5.0,
        "HIGHGAIN": 0.0, "model": 0.0, "t_model": 4.0, "c_model": 18.0,
    },
    "highgain": {
        "PreGain": 5.0, "Drive": 0.65, "Distortion": 60.0, "MasterGain": -13.5,
        "Bass": 0.6, "Middle": 0.4, "Treble": 0.6, "Presence": 6.0,
        "HIGHGAIN": 1.0, "model": 0.0, "t_model": 9.0, "c_model": 18.0,
    },
}  # fmt: skip

# The THD each preset is meant to have (fraction, 1 kHz at -20 dBFS): checked by the tests.
EXPECTED_THD: dict[str, tuple[float, float]] = {
    "clean": (0.0, 0.03),
    "crunch": (0.08, 0.30),
    "highgain": (0.5, 1.2),
}

LV2HOST_TARGET = "//tools/lv2host"
_RUNFILES_PATH = "tools/lv2host/lv2host"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _candidates() -> list[Path]:
    """Where a built lv2host may be, most specific first: in the source roots of valvenet.paths
    (a Bazel runfiles tree first: inside `bazel test`/`bazel run` the runfiles copy is the one
    Bazel just built, while the workspace's bazel-bin may be stale), then their bazel-bin and
    the current folder's."""
    roots = paths.source_roots()
    return ([root / _RUNFILES_PATH for root in roots] + [root / "bazel-bin" / _RUNFILES_PATH for root in roots]
            + [Path.cwd() / "bazel-bin" / _RUNFILES_PATH])


def find_lv2host() -> Path:
    """The lv2host binary: $VALVENET_LV2HOST, else Bazel's runfiles, else bazel-bin."""
    env = os.environ.get("VALVENET_LV2HOST")
    if env:
        path = Path(env).absolute()
        if not _executable(path):
            raise SynthError(f"VALVENET_LV2HOST={env} is not an executable file")
        return path
    for path in _candidates():
        if _executable(path):
            return path
    raise SynthError(f"lv2host not found: build it with `./bazelw build {LV2HOST_TARGET}` (or set VALVENET_LV2HOST)")


def preset_controls(name: str) -> dict[str, float]:
    """The control values of a named preset (a copy), or a SynthError listing the names."""
    if name not in PRESETS:
        raise SynthError(f"unknown preset {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return dict(PRESETS[name])


def _host_command(host: Path, controls: dict[str, float], rate: int) -> list[str]:
    command = [str(host), "--rate", str(rate), "--block", str(BLOCK_SIZE)]
    command += ["--preroll", str(int(round(PREROLL_SECONDS * rate)))]
    for name in sorted(controls):
        command += ["--set", f"{name}={controls[name]!r}"]
    return command + [PLUGIN_URI, "-", "-"]


def run_amp(audio: np.ndarray, controls: dict[str, float], rate: int, host: Path | None = None) -> np.ndarray:
    """Plays mono `audio` through the amp plugin; returns as many float32 samples."""
    host = host or find_lv2host()
    data = np.ascontiguousarray(audio, dtype="<f4").tobytes()
    proc = subprocess.run(_host_command(host, controls, rate), input=data, capture_output=True)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.decode(errors="replace").splitlines() if "error" in line]
        raise SynthError(lines[-1] if lines else f"lv2host failed (exit {proc.returncode})")
    out = np.frombuffer(proc.stdout, dtype="<f4")
    if out.size != audio.size:
        raise SynthError(f"lv2host returned {out.size} samples for {audio.size}")
    return out.astype(np.float32)


def sine(frequency: float, level_dbfs: float, seconds: float, rate: int) -> np.ndarray:
    """A test sine (float32) at a peak level in dBFS."""
    t = np.arange(int(round(seconds * rate))) / rate
    return (10.0 ** (level_dbfs / 20.0) * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def thd(audio: np.ndarray, frequency: float, rate: int, harmonics: int = 20) -> float:
    """Total harmonic distortion: RMS of harmonics 2..N over the fundamental (a fraction).

    One second of steady state, Blackman window; each harmonic is summed over +-3 bins so the
    window's main lobe is inside. Harmonics above Nyquist are left out.
    """
    segment = np.asarray(audio, dtype=np.float64)[-rate:]
    spectrum = np.abs(np.fft.rfft(segment * np.blackman(segment.size)))
    hz_per_bin = rate / segment.size

    def energy(f: float) -> float:
        k = int(round(f / hz_per_bin))
        return float(np.sum(spectrum[max(k - 3, 0) : k + 4] ** 2))

    top = [h * frequency for h in range(2, harmonics + 1) if h * frequency < rate / 2 - 4 * hz_per_bin]
    return float(np.sqrt(sum(energy(f) for f in top) / energy(frequency)))


def measure_thd(controls: dict[str, float], rate: int, host: Path | None = None) -> float:
    """THD of the amp at these controls for a 1 kHz sine at -20 dBFS (the presets' yardstick)."""
    out = run_amp(sine(1000.0, -20.0, 2.0, rate), controls, rate, host)
    return thd(out, 1000.0, rate)
