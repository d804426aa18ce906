"""Model configurations as data: JSON-able dicts, named presets, validation and sizes.

A model is described entirely by its config (kind + sizes), so the same dict drives the
Keras builder, the model file, the numpy oracle and the C code generator.

Kinds:
- ``gated_wavenet``: Damskaegg/Wright et al. WaveNet: 1x1 input conv, per layer a causal
  dilated conv to 2C channels, tanh x sigmoid gate, 1x1 residual conv whose output is both
  added to the layer input and taken as the layer's skip; a linear 1x1 mixes all skips.
- ``nam_wavenet``: Neural Amp Modeler's A1 WaveNet (plain activation): layer arrays, each
  with a rechannel 1x1, layers (dilated conv + input mixer of the raw input, activation,
  1x1 residual), a head accumulating activations, a head rechannel; head_scale at the end.
- ``lstm`` / ``gru``: one recurrent layer of `hidden` units, a dense output, and an
  optional skip connection from input to output.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

KINDS = ("gated_wavenet", "nam_wavenet", "lstm", "gru")
ACTIVATIONS = ("tanh", "hardtanh", "relu", "softsign")


class ConfigError(ValueError):
    """A model config that cannot describe a model."""


def _doubling(count: int, start: int = 1) -> list[int]:
    return [start * 2**i for i in range(count)]


def gated_wavenet(layers: int, channels: int, dilations: list[int] | None = None, kernel_size: int = 3,
                  activation: str = "tanh") -> dict[str, Any]:
    """Config of a gated WaveNet; dilations default to 1, 2, 4, ... (one per layer)."""
    return {
        "kind": "gated_wavenet",
        "channels": channels,
        "kernel_size": kernel_size,
        "dilations": dilations if dilations is not None else _doubling(layers),
        "activation": activation,
    }


_NAM_SHORT = [_doubling(7), [128, 256, 512] + _doubling(10)]
_NAM_LONG = [_doubling(10), _doubling(10)]


def nam_wavenet(channels: tuple[int, int], dilations: list[list[int]], activation: str = "tanh",
                head_scale: float = 0.02) -> dict[str, Any]:
    """Config of a two-array NAM A1 WaveNet (the layout of NAM's standard/lite/feather/nano)."""
    first, second = channels
    return {
        "kind": "nam_wavenet",
        "layer_arrays": [
            {"input_size": 1, "condition_size": 1, "channels": first, "head_size": second, "kernel_size": 3,
             "dilations": list(dilations[0]), "activation": activation, "head_bias": False},
            {"input_size": first, "condition_size": 1, "channels": second, "head_size": 1, "kernel_size": 3,
             "dilations": list(dilations[1]), "activation": activation, "head_bias": True},
        ],
        "head_scale": head_scale,
    }


def recurrent(kind: str, hidden: int, skip: bool = True) -> dict[str, Any]:
    """Config of an LSTM or GRU of `hidden` units with a dense output."""
    return {"kind": kind, "hidden": hidden, "skip": skip}


PRESETS: dict[str, dict[str, Any]] = {
    # Wright et al. 2020, "Real-time guitar amplifier emulation with deep learning".
    "wavenet1": gated_wavenet(10, 16),
    "wavenet2": gated_wavenet(18, 8, _doubling(9) * 2),
    "wavenet3": gated_wavenet(18, 16, _doubling(9) * 2),
    # Sizes for the microcontroller. wavenet-10x8 (WN10), wavenet-12x8 (WN12) and wavenet2 (WN18)
    # are the three layer counts of the published TFLite Micro / X-Cube-AI comparison (docs/results.md).
    "wavenet-10x8": gated_wavenet(10, 8),
    "wavenet-12x8": gated_wavenet(12, 8),
    "wavenet-10x4": gated_wavenet(10, 4),
    # Neural Amp Modeler A1 WaveNet sizes.
    "nam-standard": nam_wavenet((16, 8), _NAM_LONG),
    "nam-lite": nam_wavenet((12, 6), _NAM_SHORT),
    "nam-feather": nam_wavenet((8, 4), _NAM_SHORT),
    "nam-nano": nam_wavenet((4, 2), _NAM_SHORT),
    # Recurrent models (Wright et al. 2019).
    "lstm-8": recurrent("lstm", 8),
    "lstm-12": recurrent("lstm", 12),
    "lstm-16": recurrent("lstm", 16),
    "lstm-32": recurrent("lstm", 32),
    "gru-12": recurrent("gru", 12),
}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _check_positive_int(value: Any, name: str) -> None:
    _require(isinstance(value, int) and not isinstance(value, bool) and value > 0,
             f"{name} must be a positive integer, got {value!r}")


def _check_dilations(dilations: Any, name: str) -> None:
    _require(isinstance(dilations, list) and len(dilations) > 0, f"{name} must be a non-empty list")
    for i, d in enumerate(dilations):
        _check_positive_int(d, f"{name}[{i}]")


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Check a config and return it; raises ConfigError naming the bad field."""
    _require(isinstance(config, dict), "a model config must be a JSON object")
    kind = config.get("kind")
    _require(kind in KINDS, f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "gated_wavenet":
        _check_positive_int(config.get("channels"), "channels")
        _check_positive_int(config.get("kernel_size"), "kernel_size")
        _check_dilations(config.get("dilations"), "dilations")
        _require(config.get("activation", "tanh") == "tanh", "gated_wavenet uses tanh x sigmoid gates")
    elif kind == "nam_wavenet":
        arrays = config.get("layer_arrays")
        _require(isinstance(arrays, list) and arrays, "layer_arrays must be a non-empty list")
        previous_head = None
        for i, array in enumerate(arrays):
            for key in ("input_size", "condition_size", "channels", "head_size", "kernel_size"):
                _check_positive_int(array.get(key), f"layer_arrays[{i}].{key}")
            _check_dilations(array.get("dilations"), f"layer_arrays[{i}].dilations")
            _require(array.get("activation") in ACTIVATIONS,
                     f"layer_arrays[{i}].activation must be one of {', '.join(ACTIVATIONS)}")
            _require(array["condition_size"] == 1, f"layer_arrays[{i}].condition_size must be 1 (mono input)")
            expected_input = 1 if i == 0 else arrays[i - 1]["channels"]
            _require(array["input_size"] == expected_input,
                     f"layer_arrays[{i}].input_size must be {expected_input}")
            if previous_head is not None:
                _require(array["channels"] == previous_head,
                         f"layer_arrays[{i}].channels must equal layer_arrays[{i - 1}].head_size")
            previous_head = array["head_size"]
        _require(arrays[-1]["head_size"] == 1, "the last layer array's head_size must be 1")
        _require(isinstance(config.get("head_scale"), (int, float)), "head_scale must be a number")
    else:
        _check_positive_int(config.get("hidden"), "hidden")
        _require(isinstance(config.get("skip", True), bool), "skip must be true or false")
    return config


def resolve(preset_or_path: str) -> tuple[str, dict[str, Any]]:
    """Return (name, config) for a preset name or a JSON file path."""
    if preset_or_path in PRESETS:
        return preset_or_path, copy.deepcopy(PRESETS[preset_or_path])
    path = Path(preset_or_path)
    if path.suffix == ".json" or path.exists():
        try:
            config = json.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"{path}: no such model config file") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from exc
        try:
            return path.stem, validate(config)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    raise ConfigError(f"unknown model {preset_or_path!r}: use a preset ({', '.join(PRESETS)}) or a JSON file")


def receptive_field(config: dict[str, Any]) -> int:
    """Samples of input that influence one output sample (1 for recurrent models' step)."""
    kind = config["kind"]
    if kind == "gated_wavenet":
        return 1 + (config["kernel_size"] - 1) * sum(config["dilations"])
    if kind == "nam_wavenet":
        return 1 + sum((a["kernel_size"] - 1) * sum(a["dilations"]) for a in config["layer_arrays"])
    return 1


def macs_per_sample(config: dict[str, Any]) -> int:
    """Multiply-accumulates per output sample of the streaming computation."""
    kind = config["kind"]
    if kind == "gated_wavenet":
        c, k, n = config["channels"], config["kernel_size"], len(config["dilations"])
        return c + n * (k * c * 2 * c + c * c) + n * c
    if kind == "nam_wavenet":
        total = 1  # head_scale
        for a in config["layer_arrays"]:
            c, k, n = a["channels"], a["kernel_size"], len(a["dilations"])
            total += a["input_size"] * c + n * (k * c * c + a["condition_size"] * c + c * c) + c * a["head_size"]
        # The last layer's residual 1x1 feeds nothing (NAM computes it anyway; we do not).
        last = config["layer_arrays"][-1]["channels"]
        return total - last * last
    h = config["hidden"]
    gates = 4 if kind == "lstm" else 3
    return gates * h * (h + 1) + h
