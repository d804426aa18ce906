"""`valvenet export tflite`: round trips of tiny WaveNets through TFLite (LiteRT and TFLite
Micro's Python interpreter) against the numpy oracle, the C array, and the errors."""

import subprocess

import numpy as np
import pytest

from valvenet.export import tflite
from valvenet.losses import esr
from valvenet.models.model_file import ModelFile
from valvenet.models import config as model_config
from valvenet.models import keras_models
from valvenet.models.oracle import Oracle

# TFLite Micro's builtin kernels that these graphs may use (all in TFLM's op resolver).
TFLM_OPS = {"ADD", "CONCATENATION", "CONV_2D", "DEQUANTIZE", "LOGISTIC", "MUL", "PAD", "QUANTIZE", "RESHAPE",
            "STRIDED_SLICE", "TANH"}
BLOCK = 64
# ESR bounds of the quantized models against the oracle on the test signal. Measured (LiteRT and
# TFLM agree): int16x8 8.7e-4 gated (12 layers), 9e-6 NAM; int8 9.9e-3 gated, 5.2e-3 NAM.
# int16x8 still has int8 weights: most of its error here is the weights'.
INT16X8_ESR = 5e-3
INT8_ESR = 5e-2

CONFIGS = {
    # 12 layers: more skips than TFLM's CONCATENATION takes at once (10), as WN12 and WN18 have.
    "gated": model_config.gated_wavenet(12, 3, [1, 2, 4] * 4),
    "nam": model_config.nam_wavenet((4, 2), [[1, 2], [1, 2]], head_scale=0.5),
}


def _model(kind: str) -> ModelFile:
    config = CONFIGS[kind]
    tensors = keras_models.export_weights(keras_models.build(config, seed=1))
    return ModelFile(config, tensors, {"name": f"tiny-{kind}", "sample_rate": 48000,
                                       "input_gain": 1.5, "output_gain": 0.8})


def _audio(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 48000)) / 48000
    envelope = np.exp(-3 * (t % 0.5))
    return (0.4 * envelope * np.sin(2 * np.pi * 110 * t * (1 + 0.5 * t)) + 0.02 * rng.normal(size=t.size)
            ).astype(np.float32)


@pytest.fixture(scope="module", params=[(k, q) for k in CONFIGS for q in tflite.QUANTS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def exported(request, tmp_path_factory):
    kind, quant = request.param
    model = _model(kind)
    out = tmp_path_factory.mktemp(f"{kind}-{quant}")
    report = tflite.export(model, quant, out, f"tiny_{kind}_{quant}", "tiny.vnet", block=BLOCK,
                           train_audio=_audio(2.0, 1))
    return model, quant, out, report


def test_ops_run_in_tflm(exported):
    model, quant, _, report = exported
    assert set(report["ops"]) <= TFLM_OPS, report["ops"]
    assert report["window"] == model_config.receptive_field(model.config) - 1 + BLOCK
    assert report["block"] == BLOCK and report["arena_bytes"] > 0
    runner = tflite.WindowRunner(report["tflite"], "tflm", report["arena_bytes"])
    assert np.all(np.isfinite(runner(_audio(1.0, 2)[:report["window"]])))


def test_matches_oracle(exported):
    model, quant, _, report = exported
    audio = _audio(0.5, 3)
    reference = Oracle(model).process_all(audio)
    for interpreter in ("litert", "tflm"):
        runner = tflite.WindowRunner(report["tflite"], interpreter, report["arena_bytes"])
        y = tflite.overlap_save(runner, audio, runner.window, runner.block)
        error = esr(reference, y)
        if quant == "float32":
            assert np.max(np.abs(y - reference)) < 1e-5, interpreter
        elif quant == "int16x8":
            assert error < INT16X8_ESR, (interpreter, error)
        else:
            assert error < INT8_ESR, (interpreter, error)


def test_c_array_compiles_and_holds_the_bytes(exported, tmp_path):
    _, _, out, report = exported
    source = next(p for p in report["files"] if p.endswith(".c"))
    obj = tmp_path / "model.o"
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", "-c", source, "-o", str(obj)], check=True)
    text = open(source).read()
    body = text[text.index("{") + 1:text.index("}")]
    data = bytes(int(v, 16) for v in body.replace("\n", "").split(",") if v.strip())
    assert data == report["tflite"] == open(report["files"][0], "rb").read()
    assert f"_len = {len(data)}u;" in text


def test_recurrent_model_is_refused():
    config = model_config.recurrent("lstm", 4)
    tensors = keras_models.export_weights(keras_models.build(config))
    model = ModelFile(config, tensors, {"name": "tiny-lstm", "sample_rate": 48000, "input_gain": 1.0,
                                        "output_gain": 1.0})
    with pytest.raises(tflite.TFLiteExportError, match=r"lstm.vnet: a lstm model is recurrent"):
        tflite.window_and_block(model, "lstm.vnet")


def test_short_window_is_refused():
    model = _model("gated")
    field = model_config.receptive_field(model.config)
    with pytest.raises(tflite.TFLiteExportError, match=rf"tiny.vnet: window {field - 1} is shorter than .*\({field}"):
        tflite.window_and_block(model, "tiny.vnet", window=field - 1)
    assert tflite.window_and_block(model, "tiny.vnet", window=field) == (field, 1)
