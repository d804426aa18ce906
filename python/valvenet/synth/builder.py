"""Builds the built-in dataset: generated guitar performance -> fluidsynth -> guitarix amp.

Layout (the Automated-GuitarAmpModelling / CoreAudioML convention, so existing loaders read it):

    DIR/{train,val,test}/NAME-input.wav    dry guitar, float32 mono 48 kHz, peak -6 dBFS
    DIR/{train,val,test}/NAME-target.wav   the amp's output for that input
    DIR/meta.json                          everything needed to trust and reproduce the files

NAME is the preset (`crunch`), with `-cab` appended when a cabinet IR is applied. Each split has
its own seed derived from --seed, so no phrase repeats across splits.

A knob sweep (`--sweep gain=0..1:5,tone=0..1:3`, see sweep.py) replaces the presets: NAME is the
setting (`gain=0.25,tone=0.5`), every training-grid setting in train, those plus the settings
between them in val and test (shorter: SWEEP_EVAL_SECONDS per setting, as every setting is
validated every epoch). The settings of a split share one dry performance (re-amping: the input
files are hard links to one file), and meta.json's `knobs` table gives each clip's knob values. The build is
reproducible: the same options and tools give byte-identical WAVs and meta.json (no
timestamps; the WAV writer adds no dated chunks).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io.wavfile
from tqdm import tqdm

from valvenet import atomic
from valvenet.synth import amp, cab, midi, performance, render, sweep
from valvenet.synth.errors import SynthError

FORMAT = "valvenet-dataset"
FORMAT_VERSION = 1
SPLIT_SECONDS: dict[str, float] = {"train": 180.0, "val": 30.0, "test": 30.0}
SWEEP_EVAL_SECONDS = 6.0  # val and test, per setting, of a knob sweep
DEFAULT_PRESETS: tuple[str, ...] = ("clean", "crunch", "highgain")
MIN_SPLIT_SECONDS = 0.5


@dataclass(frozen=True)
class BuildOptions:
    """What `valvenet dataset build` was asked for.

    cab: None for no cabinet, "" for the default IR (cab.DEFAULT_IR), else an IR name or path.
    """

    out: Path
    presets: tuple[str, ...] = DEFAULT_PRESETS
    seconds_scale: float = 1.0
    seed: int = 0
    cab: str | None = None
    sweep: str | None = None  # knob sweep spec (sweep.py); replaces the presets


def split_seed(seed: int, split: str) -> int:
    """A per-split seed (63 bits) derived from the user's seed: splits never share material."""
    digest = hashlib.sha256(f"valvenet-dataset:{seed}:{split}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def split_seconds(opts: BuildOptions) -> dict[str, float]:
    """Each split's length in seconds (before --seconds-scale): a sweep's val and test clips
    are SWEEP_EVAL_SECONDS per setting."""
    if opts.sweep is None:
        return dict(SPLIT_SECONDS)
    return {"train": SPLIT_SECONDS["train"], "val": SWEEP_EVAL_SECONDS, "test": SWEEP_EVAL_SECONDS}


def split_samples(split: str, seconds_scale: float, rate: int, seconds: dict[str, float] | None = None) -> int:
    """A split's length in samples: its default length (or `seconds[split]`) times --seconds-scale."""
    return int(round((seconds or SPLIT_SECONDS)[split] * seconds_scale * rate))


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """float32 mono WAV. scipy, not soundfile: libsndfile stamps float WAVs with the time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.replacing(path) as tmp:
        scipy.io.wavfile.write(str(tmp), rate, np.asarray(audio, dtype=np.float32))


def _dbfs(value: float) -> float | None:
    return None if value <= 0.0 else round(20.0 * float(np.log10(value)), 2)


def levels(audio: np.ndarray) -> dict[str, float | None]:
    """Peak and RMS level in dBFS (None for digital silence)."""
    x = np.asarray(audio, dtype=np.float64)
    return {"peak_dbfs": _dbfs(float(np.max(np.abs(x)))), "rms_dbfs": _dbfs(float(np.sqrt(np.mean(x**2))))}


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file: meta.json's proof that a rebuild gave the same bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_version(package: str) -> str:
    """A Debian package's version (dpkg-query), or "unknown" off Debian."""
    try:
        proc = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    except OSError:
        return "unknown"
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else "unknown"


def tool_versions(with_cab: bool) -> dict[str, str]:
    """Versions of the tools and data packages the bytes depend on (a rebuild needs the same)."""
    packages = ["fluidsynth", "fluid-soundfont-gm", "guitarix-lv2"] + (["guitarix-common"] if with_cab else [])
    versions = {f"deb:{p}": package_version(p) for p in packages}
    versions["fluidsynth"] = render.fluidsynth_version()
    return versions


def dry_guitar(split: str, opts: BuildOptions, rate: int, tmp: Path) -> tuple[np.ndarray, dict]:
    """The split's performance, rendered and normalised; plus what meta.json says about it."""
    seed = split_seed(opts.seed, split)
    samples = split_samples(split, opts.seconds_scale, rate, split_seconds(opts))
    perf = performance.generate_performance(seed, samples / rate)
    midi_path = tmp / f"{split}.mid"
    midi.write_midi(perf, midi_path)
    audio = render.normalise_peak(render.render_midi(midi_path, samples, rate))
    info = {"seed": seed, "samples": samples, "seconds": samples / rate, "midi_sha256": sha256_file(midi_path)}
    return audio, info


def _file_entry(out: Path, path: Path, audio: np.ndarray) -> tuple[str, dict]:
    return path.relative_to(out).as_posix(), {"sha256": sha256_file(path), **levels(audio)}


def process_split(split: str, dry: np.ndarray, opts: BuildOptions, ctx: dict, bar: tqdm) -> dict[str, dict]:
    """Runs every preset over one split's dry guitar and writes the input/target pairs."""
    files = {}
    for preset in opts.presets:
        bar.set_description(f"{split}: {preset}")
        target = amp.run_amp(dry, amp.preset_controls(preset), ctx["rate"], ctx["host"])
        if ctx["ir"] is not None:
            target = cab.apply_cab(target, ctx["ir"])
        name = preset + ("-cab" if ctx["ir"] is not None else "")
        for role, audio in (("input", dry), ("target", target)):
            path = opts.out / split / f"{name}-{role}.wav"
            write_wav(path, audio, ctx["rate"])
            key, entry = _file_entry(opts.out, path, audio)
            files[key] = entry
        bar.update(1)
    return files


def process_sweep_split(split: str, dry: np.ndarray, opts: BuildOptions, ctx: dict, bar: tqdm) -> dict[str, dict]:
    """Runs the amp at every setting of a split over its dry guitar; the input files of the
    split are hard links to its first (the same bytes, stored once)."""
    files, first_input = {}, None
    for settings in ctx["settings"][split]:
        name = sweep.format_setting(settings) + ("-cab" if ctx["ir"] is not None else "")
        bar.set_description(f"{split}: {name}")
        target = amp.run_amp(dry, sweep.controls_at(settings), ctx["rate"], ctx["host"])
        if ctx["ir"] is not None:
            target = cab.apply_cab(target, ctx["ir"])
        input_path = opts.out / split / f"{name}-input.wav"
        if first_input is None:
            write_wav(input_path, dry, ctx["rate"])
            first_input = input_path
        else:
            input_path.unlink(missing_ok=True)
            os.link(first_input, input_path)
        target_path = opts.out / split / f"{name}-target.wav"
        write_wav(target_path, target, ctx["rate"])
        for path, audio in ((input_path, dry), (target_path, target)):
            key, entry = _file_entry(opts.out, path, audio)
            files[key] = entry
        ctx["clips"][split][name] = settings
    bar.update(1)
    return files


def sweep_settings(spec: str) -> dict[str, list[dict[str, float]]]:
    """Each split's knob settings: the grid's combinations for train; those and the settings
    between them for val and test."""
    grid = sweep.parse_sweep(spec)
    train = sweep.training_settings(grid)
    scored = train + sweep.between_settings(grid)
    return {"train": train, "val": scored, "test": scored}


def validate(opts: BuildOptions) -> None:
    """Rejects options that would give an empty or ambiguous dataset, before any work."""
    if opts.out.exists() and not opts.out.is_dir():
        raise SynthError(f"{opts.out}: exists and is not a folder (--out names the dataset's folder)")
    if opts.sweep is not None:
        sweep_settings(opts.sweep)
    for preset in opts.presets:
        amp.preset_controls(preset)
    if len(set(opts.presets)) != len(opts.presets):
        raise SynthError("a preset is named twice")
    if not opts.seconds_scale > 0:
        raise SynthError("--seconds-scale must be positive")
    shortest = min(split_seconds(opts).values()) * opts.seconds_scale
    if shortest < MIN_SPLIT_SECONDS:
        raise SynthError(
            f"--seconds-scale {opts.seconds_scale} makes a split {shortest:.2f} s long (min {MIN_SPLIT_SECONDS} s)"
        )


def preset_meta(opts: BuildOptions, rate: int, host: Path, bar: tqdm) -> dict[str, dict]:
    """Each preset's controls and its measured THD (1 kHz, -20 dBFS, before any cabinet)."""
    bar.set_description("presets: THD")
    meta = {}
    for preset in opts.presets:
        controls = amp.preset_controls(preset)
        meta[preset] = {"controls": controls, "thd_1khz_-20dbfs": round(amp.measure_thd(controls, rate, host), 4)}
    bar.update(1)
    return meta


def cab_meta(ir_path: Path | None) -> dict | None:
    """Which IR made the -cab targets, and how it was scaled (None without a cabinet)."""
    if ir_path is None:
        return None
    return {
        "ir": str(ir_path),
        "ir_sha256": sha256_file(ir_path),
        "scaling": f"unit energy, then {cab.IR_GAIN_DB:+g} dB",
        "resampler": "scipy.signal.resample_poly",
    }


def base_meta(opts: BuildOptions, rate: int, ir_path: Path | None) -> dict:
    """The parts of meta.json known before any audio is made: options, sources, tools."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sample_rate": rate,
        "seed": opts.seed,
        "seconds_scale": opts.seconds_scale,
        "layout": "{split}/{name}-input.wav, {split}/{name}-target.wav (float32 mono WAV)",
        "input": {
            "source": "fluidsynth render of a generated MIDI performance",
            "soundfont": str(render.SOUNDFONT),
            "gm_programs": {"jazz": performance.PROGRAM_JAZZ, "clean": performance.PROGRAM_CLEAN, "muted": performance.PROGRAM_MUTED},
            "fluidsynth_gain": render.FLUIDSYNTH_GAIN,
            "downmix": "mean of left and right",
            "peak_dbfs": render.INPUT_PEAK_DBFS,
        },
        "amp": {"plugin": amp.PLUGIN_URI, "block_size": amp.BLOCK_SIZE, "preroll_seconds": amp.PREROLL_SECONDS},
        "cab": cab_meta(ir_path),
        "tools": tool_versions(ir_path is not None),
    }


def write_meta(out: Path, meta: dict) -> None:
    """meta.json with sorted keys and no timestamps, so a rebuild writes the same bytes."""
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    atomic.write_text(out / "meta.json", text)


def build_dataset(opts: BuildOptions, progress: bool = True) -> dict:
    """Builds the whole dataset into opts.out and returns what it wrote to meta.json."""
    validate(opts)
    rate = render.SAMPLE_RATE
    host = amp.find_lv2host()
    ir_path = cab.resolve_ir(opts.cab) if opts.cab is not None else None
    ctx = {"rate": rate, "host": host, "ir": cab.load_ir(ir_path, rate) if ir_path else None}
    meta = base_meta(opts, rate, ir_path)
    meta["splits"], meta["files"] = {}, {}
    opts.out.mkdir(parents=True, exist_ok=True)
    if opts.sweep is not None:
        ctx["settings"] = sweep_settings(opts.sweep)
        ctx["clips"] = {split: {} for split in SPLIT_SECONDS}
    steps = 1 if opts.sweep is not None else len(opts.presets)
    with tqdm(total=1 + len(SPLIT_SECONDS) * (1 + steps), unit="step", disable=not progress) as bar:
        if opts.sweep is None:
            meta["presets"] = preset_meta(opts, rate, host, bar)
        else:
            meta["knobs"] = knob_meta(opts.sweep, ctx["settings"], rate, host, bar)
        with tempfile.TemporaryDirectory(prefix="valvenet-dataset-") as tmp:
            for split in SPLIT_SECONDS:
                bar.set_description(f"{split}: guitar")
                dry, meta["splits"][split] = dry_guitar(split, opts, rate, Path(tmp))
                bar.update(1)
                process = process_split if opts.sweep is None else process_sweep_split
                meta["files"].update(process(split, dry, opts, ctx, bar))
    if opts.sweep is not None:
        meta["knobs"]["clips"] = ctx["clips"]
    write_meta(opts.out, meta)
    return meta


def knob_meta(spec: str, settings: dict[str, list[dict[str, float]]], rate: int, host: Path, bar: tqdm) -> dict:
    """meta.json's `knobs` table before the clips: the spec, its grid, the mapping to the
    amp's controls and the THD at each setting (1 kHz, -20 dBFS: how hard each one distorts)."""
    bar.set_description("settings: THD")
    grid = sweep.parse_sweep(spec)
    thd = {sweep.format_setting(s): round(amp.measure_thd(sweep.controls_at(s), rate, host), 4)
           for s in settings["val"]}
    bar.update(1)
    return {"sweep": spec, "names": list(grid), "grid": grid, "ranges": {n: [v[0], v[-1]] for n, v in grid.items()},
            "mapping": sweep.mapping_meta(), "thd_1khz_-20dbfs": thd}
