"""Neural Amp Modeler .nam import and export (valvenet.export.nam, `valvenet import/export nam`).

Fixtures are made here: .nam JSON written by hand in NAM's weight order (a tiny model whose
every number is checked by position, and random models run through an independent numpy
NAM forward pass written from NAM's description, not from the importer's layout table), so
the importer cannot pass by agreeing with its own exporter.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from valvenet.cli import main as cli_main
from valvenet.export.c_host import CEngine
from valvenet.export.nam import NamError, read_nam, to_nam, weight_count, write_nam
from valvenet.models import nam_wavenet
from valvenet.models.model_file import ModelFile, load, save
from valvenet.models.oracle import Oracle
from valvenet.models.random_model import random_tensors

def _nam_fast_tanh(z: np.ndarray) -> np.ndarray:
    """NAM's Fasttanh, as its C++ core writes it."""
    az, z2 = np.abs(z), z * z
    return (z * (2.45550750702956 + 2.45550750702956 * az + (0.893229853513558 + 0.821226666969744 * az) * z2)
            / (2.44506634652299 + (2.44506634652299 + z2) * np.abs(z + 0.814642734961073 * z * az)))


_ACT = {"Tanh": np.tanh, "ReLU": lambda z: np.maximum(z, 0.0), "Hardtanh": lambda z: np.clip(z, -1.0, 1.0),
        "Softsign": lambda z: z / (1.0 + np.abs(z)), "Fasttanh": _nam_fast_tanh,
        "LeakyReLU": lambda z: np.where(z > 0, z, 0.01 * z)}


def layer(input_size: int, channels: int, head_size: int, kernel: int, dilations: list[int],
          activation: str = "Tanh", head_bias: bool = False, gated: bool = False) -> dict[str, Any]:
    return {"input_size": input_size, "condition_size": 1, "head_size": head_size, "channels": channels,
            "kernel_size": kernel, "dilations": dilations, "activation": activation, "gated": gated,
            "head_bias": head_bias}


def count(layers: list[dict[str, Any]]) -> int:
    """Weights in a NAM A1 WaveNet file, counted from NAM's description (head_scale included)."""
    total = 1
    for a in layers:
        c, k = a["channels"], a["kernel_size"]
        z = 2 * c if a["gated"] else c  # a gated layer's conv and mixer: 2C outputs
        per_layer = z * c * k + z + z * a["condition_size"] + c * c + c
        total += a["input_size"] * c + len(a["dilations"]) * per_layer + c * a["head_size"]
        total += a["head_size"] if a["head_bias"] else 0
    return total


def capture(layers: list[dict[str, Any]], seed: int = 0, head_scale: float = 0.5, **extra: Any) -> dict[str, Any]:
    """A .nam object with random float32-exact weights."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-0.6, 0.6, count(layers)).astype(np.float32).astype(float).tolist()
    weights[-1] = head_scale
    return {"version": "0.5.2", "architecture": "WaveNet",
            "config": {"layers": copy.deepcopy(layers), "head": None, "head_scale": head_scale}, "weights": weights, **extra}


def write(tmp_path: Path, data: Any, name: str = "capture.nam") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def nam_forward(data: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """NAM's A1 WaveNet over x with zero input before it (NAM's pad_start), written directly
    from NAM's description: PyTorch Conv1d weights (out, in, k) read in file order."""
    weights, at = np.asarray(data["weights"], dtype=np.float64), 0

    def take(*shape: int) -> np.ndarray:
        nonlocal at
        size = int(np.prod(shape))
        at += size
        return weights[at - size:at].reshape(shape)

    layers = data["config"]["layers"]
    pad = sum((a["kernel_size"] - 1) * sum(a["dilations"]) for a in layers)
    cond = np.concatenate([np.zeros(pad), x])[None, :]
    y, head = cond, None
    for a in layers:
        c, k = a["channels"], a["kernel_size"]
        h = take(c, a["input_size"], 1)[:, :, 0] @ y
        width = 2 * c if a["gated"] else c
        for d in a["dilations"]:
            w, b, mixer = take(width, c, k), take(width), take(width, 1, 1)[:, :, 0]
            residual, residual_bias = take(c, c, 1)[:, :, 0], take(c)
            z = b[:, None] + mixer @ cond
            for j in range(k):
                shift = (k - 1 - j) * d
                shifted = np.concatenate([np.zeros((c, shift)), h[:, :h.shape[1] - shift]], axis=1)
                z = z + w[:, :, j] @ shifted
            if a["gated"]:  # NAM: act(first C channels) * sigmoid(last C)
                post = _ACT[a["activation"]](z[:c]) / (1.0 + np.exp(-z[c:]))
            else:
                post = _ACT[a["activation"]](z)
            head = post if head is None else head + post
            h = h + residual @ post + residual_bias[:, None]
        head = take(a["head_size"], c, 1)[:, :, 0] @ head
        if a["head_bias"]:
            head = head + take(a["head_size"])[:, None]
        y = h
    take(1)
    assert at == weights.size
    return data["config"]["head_scale"] * head[0, pad:]


def oracle_from_zero_input(model: ModelFile, x: np.ndarray) -> np.ndarray:
    oracle = Oracle(model)
    oracle.process(np.zeros(nam_wavenet.receptive_field(model.config) - 1))
    return oracle.process_all(x)


def test_a_hand_built_file_maps_every_number_to_its_tensor(tmp_path: Path) -> None:
    # 1 array, 2 channels, kernel 2, dilations [1, 2], head bias: 42 weights, valued 1..42.
    data = capture([layer(1, 2, 1, 2, [1, 2], head_bias=True)])
    data["weights"] = [float(v) for v in range(1, 43)]
    model = read_nam(write(tmp_path, data))
    t = model.tensors
    np.testing.assert_array_equal(t["array0.rechannel.weight"], [[1, 2]])
    # conv (out, in, k) = 3..10 at 3 + 4 out + 2 in + k; ValveNet's is (k, in, out).
    np.testing.assert_array_equal(t["array0.layer0.conv.weight"], [[[3, 7], [5, 9]], [[4, 8], [6, 10]]])
    np.testing.assert_array_equal(t["array0.layer0.conv.bias"], [11, 12])
    np.testing.assert_array_equal(t["array0.layer0.mixer.weight"], [[13, 14]])
    np.testing.assert_array_equal(t["array0.layer0.residual.weight"], [[15, 17], [16, 18]])
    np.testing.assert_array_equal(t["array0.layer0.residual.bias"], [19, 20])
    np.testing.assert_array_equal(t["array0.layer1.conv.weight"][0], [[21, 25], [23, 27]])
    np.testing.assert_array_equal(t["array0.layer1.mixer.weight"], [[31, 32]])
    assert "array0.layer1.residual.weight" not in t  # 33..38: the last residual feeds nothing
    np.testing.assert_array_equal(t["array0.head.weight"], [[39], [40]])
    np.testing.assert_array_equal(t["array0.head.bias"], [41])
    assert model.config["head_scale"] == 0.5 and model.config["layer_arrays"][0]["kernel_size"] == 2


SHAPES = {
    "standard-like": [layer(1, 4, 2, 3, [1, 2, 4]), layer(4, 2, 1, 3, [8, 1, 2], head_bias=True)],
    "one-array-relu-k2": [layer(1, 3, 1, 2, [1, 2, 4, 8], "ReLU")],
    "three-arrays-hardtanh-k4": [layer(1, 3, 2, 4, [1, 3]), layer(3, 2, 2, 4, [2], "Hardtanh", True),
                                 layer(2, 2, 1, 4, [1, 5], "Hardtanh")],
    "softsign-k1": [layer(1, 2, 1, 1, [1, 1], "Softsign", True)],
    "gated-tanh": [layer(1, 3, 2, 3, [1, 2, 4], gated=True), layer(3, 2, 1, 3, [1, 8], head_bias=True)],
    "gated-both-fasttanh": [layer(1, 2, 3, 3, [2, 1], "Fasttanh", gated=True),
                            layer(2, 3, 1, 3, [1, 4], "Fasttanh", True, gated=True)],
    "fasttanh-leakyrelu": [layer(1, 4, 2, 3, [1, 2, 4], "Fasttanh"), layer(4, 2, 1, 3, [4, 1], "LeakyReLU", True)],
    "gated-leakyrelu-k2": [layer(1, 2, 1, 2, [1, 3], "LeakyReLU", gated=True)],
}


@pytest.mark.parametrize("shape", SHAPES)
def test_imported_model_computes_what_nam_computes(tmp_path: Path, shape: str) -> None:
    data = capture(SHAPES[shape], seed=len(shape))
    model = read_nam(write(tmp_path, data))
    assert model.parameter_count() + SHAPES[shape][-1]["channels"] * (SHAPES[shape][-1]["channels"] + 1) + 1 \
        == len(data["weights"]) == weight_count(model.config)
    x = 0.5 * np.sin(np.linspace(0.0, 40.0, 600)) * np.random.default_rng(1).uniform(0.2, 1.0, 600)
    np.testing.assert_allclose(oracle_from_zero_input(model, x), nam_forward(data, x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", [s for s in SHAPES if all(a["kernel_size"] == 3 for a in SHAPES[s])])
def test_float32_c_engine_computes_what_nam_computes(tmp_path: Path, shape: str) -> None:
    """The C engine implements kernel size 3 (NAM's standard, lite, feather and nano)."""
    data = capture(SHAPES[shape], seed=len(shape))
    model = read_nam(write(tmp_path, data))
    x = 0.5 * np.sin(np.linspace(0.0, 40.0, 600)) * np.random.default_rng(1).uniform(0.2, 1.0, 600)
    engine = CEngine(model)
    engine.process_all(np.zeros(nam_wavenet.receptive_field(model.config) - 1))
    np.testing.assert_allclose(engine.process_all(x), nam_forward(data, x), rtol=0, atol=1e-4)


@pytest.mark.parametrize("shape", SHAPES)
def test_round_trip_import_export_import_is_exact(tmp_path: Path, shape: str) -> None:
    first = read_nam(write(tmp_path, capture(SHAPES[shape], metadata={"loudness": -9.5, "gain": 0.7})))
    again = read_nam(write(tmp_path, to_nam(first), "again.nam"))
    assert again.config == first.config and again.metadata["nam_metadata"] == {"loudness": -9.5, "gain": 0.7}
    assert set(again.tensors) == set(first.tensors)
    for name, tensor in first.tensors.items():
        np.testing.assert_array_equal(again.tensors[name], tensor, err_msg=name)


@pytest.mark.parametrize("shape", SHAPES)
def test_export_of_an_imported_capture_gives_the_capture_back(tmp_path: Path, shape: str) -> None:
    """As NAM writes it: the config as it was, head_scale's trailing weight a float32; only the
    last layer's residual 1x1 (which feeds nothing, so ValveNet does not keep it) is zeros."""
    data = capture(SHAPES[shape], head_scale=0.02)
    data["weights"][-1] = float(np.float32(0.02))
    back = to_nam(read_nam(write(tmp_path, data)))
    assert back["config"] == data["config"] and back["architecture"] == "WaveNet"
    last = SHAPES[shape][-1]["channels"]
    unused = slice(-1 - last * (last + 1) - last * SHAPES[shape][-1]["head_size"]
                   - (SHAPES[shape][-1]["head_size"] if SHAPES[shape][-1]["head_bias"] else 0),
                   -1 - last * SHAPES[shape][-1]["head_size"]
                   - (SHAPES[shape][-1]["head_size"] if SHAPES[shape][-1]["head_bias"] else 0))
    original, exported = np.asarray(data["weights"]), np.asarray(back["weights"])
    assert not exported[unused].any() and exported[unused].size == last * (last + 1)
    keep = np.ones(original.size, bool)
    keep[unused] = False
    np.testing.assert_array_equal(exported[keep], original[keep])


@pytest.mark.parametrize("preset", ["nam-nano", "nam-feather"])
def test_a_trained_style_model_exports_and_reimports_exactly(tmp_path: Path, preset: str) -> None:
    config = nam_wavenet.PRESETS[preset]
    model = ModelFile(config, random_tensors(config, seed=3),
                      {"name": preset, "sample_rate": 44_100, "input_gain": 1.0, "output_gain": 1.0})
    write_nam(model, tmp_path / "m.nam")
    data = json.loads((tmp_path / "m.nam").read_text())
    assert data["sample_rate"] == 44_100 and data["config"]["layers"][0]["activation"] == "Tanh"
    back = read_nam(tmp_path / "m.nam")
    assert back.sample_rate == 44_100
    for name, tensor in model.tensors.items():
        np.testing.assert_array_equal(back.tensors[name], tensor, err_msg=name)


def test_gains_are_folded_into_the_exported_weights(tmp_path: Path) -> None:
    config = nam_wavenet.PRESETS["nam-nano"]
    model = ModelFile(config, random_tensors(config, seed=4),
                      {"name": "g", "sample_rate": 48_000, "input_gain": 2.0, "output_gain": 0.25})
    write_nam(model, tmp_path / "g.nam")
    back = read_nam(tmp_path / "g.nam")
    x = 0.3 * np.sin(np.linspace(0.0, 30.0, 400))
    np.testing.assert_allclose(Oracle(back).process_all(x), Oracle(model).process_all(x), rtol=0, atol=1e-6)


def test_sample_rate_defaults_to_48_khz_and_metadata_is_kept(tmp_path: Path) -> None:
    plain = read_nam(write(tmp_path, capture(SHAPES["softsign-k1"])))
    assert plain.sample_rate == 48_000 and plain.metadata["nam_metadata"] is None
    data = capture(SHAPES["softsign-k1"], sample_rate=44100.0, metadata={"loudness": -8.5, "gain": 0.98})
    model = read_nam(write(tmp_path, data, "meta.nam"))
    assert model.sample_rate == 44_100 and model.metadata["nam_metadata"] == {"loudness": -8.5, "gain": 0.98}
    assert model.metadata["nam_version"] == "0.5.2" and model.name == "meta"


@pytest.mark.parametrize("version", ["0.5.0", "0.5.1", "0.5.2", "0.5.3", "0.5.4"])
def test_every_file_version_in_the_wild_is_read(tmp_path: Path, version: str) -> None:
    model = read_nam(write(tmp_path, {**capture(SHAPES["gated-tanh"]), "version": version}))
    assert model.metadata["nam_version"] == version and to_nam(model)["version"] == version


def _edit(change: Any) -> Any:
    def make() -> Any:
        data = capture(SHAPES["standard-like"])
        change(data)
        return data
    return make


def _set_layer(key: str, value: Any) -> Any:
    return _edit(lambda d: d["config"]["layers"][0].__setitem__(key, value))


BAD_FILES = {
    "truncated JSON": (lambda: json.dumps(capture(SHAPES["standard-like"]))[:300], "not valid JSON"),
    "wrong weight count": (_edit(lambda d: d["weights"].pop()), "weights, the config needs"),
    "NaN weight": (_edit(lambda d: d["weights"].__setitem__(5, float("nan"))), "weight 5 is nan (NaN or Inf"),
    "weights not numbers": (_edit(lambda d: d.__setitem__("weights", "abc")), "list of numbers"),
    "unknown activation": (_set_layer("activation", "Wiggle"), "unknown activation 'Wiggle'"),
    "LeakyHardtanh": (_set_layer("activation", "LeakyHardtanh"), "LeakyHardtanh is not supported"),
    "activation with parameters": (_set_layer("activation", {"type": "PReLU", "num_parameters": 4}),
                                   "'PReLU' with parameters is not supported"),
    "gated, weights of an ungated file": (_set_layer("gated", True), "weights, the config needs"),
    "gated not a boolean": (_set_layer("gated", "yes"), "gated must be true or false"),
    "conditioning": (_set_layer("condition_size", 2), "conditioning on more than the audio"),
    "post-head": (_edit(lambda d: d["config"].__setitem__("head", {"channels": 4})), "post-head"),
    "parametric LSTM": (_edit(lambda d: d.__setitem__("architecture", "CatLSTM")), "parametric LSTM"),
    "LSTM config on WaveNet weights": (_edit(lambda d: d.__setitem__("architecture", "LSTM")),
                                       "config lacks hidden_size, num_layers"),
    "ConvNet": (_edit(lambda d: d.__setitem__("architecture", "ConvNet")), "ConvNet architecture is not supported"),
    "A2": (_edit(lambda d: d.__setitem__("architecture", "SlimmableContainer")), "A2 (SlimmableContainer)"),
    "unknown architecture": (_edit(lambda d: d.__setitem__("architecture", "Magic")), "unknown architecture"),
    "newer version": (_edit(lambda d: d.__setitem__("version", "0.6.0")), "version '0.6.0' is not supported"),
    "missing field": (_edit(lambda d: d.pop("config")), "no 'config' field"),
    "arrays do not chain": (_edit(lambda d: d["config"]["layers"][1].__setitem__("input_size", 3)),
                            "input_size must be 4"),
    "bad sample rate": (_edit(lambda d: d.__setitem__("sample_rate", -1)), "sample_rate"),
    "Inf weight": (_edit(lambda d: d["weights"].__setitem__(0, float("inf"))), "weight 0 is inf (NaN or Inf"),
    "empty file": (lambda: "", "not valid JSON"),
    "not an object": (lambda: "[1, 2]", "the JSON is not an object"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_are_refused_naming_the_file_and_the_problem(tmp_path: Path, case: str) -> None:
    make, words = BAD_FILES[case]
    path = write(tmp_path, make(), "bad.nam")
    with pytest.raises(NamError) as error:
        read_nam(path)
    assert str(error.value).startswith(f"{path}: ") and words in str(error.value)


def test_cli_imports_exports_and_reports_bad_files_in_one_line(tmp_path: Path, capsys: Any) -> None:
    source = write(tmp_path, capture(SHAPES["standard-like"], metadata={"gain": 0.5}))
    assert cli_main(["import", "nam", str(source), "--out", str(tmp_path / "m.vnet")]) == 0
    assert cli_main(["export", "nam", str(tmp_path / "m.vnet"), "--out", str(tmp_path / "back.nam")]) == 0
    assert cli_main(["import", "nam", str(tmp_path / "back.nam"), "--out", str(tmp_path / "back.vnet")]) == 0
    first, back = load(tmp_path / "m.vnet"), load(tmp_path / "back.vnet")
    assert first.metadata["nam_metadata"] == {"gain": 0.5}
    for name, tensor in first.tensors.items():
        np.testing.assert_array_equal(back.tensors[name], tensor, err_msg=name)
    capsys.readouterr()
    bad = write(tmp_path, "{\"version\": ", "bad.nam")
    assert cli_main(["import", "nam", str(bad), "--out", str(tmp_path / "x.vnet")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"valvenet import: error: {bad}: not valid JSON") and "\n" not in err


def test_only_nam_wavenet_models_export_to_nam(tmp_path: Path, capsys: Any) -> None:
    from valvenet.models import config

    cfg = config.PRESETS["wavenet1"] if "wavenet1" in config.PRESETS else next(
        c for c in config.PRESETS.values() if c["kind"] != nam_wavenet.KIND)
    save(ModelFile(cfg, random_tensors(cfg, seed=0),
                   {"name": "w", "sample_rate": 48_000, "input_gain": 1.0, "output_gain": 1.0}), tmp_path / "w.vnet")
    assert cli_main(["export", "nam", str(tmp_path / "w.vnet"), "--out", str(tmp_path / "w.nam")]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'w.vnet'}:" in err and "only nam_wavenet and lstm models export to .nam" in err
    assert not (tmp_path / "w.nam").exists()
