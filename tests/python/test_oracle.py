"""The numpy streaming oracle against Keras, for every model kind (small random models)."""

from __future__ import annotations

import numpy as np
import pytest

from valvenet.models.model_file import ModelFile
from valvenet.models import config, keras_models
from valvenet.models.oracle import Oracle

RATE = 48000
SMALL = {
    "gated_wavenet": config.gated_wavenet(6, 4),
    "nam_wavenet": config.PRESETS["nam-nano"],
    "nam_wavenet_relu": config.nam_wavenet((3, 2), [[1, 2, 4], [8, 16, 1, 2]], activation="relu"),
    "lstm": config.recurrent("lstm", 6),
    "gru": config.recurrent("gru", 5, skip=False),
}

# What Neural Amp Modeler captures add (export/nam.py): gated layer arrays, Fasttanh and
# LeakyReLU, and NAM's LSTM (stacked, a learned initial state, no skip).
_GATED = config.nam_wavenet((4, 3), [[1, 2, 4], [8, 1, 2]], activation="fasttanh")
_GATED["layer_arrays"][0]["gated"] = True
_GATED["layer_arrays"][1] |= {"gated": True, "activation": "leakyrelu"}
_MIXED = config.nam_wavenet((3, 2), [[1, 4], [2, 1]], activation="leakyrelu")
_MIXED["layer_arrays"][0]["activation"] = "fasttanh"
NAM_EXTRAS = {
    "nam_wavenet_gated": _GATED,
    "nam_wavenet_fasttanh_leakyrelu": _MIXED,
    "lstm_nam_stacked": {**config.recurrent("lstm", 5, skip=False), "layers": 2, "initial_state": True},
    "lstm_nam_one_layer": {**config.recurrent("lstm", 6, skip=False), "layers": 1, "initial_state": True},
}


def guitar_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Decaying plucked tones with silences: audio-like level and dynamics."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    x = np.zeros(n)
    for start in np.arange(0.0, seconds, 0.25):
        f = rng.choice([82.4, 110.0, 146.8, 196.0, 246.9, 329.6])
        mask = t >= start
        x[mask] += rng.uniform(0.05, 0.6) * np.sin(2 * np.pi * f * (t[mask] - start)) * np.exp(-(t[mask] - start) * 6)
    return x.astype(np.float32)


def random_keras(cfg: dict, seed: int):  # type: ignore[no-untyped-def]
    model = keras_models.build(cfg, seed=seed)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:  # non-zero biases too, so the zero initial state really is tested
            layer.set_weights([w + 0.2 * rng.standard_normal(w.shape).astype(np.float32) for w in weights])
    return model


@pytest.mark.parametrize("kind", sorted(SMALL | NAM_EXTRAS))
def test_oracle_matches_keras_from_the_first_sample(kind: str) -> None:
    cfg = (SMALL | NAM_EXTRAS)[kind]
    # recurrent oracles step in Python; the NAM extras' receptive fields are tens of samples
    seconds = 60.0 if "wavenet" in kind and kind not in NAM_EXTRAS else 6.0
    x = guitar_like(seconds)
    model = random_keras(cfg, seed=7)
    expected = model.predict(x[None, :, None], verbose=0)[0, :, 0]
    weights = keras_models.export_weights(model)
    meta = {"name": kind, "sample_rate": RATE, "input_gain": 1.0, "output_gain": 1.0}
    actual = Oracle(ModelFile(cfg, weights, meta)).process_all(x)
    assert np.std(expected) > 1e-3
    assert np.max(np.abs(actual - expected)) <= 1e-5
    assert np.max(np.abs(actual[:100] - expected[:100])) <= 1e-5


@pytest.mark.parametrize("kind", ["gated_wavenet", "nam_wavenet", "lstm"])
def test_block_size_does_not_change_the_output(kind: str) -> None:
    cfg = SMALL[kind]
    weights = keras_models.export_weights(random_keras(cfg, seed=3))
    oracle = Oracle(ModelFile(cfg, weights, {"name": kind, "sample_rate": RATE, "input_gain": 1.0, "output_gain": 1.0}))
    x = guitar_like(0.2)
    reference = oracle.process_all(x, block_size=4096)
    for block in (1, 7, 48):
        oracle.reset()
        np.testing.assert_allclose(oracle.process_all(x, block_size=block), reference, rtol=0, atol=1e-12)


def test_gains_scale_input_and_output() -> None:
    cfg = SMALL["lstm"]
    weights = keras_models.export_weights(random_keras(cfg, seed=5))
    x = guitar_like(0.05)
    plain = Oracle(ModelFile(cfg, weights, {"name": "g", "sample_rate": RATE, "input_gain": 1.0, "output_gain": 1.0}))
    gained = Oracle(ModelFile(cfg, weights, {"name": "g", "sample_rate": RATE, "input_gain": 2.0, "output_gain": 0.5}))
    np.testing.assert_allclose(gained.process_all(x), 0.5 * plain.process_all(2.0 * x), atol=1e-12)
