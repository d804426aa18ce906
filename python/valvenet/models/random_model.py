"""A model file with seeded random weights for a preset (Bazel tool of random_model_file()).

Instruction counts do not depend on weight values, so the benchmark zoo and the engine
tests use these instead of trained models. Weights are Glorot-uniform like Keras's default
initialiser (so activations see realistic ranges), biases small; numpy only, so the build
does not import TensorFlow. The int16 engine's scales (metadata "int16_scales") are
calibrated on calibrate.synthetic_guitar (seeded, 5 s): these models have no training data,
and a guitar-like signal gives their activations realistic ranges.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from valvenet.models import calibrate
from valvenet.models.model_file import ModelFile, save
from valvenet.models import config, knobs
from valvenet.models.shapes import expected_shapes

CALIBRATION_SECONDS = 5.0


def random_tensors(cfg: dict, seed: int) -> dict:
    """Glorot-uniform weights and small uniform biases for every tensor `cfg` needs."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in sorted(expected_shapes(cfg).items()):
        if len(shape) == 1 or name.endswith("rnn.bias"):
            tensors[name] = rng.uniform(-0.1, 0.1, shape).astype(np.float32)
        else:
            fan_in = int(np.prod(shape[:-1]))
            limit = np.sqrt(6.0 / (fan_in + shape[-1]))
            tensors[name] = rng.uniform(-limit, limit, shape).astype(np.float32)
    return tensors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="random_model", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", required=True, choices=sorted(config.PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sample-rate", type=int, default=48000)
    parser.add_argument("--knobs", default="", help="comma-separated knob names (each 0..1, default 0.5): "
                        "a model conditioned on them (models/knobs.py)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    cfg = config.PRESETS[args.preset]
    if args.knobs:
        cfg = knobs.with_knobs(cfg, [knobs.knob(name, 0.0, 1.0) for name in args.knobs.split(",")])
    weights = random_tensors(cfg, args.seed)
    meta = {"name": args.preset, "sample_rate": args.sample_rate, "input_gain": 1.0, "output_gain": 1.0,
            "training": {"random_weights_seed": args.seed}}
    model = ModelFile(cfg, weights, meta)
    audio = calibrate.synthetic_guitar(CALIBRATION_SECONDS, args.sample_rate, seed=args.seed)
    save(calibrate.with_scales(model, audio), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
