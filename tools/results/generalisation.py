"""Generalisation check: trained models on real recorded guitar (not the sampled guitar
they were trained on).

    PYTHONPATH=python .venv/bin/python tools/results/generalisation.py RESULTS_DIR

Takes the ~24 s of recorded electric guitar in Debian's sonic-pi-samples (CC0), mono at
48 kHz, normalised to the built-in dataset's input peak (-6 dBFS), plays it through the
same guitarix amp preset each model was trained on, and reports the test ESR of every
model in RESULTS_DIR/runs on it (RESULTS_DIR/generalisation.{json,md}).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from valvenet.evaluate import evaluate_pair
from valvenet.models.model_file import load
from valvenet.synth import amp

SAMPLES = sorted(Path("/usr/share/sonic-pi/samples").glob("guit_*.flac"))
RATE = 48000
PEAK = 10 ** (-6 / 20)


@dataclass(frozen=True)
class Pair:
    """The fields of an AudioPair that evaluate_pair reads."""

    input: np.ndarray
    target: np.ndarray
    sample_rate: int
    input_path: Path


def recorded_guitar() -> np.ndarray:
    """All recorded guitar clips, mono, 48 kHz, half a second apart, peak -6 dBFS."""
    if not SAMPLES:
        raise SystemExit("no recorded guitar: apt-get install sonic-pi-samples")
    clips = []
    for path in SAMPLES:
        audio, rate = sf.read(str(path), dtype="float64", always_2d=True)
        mono = audio.mean(axis=1)
        g = gcd(rate, RATE)
        clips += [signal.resample_poly(mono, RATE // g, rate // g), np.zeros(RATE // 2)]
    guitar = np.concatenate(clips)
    return (PEAK * guitar / np.max(np.abs(guitar))).astype(np.float32)


def main(results: Path) -> None:
    guitar = recorded_guitar()
    targets: dict[str, np.ndarray] = {}
    rows = []
    for model_path in sorted(results.glob("runs/*/model.vnet")):
        model = load(model_path)
        preset = model.metadata["training"]["data_name"]
        if preset not in targets:
            targets[preset] = amp.run_amp(guitar, amp.preset_controls(preset), RATE)
        scores = evaluate_pair(model, Pair(guitar, targets[preset], RATE, SAMPLES[0]))
        rows.append({"preset": preset, "model": model.name, "seconds": guitar.size / RATE,
                     "sampled_test_esr_preemph": model.metadata["training"]["test"]["esr_preemph"],
                     "recorded_esr_preemph": scores["esr_preemph"], "recorded_esr": scores["esr"]})
    (results / "generalisation.json").write_text(json.dumps(rows, indent=2))
    lines = ["| amp preset | model | test ESR pre-emph (sampled guitar) | ESR pre-emph (recorded guitar) | ESR raw (recorded guitar) |",
             "|---|---|---:|---:|---:|"]
    lines += [f"| {r['preset']} | {r['model']} | {100 * r['sampled_test_esr_preemph']:.2f} % | "
              f"{100 * r['recorded_esr_preemph']:.2f} % | {100 * r['recorded_esr']:.2f} % |" for r in rows]
    (results / "generalisation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
