"""Neural Amp Modeler's LSTM captures: `valvenet import nam` / `export nam` (export/nam_lstm.py).

The fixtures are .nam objects made here with random weights; the expected output is an
independent numpy LSTM written from NAM's description (PyTorch's nn.LSTM, gates i, f, g, o,
[W_ih | W_hh] and b_ih + b_hh per layer, a learned initial hidden and cell state, a linear
head), not from the importer's layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from valvenet.cli import main as cli_main
from valvenet.export.c_host import CEngine
from valvenet.export.nam import NamError, read_nam, to_nam, weight_count
from valvenet.models.model_file import ModelFile, load, save
from valvenet.models.oracle import Oracle
from valvenet.models.random_model import random_tensors


def lstm_capture(hidden: int, layers: int, seed: int = 0, **extra: Any) -> dict[str, Any]:
    """A NAM LSTM .nam object with random float32-exact weights."""
    count = sum(4 * hidden * ((1 if i == 0 else hidden) + hidden) + 6 * hidden for i in range(layers)) + hidden + 1
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-0.7, 0.7, count).astype(np.float32).astype(float).tolist()
    return {"version": "0.5.1", "architecture": "LSTM",
            "config": {"input_size": 1, "hidden_size": hidden, "num_layers": layers}, "weights": weights, **extra}


def nam_lstm_forward(data: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """NAM's LSTM over x from its learned initial state, from NAM's description."""
    cfg, w, at = data["config"], np.asarray(data["weights"], np.float64), 0
    hidden = cfg["hidden_size"]

    def take(*shape: int) -> np.ndarray:
        nonlocal at
        at += int(np.prod(shape))
        return w[at - int(np.prod(shape)):at].reshape(shape)

    cells = []
    for layer in range(cfg["num_layers"]):
        inputs = 1 if layer == 0 else hidden
        cells.append([take(4 * hidden, inputs + hidden), take(4 * hidden), take(hidden), take(hidden)])
    head_w, head_b = take(hidden), take(1)[0]
    assert at == w.size

    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-z))

    out = np.empty(x.size)
    for t, sample in enumerate(x):
        below = np.asarray([sample])
        for cell in cells:
            matrix, bias, h, c = cell
            z = matrix @ np.concatenate([below, h]) + bias
            i, f, g, o = (z[k * hidden:(k + 1) * hidden] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            cell[2], cell[3], below = h, c, h
        out[t] = head_w @ below + head_b
    return out


def write(tmp_path: Path, data: Any, name: str = "lstm.nam") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


SHAPES = {"one layer": (6, 1), "two layers": (4, 2), "three layers of 3": (3, 3)}
AUDIO = 0.6 * np.sin(np.linspace(0.0, 60.0, 500)) * np.random.default_rng(2).uniform(0.1, 1.0, 500)


@pytest.mark.parametrize("shape", SHAPES)
def test_imported_lstm_computes_what_nam_computes(tmp_path: Path, shape: str) -> None:
    data = lstm_capture(*SHAPES[shape], seed=len(shape))
    model = read_nam(write(tmp_path, data))
    assert model.config == {"kind": "lstm", "hidden": SHAPES[shape][0], "skip": False,
                            "layers": SHAPES[shape][1], "initial_state": True}
    assert model.parameter_count() == len(data["weights"]) == weight_count(model.config)
    expected = nam_lstm_forward(data, AUDIO)
    assert np.std(expected) > 1e-3
    np.testing.assert_allclose(Oracle(model).process_all(AUDIO), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(CEngine(model).process_all(AUDIO), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_round_trip_import_export_import_is_exact(tmp_path: Path, shape: str) -> None:
    data = lstm_capture(*SHAPES[shape], sample_rate=44100, metadata={"loudness": -12.0})
    first = read_nam(write(tmp_path, data))
    exported = to_nam(first)
    assert exported["weights"] == data["weights"] and exported["config"] == data["config"]
    again = read_nam(write(tmp_path, exported, "again.nam"))
    assert again.config == first.config and again.sample_rate == 44_100
    assert again.metadata["nam_metadata"] == {"loudness": -12.0}
    for name, tensor in first.tensors.items():
        np.testing.assert_array_equal(again.tensors[name], tensor, err_msg=name)


def test_a_trained_lstm_without_skip_exports_with_a_zero_initial_state(tmp_path: Path) -> None:
    config = {"kind": "lstm", "hidden": 5, "skip": False}
    model = ModelFile(config, random_tensors(config, seed=2),
                      {"name": "l", "sample_rate": 48_000, "input_gain": 0.5, "output_gain": 2.0})
    back = read_nam(write(tmp_path, to_nam(model)))
    assert not back.tensors["rnn.initial_h"].any() and not back.tensors["rnn.initial_c"].any()
    np.testing.assert_allclose(Oracle(back).process_all(AUDIO), Oracle(model).process_all(AUDIO), rtol=0, atol=1e-6)


def test_models_nam_cannot_hold_are_refused_on_export(tmp_path: Path, capsys: Any) -> None:
    for config, words in (({"kind": "lstm", "hidden": 4, "skip": True}, "has no .nam form"),
                          ({"kind": "gru", "hidden": 4, "skip": False}, "only nam_wavenet and lstm")):
        model = ModelFile(config, random_tensors(config, seed=0),
                          {"name": "m", "sample_rate": 48_000, "input_gain": 1.0, "output_gain": 1.0})
        save(model, tmp_path / "m.vnet")
        assert cli_main(["export", "nam", str(tmp_path / "m.vnet"), "--out", str(tmp_path / "m.nam")]) == 2
        err = capsys.readouterr().err
        assert str(tmp_path / "m.vnet") in err and words in err and not (tmp_path / "m.nam").exists()


def _edit(change: Any) -> Any:
    def make() -> Any:
        data = lstm_capture(4, 2)
        change(data)
        return data
    return make


BAD_FILES = {
    "wrong weight count": (_edit(lambda d: d["weights"].append(0.5)), "weights, the config needs"),
    "NaN weight": (_edit(lambda d: d["weights"].__setitem__(7, float("nan"))), "weight 7 is nan"),
    "conditioning": (_edit(lambda d: d["config"].__setitem__("input_size", 3)), "conditioning on more than the audio"),
    "no hidden size": (_edit(lambda d: d["config"].pop("hidden_size")), "config lacks hidden_size"),
    "zero layers": (_edit(lambda d: d["config"].__setitem__("num_layers", 0)), "num_layers must be a positive"),
    "truncated JSON": (lambda: json.dumps(lstm_capture(4, 1))[:-40], "not valid JSON"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_lstm_files_are_refused_naming_the_file_and_the_problem(tmp_path: Path, case: str) -> None:
    make, words = BAD_FILES[case]
    path = write(tmp_path, make(), "bad.nam")
    with pytest.raises(NamError) as error:
        read_nam(path)
    assert str(error.value).startswith(f"{path}: ") and words in str(error.value)


def test_cli_imports_an_lstm_capture(tmp_path: Path) -> None:
    source = write(tmp_path, lstm_capture(3, 1, metadata={"gain": 0.25}))
    assert cli_main(["import", "nam", str(source), "--out", str(tmp_path / "m.vnet")]) == 0
    model = load(tmp_path / "m.vnet")
    assert model.config["kind"] == "lstm" and model.metadata["nam_metadata"] == {"gain": 0.25}
