"""Conditioned models (knobs as inputs): config rules, the oracle against Keras with knobs that
change between blocks, and a user's folder of recordings at several knob settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from valvenet.datasets import DatasetError
from valvenet.datasets.knob_data import knob_ranges, load_knob_folder
from valvenet.datasets.splits import training_splits
from valvenet.models import config as model_config
from valvenet.models import knobs
from valvenet.models.config_rules import ConfigError
from valvenet.models.model_file import ModelFile, check_consistent, load, save
from valvenet.models.oracle import Oracle

KNOBS = [knobs.knob("gain", 0.0, 1.0), knobs.knob("tone", 0.0, 10.0, 2.0)]
RATE = 48_000


def conditioned(preset: str, seed: int = 0) -> ModelFile:
    """A preset with two knobs and random weights large enough that the knobs matter."""
    from valvenet.models import keras_models

    config = knobs.with_knobs(model_config.PRESETS[preset], KNOBS)
    rng = np.random.default_rng(seed)
    tensors = {k: (v + 0.1 * rng.standard_normal(v.shape)).astype(np.float32)
               for k, v in keras_models.export_weights(keras_models.build(config, seed=seed)).items()}
    return ModelFile(config, tensors, {"name": preset, "sample_rate": RATE, "input_gain": 1.0, "output_gain": 1.0})


def test_knob_config_rules() -> None:
    nano = knobs.with_knobs(model_config.PRESETS["nam-nano"], KNOBS)
    assert [a["condition_size"] for a in nano["layer_arrays"]] == [3, 3]
    assert knobs.knob_names(nano) == ["gain", "tone"]
    with pytest.raises(ConfigError, match="knobs are supported by nam_wavenet, lstm, gru"):
        knobs.with_knobs(model_config.PRESETS["wavenet-10x4"], KNOBS)
    with pytest.raises(ConfigError, match=r"knobs\[1\].name 'gain' is given twice"):
        knobs.with_knobs(model_config.PRESETS["lstm-8"], [KNOBS[0], KNOBS[0]])
    with pytest.raises(ConfigError, match=r"knobs\[0\]: min must be below max"):
        knobs.with_knobs(model_config.PRESETS["lstm-8"], [{"name": "gain", "min": 1, "max": 0, "default": 0}])
    with pytest.raises(ConfigError, match=r"knobs\[0\].default must be within"):
        knobs.with_knobs(model_config.PRESETS["gru-12"], [{"name": "gain", "min": 0, "max": 1, "default": 2}])
    broken = dict(nano, knobs=KNOBS[:1])  # condition_size still 3
    with pytest.raises(ConfigError, match="condition_size must be 2"):
        model_config.validate(broken)


def test_knob_vector_normalises_clamps_and_names_unknown_knobs() -> None:
    config = knobs.with_knobs(model_config.PRESETS["lstm-8"], KNOBS)
    assert knobs.knob_vector(config).tolist() == [0.5, 0.2]  # the defaults
    assert knobs.knob_vector(config, {"tone": 5.0, "gain": 3.0}).tolist() == [1.0, 0.5]
    with pytest.raises(ValueError, match="unknown knob 'drive'; this model's knobs: gain, tone"):
        knobs.knob_vector(config, {"drive": 0.3})


@pytest.mark.parametrize("preset", ["nam-nano", "lstm-8", "gru-12"])
def test_oracle_matches_keras_when_knobs_turn_between_blocks(preset: str, tmp_path: Path) -> None:
    from valvenet.models import keras_models

    model = conditioned(preset)
    save(model, tmp_path / "m.vnet")
    model = load(tmp_path / "m.vnet")  # the knobs survive the model file
    assert model.config["knobs"] == KNOBS
    x = (0.3 * np.random.default_rng(1).standard_normal(3000)).astype(np.float32)
    first, second = {"gain": 0.7, "tone": 8.0}, {"gain": 0.2}
    oracle = Oracle(model)
    oracle.set_knobs(first)
    y = np.concatenate([oracle.process_all(x[:1500], 256)])
    oracle.set_knobs(second)  # tone stays at 8
    y = np.concatenate([y, oracle.process_all(x[1500:], 100)])
    net = keras_models.build(model.config)
    keras_models.import_weights(net, model.tensors)
    inputs = np.zeros((1, x.size, 3), np.float32)
    inputs[0, :, 0] = x
    inputs[0, :1500, 1:] = knobs.knob_vector(model.config, first)
    inputs[0, 1500:, 1:] = knobs.knob_vector(model.config, {"gain": 0.2, "tone": 8.0})
    expected = net.predict(inputs, verbose=0)[0, :, 0]
    assert np.max(np.abs(y - expected)) < 1e-5
    # ... and the knobs matter: the same audio at the default knobs differs
    assert np.max(np.abs(Oracle(model).process_all(x) - y)) > 1e-2


def _amp(x: np.ndarray, gain: float) -> np.ndarray:
    """A toy amp whose drive follows its gain knob: what a knob folder records."""
    return (0.5 * np.tanh((1.0 + 8.0 * gain) * x)).astype(np.float32)


def knob_folder(folder: Path, gains: tuple[float, ...] = (0.0, 0.5, 1.0), seconds: float = 3.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    t = np.arange(int(seconds * RATE)) / RATE
    x = (0.4 * np.sin(2 * np.pi * 110 * t) * np.exp(-3 * (t % 0.5)) + 0.02 * rng.standard_normal(t.size))
    x = x.astype(np.float32)
    sf.write(folder / "input.wav", x, RATE, subtype="FLOAT")
    for gain in gains:
        sf.write(folder / f"target-gain={gain:g}.wav", _amp(x, gain), RATE, subtype="FLOAT")
    return folder


def test_knob_folder_loads_every_setting_split_alike(tmp_path: Path) -> None:
    splits, how = training_splits(data=str(knob_folder(tmp_path / "amp")))
    assert "target-<setting>.wav" in how and "gain" in how
    assert [c.settings for c in splits["train"].clips] == [{"gain": 0.0}, {"gain": 0.5}, {"gain": 1.0}]
    lengths = {split: {c.pair.num_samples for c in s.clips} for split, s in splits.items()}
    assert all(len(v) == 1 for v in lengths.values())  # the same times for every setting
    assert lengths["val"] == lengths["test"] and sum(next(iter(v)) for v in lengths.values()) == 3 * RATE
    assert knob_ranges(splits) == [{"name": "gain", "min": 0.0, "max": 1.0, "default": 0.5}]


def test_knob_folder_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    one = knob_folder(tmp_path / "one", gains=(0.5,))
    with pytest.raises(DatasetError, match="1 target-<setting>.wav files; a knob folder needs recordings at two"):
        load_knob_folder(one)
    bad = knob_folder(tmp_path / "bad")
    (bad / "target-loud.wav").write_bytes((bad / "target-gain=0.5.wav").read_bytes())
    with pytest.raises(DatasetError, match=r"target-loud.wav: 'loud' is not a knob setting like gain=0.25,tone=0.5"):
        load_knob_folder(bad)
    mixed = knob_folder(tmp_path / "mixed")
    (mixed / "target-tone=0.5.wav").write_bytes((mixed / "target-gain=0.5.wav").read_bytes())
    with pytest.raises(DatasetError, match=r"target-tone=0.5.wav: knobs tone differ from gain"):
        load_knob_folder(mixed)
    same = knob_folder(tmp_path / "same", gains=(0.5,))
    (same / "target-gain=0.50.wav").write_bytes((same / "target-gain=0.5.wav").read_bytes())
    with pytest.raises(DatasetError, match="knob 'gain' has one value"):
        knob_ranges(load_knob_folder(same))
    with pytest.raises(DatasetError, match="must be a knob sweep .* or a folder of input.wav"):
        training_splits(data=str(tmp_path / "nothing-here"))


@pytest.mark.parametrize("preset", ["nam-nano", "lstm-8"])
def test_a_short_conditioned_training_learns_the_knob(preset: str, tmp_path: Path) -> None:
    from valvenet.train import TrainOptions, train

    data = knob_folder(tmp_path / "amp", gains=(0.0, 0.5, 1.0), seconds=6.0)
    options = TrainOptions(data=str(data), name="", model=preset, out=str(tmp_path / "run"), seed=1, max_epochs=15,
                           steps_per_epoch=8, batch_size=8 if preset == "nam-nano" else 16,
                           segment=2048 if preset == "nam-nano" else 256, report=True)
    model = load(train(options))
    assert knobs.knob_names(model.config) == ["gain"]
    test = model.metadata["training"]["test"]
    assert [r["settings"] for r in test["per_setting"]] == [{"gain": 0.0}, {"gain": 0.5}, {"gain": 1.0}]
    assert all(r["trained"] for r in test["per_setting"])
    assert test["esr_preemph"] < 0.15, test  # ~0.045 measured, from ~1 untrained
    assert (tmp_path / "run" / "knobs.png").stat().st_size > 0
    assert "ESR over the knobs" in (tmp_path / "run" / "report.html").read_text()
    # The model answers its knob: at gain 1 it drives harder than at gain 0 on the same input.
    x = load_knob_input(data)
    outputs = []
    for gain in (0.0, 1.0):
        oracle = Oracle(model)
        oracle.set_knobs({"gain": gain})
        outputs.append(oracle.process_all(x))
    esr_swapped = np.sum((outputs[0] - _amp(x, 1.0)) ** 2) / np.sum(_amp(x, 1.0) ** 2)
    esr_right = np.sum((outputs[1] - _amp(x, 1.0)) ** 2) / np.sum(_amp(x, 1.0) ** 2)
    assert esr_right < 0.5 * esr_swapped


def load_knob_input(folder: Path) -> np.ndarray:
    return sf.read(folder / "input.wav", dtype="float32")[0]


def test_check_consistent_wants_the_knob_rows(tmp_path: Path) -> None:
    model = conditioned("gru-12")
    tensors = dict(model.tensors, **{"rnn.kernel": model.tensors["rnn.kernel"][:1]})
    with pytest.raises(ValueError, match=r"rnn.kernel has shape \(1, 36\), the config needs \(3, 36\)"):
        check_consistent(model.config, tensors, model.metadata)


def _gated_nano() -> dict:
    config = model_config.nam_wavenet((4, 2), [[1, 2, 4], [8, 16]])
    for array in config["layer_arrays"]:
        array["gated"] = True
    return config


@pytest.mark.parametrize("shape", ["nam-nano", "gated", "lstm-8", "gru-12"])
def test_float32_c_engine_follows_the_knobs_block_by_block(shape: str) -> None:
    import ctypes

    from valvenet.export.c_host import CEngine

    model = conditioned("nam-nano" if shape == "gated" else shape)
    if shape == "gated":
        from valvenet.models.random_model import random_tensors

        config = knobs.with_knobs(_gated_nano(), KNOBS)
        model = ModelFile(config, random_tensors(config, 3), model.metadata)
    engine = CEngine(model)
    assert engine.info.knob_count == 2 and engine.info.knob_names == b"gain,tone"
    set_knobs = engine.library.vn_host_model_set_knobs
    set_knobs.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    x = (0.3 * np.random.default_rng(2).standard_normal(3000)).astype(np.float32)
    oracle, got, want = Oracle(model), [], []
    for i, setting in enumerate([{"gain": 0.7, "tone": 8.0}, {"gain": 0.1}, {"gain": 1.5, "tone": -1.0}]):
        oracle.set_knobs(setting)
        vector = knobs.knob_vector(model.config, oracle.knob_settings).astype(np.float32)
        set_knobs(engine.state, vector.ctypes.data)
        block = x[i * 1000:(i + 1) * 1000]
        got.append(engine.process(block))
        want.append(oracle.process(block))
    assert np.max(np.abs(np.concatenate(got) - np.concatenate(want))) < 1e-4
    # reset: zero history and the knobs back at their defaults, in both
    engine.reset()
    oracle.reset()
    assert np.max(np.abs(engine.process(x) - oracle.process(x))) < 1e-4
    assert np.max(np.abs(oracle.process_all(x) - Oracle(model).process_all(x))) > 0  # history, not knobs


@pytest.mark.parametrize("preset", ["nam-nano", "lstm-8", "gru-12"])
def test_int16_c_engine_follows_the_knobs_block_by_block(preset: str) -> None:
    """Scales calibrated at every knob corner; each block's knobs folded into the convs' int32
    biases. Seeded weights: 3e-5 measured against the oracle (the float engine's 1e-4 bound
    is for max error; int16 is held to ESR, as in inference.robot)."""
    import ctypes

    from valvenet.export.c_host import Q15Engine
    from valvenet.models import calibrate

    model = calibrate.with_scales(conditioned(preset), calibrate.synthetic_guitar(2.0))
    engine = Q15Engine(model)
    assert engine.info.knob_count == 2 and engine.info.knob_defaults[1] == pytest.approx(0.2)
    set_knobs = engine.library.vn_host_model_set_knobs
    set_knobs.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    x = calibrate.synthetic_guitar(0.6, seed=3).astype(np.float32)
    oracle, got, want, third = Oracle(model), [], [], x.size // 3
    for i, setting in enumerate([{"gain": 0.7, "tone": 8.0}, {"gain": 0.1}, {"gain": 1.0, "tone": 0.0}]):
        oracle.set_knobs(setting)
        vector = knobs.knob_vector(model.config, oracle.knob_settings).astype(np.float32)
        set_knobs(engine.state, vector.ctypes.data)
        got.append(engine.process(x[i * third:(i + 1) * third]))
        want.append(oracle.process(x[i * third:(i + 1) * third]))
    got, want = np.concatenate(got), np.concatenate(want)
    assert np.sum((got - want) ** 2) / np.sum(want ** 2) < 1e-3
    engine.reset()
    assert np.array_equal(engine.process(x), Q15Engine(model).process(x))  # reset: the default knobs again


def test_engines_without_knobs_refuse_a_conditioned_model() -> None:
    from valvenet.export.c_text import CodegenError
    from valvenet.export.engines.registry import generate_float32, generate_int16

    model = conditioned("nam-nano")
    with pytest.raises(CodegenError, match=r"has knobs \(gain, tone\); the full-recompute baseline has none"):
        generate_float32(model, full_recompute=True)
    from valvenet.models.random_model import random_tensors

    stacked = knobs.with_knobs({"kind": "lstm", "hidden": 4, "layers": 2, "skip": False}, KNOBS)
    with pytest.raises(CodegenError, match="the float32 engine has no knobs for a stacked LSTM"):
        generate_float32(ModelFile(stacked, random_tensors(stacked, 0), model.metadata))
    with pytest.raises(CodegenError, match="the int16 engine has no stacked LSTM"):
        generate_int16(ModelFile(stacked, random_tensors(stacked, 0), model.metadata), {"x": 12, "c": 12})
