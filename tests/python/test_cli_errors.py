"""Every `valvenet` subcommand answers bad input the same way: one line on stderr that names
the file, exit status 2, no traceback.

Each case runs the real command in a subprocess, as a user would. None trains, converts or
boots an emulator: the checks must come before that work (`run` and `pedal` get a serial port
that does not exist, so a check that came after opening the device would name the port, not
the file). The commands run a few at a time, so the whole file takes seconds per core.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

from valvenet.models import config
from valvenet.models.model_file import ModelFile, save
from valvenet.models.shapes import expected_shapes

RATE = 48000
NAME = "amp"
SPLIT_SAMPLES = 16000  # a third of a second: enough for one lstm-8 training segment (1024 + 2048)
COMMAND_TIMEOUT_S = 120  # one command that imports numpy and scipy on a slow, busy 2-core machine
CLIP_SAMPLES = 4000  # fits the pedal's software source
NO_PORT = "serial:/nonexistent/tty-valvenet"


def guitar_like(samples: int, seed: int) -> np.ndarray:
    """Decaying noise bursts, four a second: not silent, not clipped, finite."""
    t = np.arange(samples) / RATE
    noise = np.random.default_rng(seed).uniform(-1.0, 1.0, samples)
    return (0.3 * np.exp(-4 * (t % 0.25)) * noise).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray, rate: int = RATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, subtype="FLOAT")
    return path


Breaker = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, int]]


def write_dataset(root: Path, breaks: Breaker | None = None, samples: int = SPLIT_SAMPLES) -> Path:
    """ROOT/{train,val,test}/amp-{input,target}.wav; `breaks` spoils the train split's pair:
    (input, target) -> (input, target, target's sample rate)."""
    for seed, split in enumerate(("train", "val", "test")):
        x = guitar_like(samples, seed)
        y, target_rate = np.tanh(3 * x) * 0.5, RATE
        if breaks is not None and split == "train":
            x, y, target_rate = breaks(x, y)
        write_wav(root / split / f"{NAME}-input.wav", x)
        write_wav(root / split / f"{NAME}-target.wav", y, target_rate)
    return root


def with_nan(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x[100] = np.nan
    return x


# kind -> (how the train split is broken, which of its files the message must name)
BAD_DATASETS: dict[str, tuple[Breaker, str]] = {
    "stereo": (lambda x, y: (np.stack([x, x], axis=1), y, RATE), "input"),
    "rate": (lambda x, y: (x, y, 44100), "target"),
    "length": (lambda x, y: (x, np.concatenate([y, y[:500]]), RATE), "target"),
    "nan": (lambda x, y: (with_nan(x), y, RATE), "input"),
    "silence": (lambda x, y: (x, np.zeros_like(y), RATE), "target"),
}


class Files:
    """The inputs of every case, good and bad, under one folder (those named no_* do not exist)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.model, self.truncated, self.corrupt = root / "model.vnet", root / "truncated", root / "corrupt"
        self.data, self.short, self.no_data = root / "data", root / "short", root / "no-data"
        self.clip, self.garbage, self.no_wav = root / "clip.wav", root / "garbage.wav", root / "no.wav"
        self.out_wav, self.no_dir, self.a_file = root / "out.wav", root / "no-folder", root / "a-file"
        self.c_out, self.tflite_out, self.train_out = root / "c", root / "tflite", root / "run"
        self.no_model, self.no_elf, self.bench_out = root / "no.vnet", root / "no.elf", root / "bench"


def make_files(root: Path) -> Files:
    files = Files(root)
    cfg = config.PRESETS["nam-nano"]  # a WaveNet (TFLite takes those only), receptive field 4093
    rng = np.random.default_rng(0)
    tensors = {n: (0.3 * rng.standard_normal(s)).astype(np.float32) for n, s in expected_shapes(cfg).items()}
    save(ModelFile(cfg, tensors, {"name": "nano", "sample_rate": RATE, "input_gain": 1.0, "output_gain": 1.0}),
         files.model)
    raw = files.model.read_bytes()
    files.truncated.write_bytes(raw[:20])
    corrupt = bytearray(raw)
    corrupt[len(raw) // 2] ^= 0xFF
    files.corrupt.write_bytes(bytes(corrupt))
    write_dataset(files.data)
    for kind, (breaks, _) in BAD_DATASETS.items():
        write_dataset(root / f"data-{kind}", breaks)
    write_dataset(files.short, samples=200)  # within nam-nano's warm-up; shorter than one lstm-8 segment
    write_wav(files.clip, guitar_like(CLIP_SAMPLES, 9))
    files.garbage.write_bytes(b"RIFF\x10\x00\x00\x00WAVEnot audio at all")
    files.a_file.write_text("not a folder")
    return files


@dataclass(frozen=True)
class Case:
    argv: Callable[[Files], list[object]]
    named: Callable[[Files], Path]  # the file the error line must name


def model_cases(command: str, argv: Callable[[Files, Path], list[object]]) -> dict[str, Case]:
    """`command` given a truncated, a corrupt and a missing model file."""
    return {f"{command}-{kind}-model": Case(lambda f, kind=kind: argv(f, getattr(f, kind)),
                                            lambda f, kind=kind: getattr(f, kind))
            for kind in ("truncated", "corrupt", "no_model")}


def dataset_cases(command: str, argv: Callable[[Files, Path], list[object]], kinds: list[str]) -> dict[str, Case]:
    """`command` given a dataset whose train split is broken in each of `kinds` ways."""
    def folder(f: Files, kind: str) -> Path:
        return f.short if kind == "short" else f.root / f"data-{kind}"

    def split_file(f: Files, kind: str) -> Path:
        role = BAD_DATASETS[kind][1] if kind in BAD_DATASETS else "input"
        return folder(f, kind) / "train" / f"{NAME}-{role}.wav"

    cases = {f"{command}-{kind}-dataset": Case(lambda f, kind=kind: argv(f, folder(f, kind)),
                                               lambda f, kind=kind: split_file(f, kind)) for kind in kinds}
    cases[f"{command}-missing-dataset"] = Case(lambda f: argv(f, f.no_data), lambda f: f.no_data)
    return cases


def eval_argv(f: Files, model: Path | None = None, data: Path | None = None) -> list[object]:
    return ["eval", "--model", model or f.model, "--data", data or f.data, "--name", NAME, "--split", "train"]


def tflite_argv(f: Files, model: Path | None = None, data: Path | None = None) -> list[object]:
    return ["export", "tflite", "--model", model or f.model, "--data", data or f.data, "--name", NAME,
            "--out", f.tflite_out]


def train_argv(f: Files, data: Path) -> list[object]:
    return ["train", "--model", "lstm-8", "--data", data, "--name", NAME, "--out", f.train_out]


def run_argv(f: Files, model: Path, wav: Path, out: Path) -> list[object]:
    return ["run", "--target", NO_PORT, "--model", model, wav, out]


def pedal_argv(wav: Path, out: Path) -> list[object]:
    return ["pedal", "--target", NO_PORT, "--input", wav, "--output", out]


ALL_DATASET_KINDS = [*BAD_DATASETS, "short"]
CASES: dict[str, Case] = {
    **dataset_cases("eval", lambda f, d: eval_argv(f, data=d), ALL_DATASET_KINDS),
    **dataset_cases("train", train_argv, ALL_DATASET_KINDS),
    **dataset_cases("export-tflite", lambda f, d: tflite_argv(f, data=d), list(BAD_DATASETS)),  # pads short audio
    **model_cases("eval", lambda f, m: eval_argv(f, model=m)),
    **model_cases("export-tflite", lambda f, m: tflite_argv(f, model=m)),
    **model_cases("export-c", lambda f, m: ["export", "c", "--model", m, "--out", f.c_out]),
    **model_cases("process", lambda f, m: ["process", "--model", m, f.clip, f.out_wav]),
    **model_cases("run", lambda f, m: run_argv(f, m, f.clip, f.out_wav)),
    "process-missing-input": Case(lambda f: ["process", "--model", f.model, f.no_wav, f.out_wav], lambda f: f.no_wav),
    "process-garbage-input": Case(lambda f: ["process", "--model", f.model, f.garbage, f.out_wav], lambda f: f.garbage),
    "process-missing-cab": Case(lambda f: ["process", "--model", f.model, "--cab", f.no_wav, f.clip, f.out_wav],
                                lambda f: f.no_wav),
    "process-missing-output-folder": Case(lambda f: ["process", "--model", f.model, f.clip, f.no_dir / "o.wav"],
                                          lambda f: f.no_dir / "o.wav"),
    "process-output-is-input": Case(lambda f: ["process", "--model", f.model, f.clip, f.clip], lambda f: f.clip),
    "run-missing-input": Case(lambda f: run_argv(f, f.model, f.no_wav, f.out_wav), lambda f: f.no_wav),
    "run-garbage-input": Case(lambda f: run_argv(f, f.model, f.garbage, f.out_wav), lambda f: f.garbage),
    "run-missing-output-folder": Case(lambda f: run_argv(f, f.model, f.clip, f.no_dir / "o.wav"),
                                      lambda f: f.no_dir / "o.wav"),
    "run-output-is-input": Case(lambda f: run_argv(f, f.model, f.clip, f.clip), lambda f: f.clip),
    "pedal-missing-input": Case(lambda f: pedal_argv(f.no_wav, f.out_wav), lambda f: f.no_wav),
    "pedal-garbage-input": Case(lambda f: pedal_argv(f.garbage, f.out_wav), lambda f: f.garbage),
    "pedal-missing-output-folder": Case(lambda f: pedal_argv(f.clip, f.no_dir / "o.wav"),
                                        lambda f: f.no_dir / "o.wav"),
    "pedal-output-is-input": Case(lambda f: pedal_argv(f.clip, f.clip), lambda f: f.clip),
    "dataset-build-out-is-a-file": Case(lambda f: ["dataset", "build", "--out", f.a_file], lambda f: f.a_file),
    "train-out-is-a-file": Case(lambda f: ["train", "--model", "lstm-8", "--data", f.data, "--name", NAME,
                                           "--out", f.a_file], lambda f: f.a_file),
    "export-c-out-is-a-file": Case(lambda f: ["export", "c", "--model", f.model, "--out", f.a_file],
                                   lambda f: f.a_file),
    "bench-missing-firmware": Case(lambda f: ["bench", "--firmware", f.no_elf, "--out", f.bench_out],
                                   lambda f: f.no_elf),
}


def run_cli(argv: list[object]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-m", "valvenet.cli", *map(str, argv)], capture_output=True, text=True,
                          env=env, timeout=COMMAND_TIMEOUT_S)


Outcomes = dict[str, tuple["subprocess.CompletedProcess[str]", Path]]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    """Every case's finished command and the file it must name; a few commands at a time."""
    files = make_files(tmp_path_factory.mktemp("cli-errors"))
    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        runs = {name: pool.submit(run_cli, case.argv(files)) for name, case in CASES.items()}
        return {name: (runs[name].result(), CASES[name].named(files)) for name in CASES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gets_one_line_naming_the_file_and_exit_status_2(name: str, outcomes: Outcomes) -> None:
    done, named = outcomes[name]
    assert "Traceback (most recent call last)" not in done.stderr, done.stderr
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"valvenet {done.args[3]}: error: ")  # args: python -m valvenet.cli COMMAND ...
    assert str(named) in lines[0]
    if name.endswith("-output-is-input"):
        assert sf.info(str(named)).frames == CLIP_SAMPLES  # the input is still there, untouched
