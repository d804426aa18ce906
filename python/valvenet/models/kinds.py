"""The registry of model kinds: kind name -> everything the Python side needs to know about it.

A model is described by its config (kind + sizes); this table is the one place that maps a
kind to the code for each concern, so config.py, shapes.py, the oracle and the Keras builders
look the kind up here instead of each testing `config["kind"]`. Adding a kind in models/ =
a module with its config rules and shapes (like gated_wavenet.py), an oracle core class, a
Keras builder, and one KindSpec below (with its firmware id, the VN_KIND_* value in
firmware/nn/model.h). The C code generators in export/ keep their own table of emitters per
kind (export/engines/registry.py).

Why the parts are split as they are:
- Config rules, tensor shapes and sizes are plain functions of the config dict, one module
  per kind family, imported directly: they are all the model file and config need.
- The oracle cores stay together in oracle.py and the Keras builders in keras_models.py,
  because each of those files shares its machinery between the kinds (the streaming dilated
  conv; the custom layers and weight naming) and reads best as one reference. They are named
  here lazily (module and attribute, imported on first use): the oracle imports the model
  file, which validates through this registry, so an eager import would be circular, and
  the Keras builders need TensorFlow, which models/ must not import just to read a config.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from valvenet.models import gated_wavenet, nam_wavenet, recurrent
from valvenet.models.config_rules import require

Config = dict[str, Any]
WAVENET, RECURRENT = "wavenet", "recurrent"


@dataclass(frozen=True)
class Lazy:
    """An attribute of a module, imported when first asked for."""

    module: str
    name: str

    def load(self) -> Any:
        return getattr(importlib.import_module(self.module), self.name)


def _oracle(name: str) -> Lazy:
    return Lazy("valvenet.models.oracle", name)


def _keras(name: str) -> Lazy:
    return Lazy("valvenet.models.keras_models", name)


@dataclass(frozen=True)
class KindSpec:
    """What the Python side needs to know about one model kind.

    validate: raises ConfigError naming the bad field (the kind itself is already checked).
    shapes: tensor name -> shape, the model file's contract for the kind (order kept).
    receptive_field: samples of input that influence one output sample (1 for recurrent).
    macs_per_sample: multiply-accumulates per output sample of the streaming computation.
    oracle: the numpy core class, `Core(config, tensors)` with `reset()` and
        `process(x, observe)` (valvenet.models.oracle).
    keras: the builder `build(config, length, max_concat_inputs) -> keras.Model`.
    family: "wavenet" (a receptive field of past samples) or "recurrent" (a state).
    firmware_id: its VN_KIND_* value in firmware/nn/model.h, which a firmware reports in INFO
        (the generated engine names it VN_KIND_<NAME>; tests/python/test_firmware_constants.py
        holds the two sides together).
    """

    name: str
    family: str
    firmware_id: int
    presets: dict[str, Config]
    validate: Callable[[Config], None]
    shapes: Callable[[Config], dict[str, tuple[int, ...]]]
    receptive_field: Callable[[Config], int]
    macs_per_sample: Callable[[Config], int]
    oracle: Lazy
    keras: Lazy


_SPECS = (
    KindSpec(gated_wavenet.KIND, WAVENET, 1, gated_wavenet.PRESETS, gated_wavenet.validate, gated_wavenet.shapes,
             gated_wavenet.receptive_field, gated_wavenet.macs_per_sample,
             _oracle("GatedWaveNet"), _keras("build_gated_wavenet")),
    KindSpec(nam_wavenet.KIND, WAVENET, 2, nam_wavenet.PRESETS, nam_wavenet.validate, nam_wavenet.shapes,
             nam_wavenet.receptive_field, nam_wavenet.macs_per_sample,
             _oracle("NamWaveNet"), _keras("build_nam_wavenet")),
    KindSpec(recurrent.LSTM, RECURRENT, 3, recurrent.LSTM_PRESETS, recurrent.validate, recurrent.lstm_shapes,
             recurrent.receptive_field, recurrent.lstm_macs_per_sample, _oracle("Lstm"), _keras("build_lstm")),
    KindSpec(recurrent.GRU, RECURRENT, 4, recurrent.GRU_PRESETS, recurrent.validate, recurrent.gru_shapes,
             recurrent.receptive_field, recurrent.gru_macs_per_sample, _oracle("Gru"), _keras("build_gru")),
)

# Kind name -> spec, in the order kinds are listed to users (and presets are numbered).
REGISTRY: dict[str, KindSpec] = {s.name: s for s in _SPECS}


def spec(kind: Any) -> KindSpec:
    """The spec of a kind; ConfigError naming the `kind` field for anything unregistered."""
    require(isinstance(kind, str) and kind in REGISTRY,
            f"kind must be one of {', '.join(REGISTRY)}, got {kind!r}")
    return REGISTRY[kind]
