"""Neural Amp Modeler `.nam` files <-> ValveNet `nam_wavenet` and `lstm` model files.

A `.nam` file is JSON: `version`, `architecture`, `config`, a flat list `weights`, and
optionally `sample_rate` and `metadata` (loudness, gain, date...). For the A1 WaveNet the
weights are every layer array's tensors in the order NAM's own Python package and its C++
core consume them, then head_scale:

    per layer array: rechannel 1x1 (no bias)
                     per layer: dilated conv weight + bias, input mixer (no bias),
                                residual 1x1 weight + bias
                     head rechannel 1x1 weight (+ bias when head_bias)
    head_scale

with PyTorch's Conv1d layout, (out, in, kernel) flattened in C order. A gated array's conv,
its bias and its mixer have 2C outputs (the activation half, then the sigmoid half). `nam_layout` writes
that order once; the importer and the exporter both walk it, so they cannot disagree.

ValveNet's `nam_wavenet` stores convs as (kernel, in, out), 1x1s as (in, out), and drops the
last layer's residual 1x1, whose output feeds nothing (NAM computes it and throws it away):
importing skips those weights, exporting writes zeros there.

NAM's LSTM maps to the `lstm` kind (export/nam_lstm.py has its layout).

What ValveNet cannot hold (a post-head, conditioning on more than the audio, activations
beyond Tanh/Hardtanh/ReLU/Softsign/Fasttanh/LeakyReLU, ConvNet/Linear/A2 files) is refused
with a NamError naming the file and the feature; so is a malformed file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from valvenet import atomic
from valvenet.export import nam_lstm
from valvenet.models import nam_wavenet, recurrent
from valvenet.models.config_rules import ConfigError
from valvenet.models.model_file import ModelFile, check_consistent

DEFAULT_SAMPLE_RATE = 48_000
EXPORT_VERSION = "0.5.4"
READ_VERSIONS = "0.5."  # the A1 file format, 0.5.0-0.5.4 in the wild
# NAM activation name -> ValveNet's (all exact: same function in NAM and the oracle).
ACTIVATIONS = {"Tanh": "tanh", "Hardtanh": "hardtanh", "ReLU": "relu", "Softsign": "softsign",
               "Fasttanh": "fasttanh", "LeakyReLU": "leakyrelu"}
_TO_NAM = {ours: theirs for theirs, ours in ACTIVATIONS.items()}
# Activations NAM knows that a nam_wavenet cannot express yet (anything else is unknown).
UNSUPPORTED_ACTIVATIONS = ("LeakyHardtanh", "Sigmoid", "SiLU", "Hardswish", "PReLU")
ARCHITECTURES = ("WaveNet", "LSTM")
UNSUPPORTED_ARCHITECTURES = {
    "CatLSTM": "the parametric LSTM architecture (conditioning on knobs)",
    "ConvNet": "the ConvNet architecture", "Linear": "the Linear architecture",
    "CatWaveNet": "the parametric WaveNet (conditioning on knobs)",
    "SlimmableContainer": "A2 (SlimmableContainer) files",
}
_ARRAY_KEYS = ("input_size", "condition_size", "head_size", "channels", "kernel_size", "dilations",
               "activation", "gated", "head_bias")


class NamError(ValueError):
    """A .nam file that cannot be imported (or a model that cannot be exported as one);
    the message names the file and the problem."""


@dataclass(frozen=True)
class Entry:
    """One tensor in NAM's weight order: its ValveNet name (None: not stored by ValveNet),
    its NAM (PyTorch) shape and how it maps: "conv" (out,in,k)<->(k,in,out),
    "dense" (out,in,1)<->(in,out), "vector" as it is."""

    name: str | None
    nam_shape: tuple[int, ...]
    mapping: str


def nam_layout(config: dict[str, Any]) -> list[Entry]:
    """The tensors of a nam_wavenet config in NAM's weight order (head_scale not included)."""
    entries: list[Entry] = []
    arrays = config["layer_arrays"]
    for a, array in enumerate(arrays):
        c, k, n = array["channels"], array["kernel_size"], len(array["dilations"])
        z = nam_wavenet.conv_outputs(array)
        entries.append(Entry(f"array{a}.rechannel.weight", (c, array["input_size"], 1), "dense"))
        for i in range(n):
            prefix = f"array{a}.layer{i}"
            stored = not (a == len(arrays) - 1 and i == n - 1)
            entries += [Entry(f"{prefix}.conv.weight", (z, c, k), "conv"),
                        Entry(f"{prefix}.conv.bias", (z,), "vector"),
                        Entry(f"{prefix}.mixer.weight", (z, array["condition_size"], 1), "dense"),
                        Entry(f"{prefix}.residual.weight" if stored else None, (c, c, 1), "dense"),
                        Entry(f"{prefix}.residual.bias" if stored else None, (c,), "vector")]
        entries.append(Entry(f"array{a}.head.weight", (array["head_size"], c, 1), "dense"))
        if array["head_bias"]:
            entries.append(Entry(f"array{a}.head.bias", (array["head_size"],), "vector"))
    return entries


def weight_count(config: dict[str, Any]) -> int:
    """How many numbers a .nam file of this config holds in `weights` (a WaveNet's head_scale
    included)."""
    if config["kind"] == recurrent.LSTM:
        return nam_lstm.weight_count(config)
    return sum(int(np.prod(e.nam_shape)) for e in nam_layout(config)) + 1


def _to_valvenet(values: np.ndarray, entry: Entry) -> np.ndarray:
    block = values.reshape(entry.nam_shape)
    if entry.mapping == "conv":
        return block.transpose(2, 1, 0).copy()
    if entry.mapping == "dense":
        return block[:, :, 0].T.copy()
    return block.copy()


def _to_nam(tensor: np.ndarray, entry: Entry) -> np.ndarray:
    if entry.mapping == "conv":
        return tensor.transpose(2, 1, 0)
    if entry.mapping == "dense":
        return tensor.T[:, :, None]
    return tensor


# ---- import ----------------------------------------------------------------------------

def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise NamError(f"{path}: not a .nam file (not UTF-8 text)") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NamError(f"{path}: not valid JSON (truncated or corrupt?): {exc}") from exc
    if not isinstance(data, dict):
        raise NamError(f"{path}: not a .nam file (the JSON is not an object)")
    return data


def _check_header(path: Path, data: dict[str, Any]) -> None:
    for key in ("version", "architecture", "config", "weights"):
        if key not in data:
            raise NamError(f"{path}: not a .nam file (no {key!r} field)")
    architecture = data["architecture"]
    if architecture in UNSUPPORTED_ARCHITECTURES:
        raise NamError(f"{path}: {UNSUPPORTED_ARCHITECTURES[architecture]} is not supported "
                       "(ValveNet imports NAM's A1 WaveNet and LSTM)")
    if architecture not in ARCHITECTURES:
        raise NamError(f"{path}: unknown architecture {architecture!r} (ValveNet imports NAM's A1 WaveNet and LSTM)")
    version = data["version"]
    if not (isinstance(version, str) and version.startswith(READ_VERSIONS)):
        raise NamError(f"{path}: format version {version!r} is not supported (this importer reads {READ_VERSIONS}x)")


def _activation(path: Path, where: str, name: Any) -> str:
    if isinstance(name, dict):  # newer files: {"type": ..., parameters}
        raise NamError(f"{path}: {where}.activation {name.get('type')!r} with parameters is not supported")
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    if name in UNSUPPORTED_ACTIVATIONS:
        raise NamError(f"{path}: {where}.activation {name} is not supported yet "
                       f"(ValveNet has {', '.join(ACTIVATIONS)})")
    raise NamError(f"{path}: {where}: unknown activation {name!r}")


def _layer_array(path: Path, i: int, array: Any) -> dict[str, Any]:
    where = f"config.layers[{i}]"
    if not isinstance(array, dict):
        raise NamError(f"{path}: {where} is not an object")
    missing = [key for key in _ARRAY_KEYS if key not in array]
    if missing:
        raise NamError(f"{path}: {where} lacks {', '.join(missing)}")
    if not isinstance(array["gated"], bool):
        raise NamError(f"{path}: {where}.gated must be true or false, got {array['gated']!r}")
    if array["condition_size"] != 1:
        raise NamError(f"{path}: {where}: conditioning on more than the audio "
                       f"(condition_size {array['condition_size']}) is not supported")
    ours = {key: array[key] for key in _ARRAY_KEYS if key != "gated"}
    ours["activation"] = _activation(path, where, array["activation"])
    if array["gated"]:  # absent when false: ungated configs stay as they were
        ours["gated"] = True
    return ours


def config_from_nam(path: Path, nam_config: Any) -> dict[str, Any]:
    """The nam_wavenet config of a .nam file's A1 WaveNet `config`; NamError otherwise."""
    if not isinstance(nam_config, dict) or not isinstance(nam_config.get("layers"), list):
        raise NamError(f"{path}: config.layers is missing or not a list")
    if nam_config.get("head") is not None:
        raise NamError(f"{path}: a post-head (config.head) is not supported (NAM's own C++ core has none either)")
    config = {"kind": nam_wavenet.KIND,
              "layer_arrays": [_layer_array(path, i, a) for i, a in enumerate(nam_config["layers"])],
              "head_scale": nam_config.get("head_scale")}
    try:
        nam_wavenet.validate(config)
    except ConfigError as exc:
        raise NamError(f"{path}: a WaveNet ValveNet cannot hold: {exc}") from exc
    return config


def _lstm_config(path: Path, nam_config: Any) -> dict[str, Any]:
    try:
        return nam_lstm.config_from_nam(nam_config)
    except ValueError as exc:
        raise NamError(f"{path}: {exc}") from exc


def _weights(path: Path, raw: Any, config: dict[str, Any]) -> np.ndarray:
    if not isinstance(raw, list) or not all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in raw):
        raise NamError(f"{path}: weights must be a list of numbers")
    expected = weight_count(config)
    if len(raw) != expected:
        raise NamError(f"{path}: {len(raw)} weights, the config needs {expected}")
    values = np.asarray(raw, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise NamError(f"{path}: weight {bad[0]} is {raw[bad[0]]} (NaN or Inf weights)")
    return values


def _sample_rate(path: Path, data: dict[str, Any]) -> int:
    rate = data.get("sample_rate")
    if rate is None:
        return DEFAULT_SAMPLE_RATE
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0 or rate != math.floor(rate):
        raise NamError(f"{path}: sample_rate must be a positive whole number of Hz, got {rate!r}")
    return int(rate)


def read_nam(path: str | Path, name: str | None = None) -> ModelFile:
    """A .nam file as a nam_wavenet (A1 WaveNet) or lstm (LSTM) ModelFile (float32 tensors,
    exactly NAM's values).

    Metadata: the name (default: the file's stem), the sample rate (48 kHz when absent),
    unit gains, and the file's version and metadata (loudness, gain...) kept verbatim."""
    path = Path(path)
    data = _read_json(path)
    _check_header(path, data)
    lstm = data["architecture"] == "LSTM"
    config = _lstm_config(path, data["config"]) if lstm else config_from_nam(path, data["config"])
    values = _weights(path, data["weights"], config)
    if lstm:
        tensors = nam_lstm.tensors_from_nam(config, values)
    else:
        tensors, offset = {}, 0
        for entry in nam_layout(config):
            size = int(np.prod(entry.nam_shape))
            if entry.name is not None:
                tensors[entry.name] = _to_valvenet(values[offset:offset + size], entry).astype(np.float32)
            offset += size
    metadata = {"name": name or path.stem, "sample_rate": _sample_rate(path, data), "input_gain": 1.0,
                "output_gain": 1.0, "nam_version": data["version"], "nam_metadata": data.get("metadata")}
    try:
        check_consistent(config, tensors, metadata)
    except ValueError as exc:
        raise NamError(f"{path}: {exc}") from exc
    return ModelFile(config, tensors, metadata)


# ---- export ----------------------------------------------------------------------------

def _folded_gains(model: ModelFile) -> tuple[dict[str, np.ndarray], float]:
    """Tensors and head_scale with the model's input and output gains folded in (NAM has no
    gains): the input gain scales everything that reads the raw input (the first rechannel
    and every mixer), the output gain scales head_scale."""
    tensors = dict(model.tensors)
    gain_in = float(model.metadata.get("input_gain", 1.0))
    if gain_in != 1.0:
        for name in tensors:
            if name == "array0.rechannel.weight" or name.endswith(".mixer.weight"):
                tensors[name] = (tensors[name].astype(np.float64) * gain_in).astype(np.float32)
    return tensors, float(model.config["head_scale"]) * float(model.metadata.get("output_gain", 1.0))


def _header(model: ModelFile, architecture: str, config: dict[str, Any], weights: list[float]) -> dict[str, Any]:
    data: dict[str, Any] = {"version": str(model.metadata.get("nam_version") or EXPORT_VERSION),
                            "architecture": architecture, "config": config,
                            "weights": weights, "sample_rate": model.sample_rate}
    if model.metadata.get("nam_metadata") is not None:
        data["metadata"] = model.metadata["nam_metadata"]
    return data


def _lstm_to_nam(model: ModelFile) -> dict[str, Any]:
    try:
        config, weights = nam_lstm.to_nam(model.config, model.tensors, float(model.metadata.get("input_gain", 1.0)),
                                          float(model.metadata.get("output_gain", 1.0)))
    except ValueError as exc:
        raise NamError(f"model {model.name!r}: {exc}") from exc
    return _header(model, "LSTM", config, weights)


def to_nam(model: ModelFile) -> dict[str, Any]:
    """The .nam JSON object of a nam_wavenet model (the A1 WaveNet format, version 0.5.x) or
    of an lstm (NAM's LSTM)."""
    kind = model.config.get("kind")
    if kind == recurrent.LSTM:
        return _lstm_to_nam(model)
    if kind != nam_wavenet.KIND:
        raise NamError(f"model {model.name!r} is a {kind}: only nam_wavenet and lstm models export to .nam")
    tensors, head_scale = _folded_gains(model)
    flat = []
    for entry in nam_layout(model.config):
        if entry.name is None:
            flat.append(np.zeros(int(np.prod(entry.nam_shape))))
        else:
            flat.append(np.asarray(_to_nam(tensors[entry.name], entry), dtype=np.float32).reshape(-1))
    # The trailing head_scale weight as NAM's exporter writes it (a float32 tensor); the config
    # keeps the exact value, which is what the importer reads.
    weights = [float(w) for w in np.concatenate(flat)] + [float(np.float32(head_scale))]
    layers = [{"input_size": a["input_size"], "condition_size": a["condition_size"], "head_size": a["head_size"],
               "channels": a["channels"], "kernel_size": a["kernel_size"], "dilations": list(a["dilations"]),
               "activation": _TO_NAM[a["activation"]], "gated": a.get("gated", False), "head_bias": a["head_bias"]}
              for a in model.config["layer_arrays"]]
    return _header(model, "WaveNet", {"layers": layers, "head": None, "head_scale": head_scale}, weights)


def write_nam(model: ModelFile, path: str | Path) -> None:
    """Write the model as a .nam file (atomically)."""
    atomic.write_bytes(Path(path), json.dumps(to_nam(model)).encode("utf-8"))
