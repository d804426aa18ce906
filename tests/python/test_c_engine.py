"""The generated C engine (built for the host) against the numpy oracle, every model kind.

Over 10 s of audio: max abs error <= 1e-4 with the fast activations, <= 1e-5 with libm's;
the output is bit-identical whatever the block size (the engine cuts blocks into sub-blocks
of c_text.BLOCK samples and tiles them: sizes around those boundaries are tested too), in
place or not. The full receptive-field recompute baseline gives the streaming engine's output.
"""

from __future__ import annotations

import ctypes
import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared helpers of test_oracle.py
from test_oracle import NAM_EXTRAS, SMALL, guitar_like, random_keras  # noqa: E402
from valvenet.export import c_text  # noqa: E402
from valvenet.export.engines import registry  # noqa: E402
from valvenet.export.c_host import HOST_CFLAGS, CEngine, repo_root  # noqa: E402
from valvenet.models.model_file import ModelFile  # noqa: E402
from valvenet.models import config, keras_models  # noqa: E402
from valvenet.models.oracle import Oracle  # noqa: E402

# The stacked LSTM's 10 s through the Python oracle would take minutes: test_nam_lstm.py holds
# its C engine to NAM's output, the block size and reset tests below to itself.
MODELS = {**SMALL, **{k: v for k, v in NAM_EXTRAS.items() if k != "lstm_nam_stacked"},
          "wavenet-10x8": config.PRESETS["wavenet-10x8"], "nam-feather": config.PRESETS["nam-feather"],
          "lstm-12": config.PRESETS["lstm-12"]}
SECONDS = 10.0


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    return guitar_like(SECONDS, seed=4)


@functools.cache
def model_file(kind: str) -> ModelFile:
    cfg = (MODELS | NAM_EXTRAS)[kind]
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


@pytest.mark.parametrize("kind", ["gated_wavenet", "nam_wavenet", "nam_wavenet_relu", "lstm", "gru",
                                  "nam_wavenet_gated", "lstm_nam_stacked"])
def test_output_does_not_depend_on_block_size(kind: str, audio: np.ndarray) -> None:
    engine = CEngine(model_file(kind))
    x = audio[:48000]
    reference = engine.process_all(x, block_size=4096)
    sub = c_text.BLOCK
    for block in (1, 7, 48, sub - 1, sub, sub + 1, 2 * sub + 3):
        engine.reset()
        assert np.array_equal(engine.process_all(x, block_size=block), reference)


@pytest.mark.parametrize("kind", ["gated_wavenet", "nam_wavenet", "lstm"])
def test_processing_in_place_gives_the_same_output(kind: str, audio: np.ndarray) -> None:
    engine = CEngine(model_file(kind))
    x = np.ascontiguousarray(audio[:4800], dtype=np.float32)
    reference = engine.process(x)
    engine.reset()
    buffer = x.copy()
    engine._process(engine.state, buffer.ctypes.data, buffer.ctypes.data, ctypes.c_uint32(buffer.size))
    assert np.array_equal(buffer, reference)


@pytest.mark.parametrize("kind", ["gated_wavenet", "nam_wavenet", "lstm"])
def test_gains_scale_input_and_output(kind: str, audio: np.ndarray) -> None:
    plain = model_file(kind)
    gained = ModelFile(plain.config, plain.tensors, {**plain.metadata, "input_gain": 2.0, "output_gain": 0.25})
    x = audio[:9600]
    expected = Oracle(gained).process_all(x)
    for block in (48, 7):
        assert np.max(np.abs(CEngine(gained).process_all(x, block_size=block) - expected)) <= 1e-4


# kind -> seconds: small receptive fields (127 and 69 samples) reach the steady state (the
# window full) within 0.05 s; wavenet-10x8 (2047 samples) only its start, to keep the test short.
RECOMPUTE = {"gated_wavenet": 0.05, "nam_wavenet_relu": 0.05, "wavenet-10x8": 0.0125}


@pytest.mark.parametrize("kind", sorted(RECOMPUTE))
@pytest.mark.parametrize("exact", [False, True])
def test_full_recompute_baseline_equals_the_streaming_engine(kind: str, exact: bool, audio: np.ndarray) -> None:
    model, cfg = model_file(kind), MODELS[kind]
    x = audio[24000:24000 + int(RECOMPUTE[kind] * 48000)]  # starts mid-note: a non-zero first sample
    streaming = CEngine(model, exact_activations=exact).process_all(x, block_size=48)
    recompute = CEngine(model, exact_activations=exact, full_recompute=True)
    assert recompute.info.macs_per_sample == config.receptive_field(cfg) * config.macs_per_sample(cfg)
    actual = recompute.process_all(x, block_size=48)
    assert np.std(streaming) > 1e-3
    assert np.max(np.abs(actual - streaming)) <= 1e-5


def test_reset_returns_to_the_initial_state(audio: np.ndarray) -> None:
    engine = CEngine(model_file("lstm"))
    first = engine.process(audio[:4800])
    engine.process(audio[4800:9600])
    engine.reset()
    assert np.array_equal(engine.process(audio[:4800]), first)


@pytest.mark.parametrize("kind", ["lstm_nam_stacked", "lstm_nam_one_layer"])
def test_reset_returns_to_a_learned_initial_state(kind: str, audio: np.ndarray) -> None:
    engine = CEngine(model_file(kind))
    first = engine.process(audio[:480])
    engine.process(audio[480:960])
    engine.reset()
    assert np.array_equal(engine.process(audio[:480]), first)
    np.testing.assert_allclose(first, Oracle(model_file(kind)).process_all(audio[:480]), rtol=0, atol=1e-4)


@pytest.mark.parametrize("kind, feature", [("nam_wavenet_gated", "no gated NAM layers"),
                                           ("lstm_nam_stacked", "no stacked LSTM"),
                                           ("lstm_nam_one_layer", "no learned LSTM initial state")])
def test_int16_export_names_the_feature_it_cannot_express(kind: str, feature: str) -> None:
    with pytest.raises(c_text.CodegenError, match=feature):
        registry.generate_int16(model_file(kind), {})


def test_every_model_kind_has_a_float32_and_an_int16_engine() -> None:
    """The registry is how `export c` and the host engines find a kind's emitters: a kind that
    models/config.py accepts but the registry lacks could be trained and never exported."""
    assert set(registry.ENGINES) == set(config.KINDS) == set(c_text.KIND_ENUM)
    for kind, engine in registry.ENGINES.items():
        assert kind in engine.KINDS
        assert callable(engine.float32) and callable(engine.int16)
    with pytest.raises(c_text.CodegenError, match="does not support transformer"):
        registry.engine_for("transformer")


def test_model_info_describes_the_model() -> None:
    model = model_file("wavenet-10x8")
    info = CEngine(model).info
    assert info.name.decode() == "wavenet-10x8"
    assert info.parameters == model.parameter_count()
    assert info.macs_per_sample == config.macs_per_sample(model.config)
    assert info.receptive_field == config.receptive_field(model.config)
    assert info.sample_rate == 48000


FOLDED_SCALINGS = r"""
#include "firmware/nn/layers.h"
/* Counts the inputs where the folded forms the generated code uses differ from the plain ones. */
uint32_t mismatches(const float *x, uint32_t n) {
  uint32_t bad = 0;
  for (uint32_t i = 0; i + 1 < n; ++i) {
    const float a = x[i], b = x[i + 1];
    bad += vn_sigmoid_half(0.5f * a) != vn_sigmoid_f32(a);
    bad += vn_gate2(a, 0.5f * b) != 2.0f * (vn_tanh_f32(a) * vn_sigmoid_f32(b));
  }
  return bad;
}
"""


@pytest.mark.parametrize("exact", [False, True])
def test_folded_gate_scalings_are_exact(exact: bool, tmp_path: Path) -> None:
    """The generator halves sigmoid pre-activations and doubles the gated activation inside the
    weights (layers.h: vn_gate2, vn_sigmoid_half): exact (subnormals aside). With the float
    engine's spline activations it relies on vn_sigmoid_spline(x) being
    0.5 + 0.5 * vn_tanh_spline(x / 2), as activations.h builds it: if that changes, change
    layers.h with it."""
    (tmp_path / "folded.c").write_text(FOLDED_SCALINGS)
    library = tmp_path / "folded.so"
    flags = [*HOST_CFLAGS] + (["-DVN_EXACT_ACTIVATIONS"] if exact else [])
    subprocess.run(["gcc", *flags, f"-I{repo_root()}", str(tmp_path / "folded.c"), "-o", str(library), "-lm"], check=True)
    mismatches = ctypes.CDLL(str(library)).mismatches
    mismatches.argtypes, mismatches.restype = [ctypes.c_void_p, ctypes.c_uint32], ctypes.c_uint32
    rng = np.random.default_rng(3)
    # within +-80 (libm's sigmoid turns subnormal below -87, where scalings stop being exact)
    x = np.concatenate([np.clip(rng.normal(0, s, 100_000), -80, 80) for s in (0.1, 1.0, 4.0, 30.0)]
                       + [np.asarray([0.0, -0.0, 15.55, -15.55, 1e30, -1e30, np.inf, -np.inf])]).astype(np.float32)
    assert mismatches(x.ctypes.data, x.size) == 0
