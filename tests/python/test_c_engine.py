"""The generated C engine (built for the host) against the numpy oracle, every model kind.

Over 10 s of audio: max abs error <= 1e-4 with the fast activations, <= 1e-5 with libm's;
the output is bit-identical whatever the block size.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared helpers of test_oracle.py
from test_oracle import SMALL, guitar_like, random_keras  # noqa: E402
from valvenet.export.c_host import CEngine  # noqa: E402
from valvenet.export.model_file import ModelFile  # noqa: E402
from valvenet.models import config, keras_models  # noqa: E402
from valvenet.models.oracle import Oracle  # noqa: E402

MODELS = {**SMALL, "wavenet-10x8": config.PRESETS["wavenet-10x8"], "nam-feather": config.PRESETS["nam-feather"],
          "lstm-12": config.PRESETS["lstm-12"]}
SECONDS = 10.0


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    return guitar_like(SECONDS, seed=4)


@functools.cache
def model_file(kind: str) -> ModelFile:
    cfg = MODELS[kind]
    weights = keras_models.export_weights(random_keras(cfg, seed=11))
    return ModelFile(cfg, weights, {"name": kind, "sample_rate": 48000, "input_gain": 1.0, "output_gain": 1.0})


@functools.cache
def oracle_output(kind: str) -> np.ndarray:
    return Oracle(model_file(kind)).process_all(guitar_like(SECONDS, seed=4))


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("exact, bound", [(False, 1e-4), (True, 1e-5)])
def test_c_engine_matches_the_oracle(kind: str, exact: bool, bound: float, audio: np.ndarray) -> None:
    reference = oracle_output(kind)
    actual = CEngine(model_file(kind), exact_activations=exact).process_all(audio)
    assert np.std(reference) > 1e-3
    assert np.max(np.abs(actual - reference)) <= bound


@pytest.mark.parametrize("kind", ["gated_wavenet", "nam_wavenet", "lstm", "gru"])
def test_output_does_not_depend_on_block_size(kind: str, audio: np.ndarray) -> None:
    engine = CEngine(model_file(kind))
    x = audio[:48000]
    reference = engine.process_all(x, block_size=4096)
    for block in (1, 7, 48):
        engine.reset()
        assert np.array_equal(engine.process_all(x, block_size=block), reference)


def test_reset_returns_to_the_initial_state(audio: np.ndarray) -> None:
    engine = CEngine(model_file("lstm"))
    first = engine.process(audio[:4800])
    engine.process(audio[4800:9600])
    engine.reset()
    assert np.array_equal(engine.process(audio[:4800]), first)


def test_model_info_describes_the_model() -> None:
    model = model_file("wavenet-10x8")
    info = CEngine(model).info
    assert info.name.decode() == "wavenet-10x8"
    assert info.parameters == model.parameter_count()
    assert info.macs_per_sample == config.macs_per_sample(model.config)
    assert info.receptive_field == config.receptive_field(model.config)
    assert info.sample_rate == 48000
