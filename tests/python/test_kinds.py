"""The registry of model kinds: every kind complete, its presets valid, other kinds refused."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from valvenet.models import config, kinds
from valvenet.models.config import ConfigError
from valvenet.models.model_file import ModelFile
from valvenet.models.oracle import Oracle

SPECS = list(kinds.REGISTRY.values())


def smallest_preset(spec: kinds.KindSpec) -> dict:
    return min(spec.presets.values(), key=spec.macs_per_sample)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_kind_has_every_part(spec: kinds.KindSpec) -> None:
    assert kinds.spec(spec.name) is spec
    assert spec.family in (kinds.WAVENET, kinds.RECURRENT)
    assert spec.presets, "a kind needs at least one preset"
    preset = smallest_preset(spec)
    spec.validate(preset)
    field = spec.receptive_field(preset)
    assert field > 1 if spec.family == kinds.WAVENET else field == 1
    assert spec.macs_per_sample(preset) > 0
    shapes = spec.shapes(preset)
    assert shapes and all(all(isinstance(n, int) and n > 0 for n in s) for s in shapes.values())

    # The oracle core streams a model with exactly these tensors.
    tensors = {name: np.full(shape, 0.01, np.float32) for name, shape in shapes.items()}
    out = Oracle(ModelFile(preset, tensors, {"name": "unit", "sample_rate": 48000})).process(np.ones(8))
    assert out.shape == (8,) and np.all(np.isfinite(out))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_keras_builder_holds_the_kinds_tensors(spec: kinds.KindSpec) -> None:
    from valvenet.models import keras_models

    preset = smallest_preset(spec)
    weights = keras_models.export_weights(spec.keras.load()(preset))
    assert {name: w.shape for name, w in weights.items()} == spec.shapes(preset)


@pytest.mark.parametrize("name", list(config.PRESETS))
def test_presets_validate_as_their_kind(name: str) -> None:
    preset = config.PRESETS[name]
    assert config.validate(preset) is preset
    assert name in kinds.spec(preset["kind"]).presets


def test_preset_names_are_unique_across_kinds() -> None:
    assert len(config.PRESETS) == sum(len(spec.presets) for spec in SPECS)


@pytest.mark.parametrize("kind", ["transformer", "LSTM", None, ["lstm"]])
def test_unregistered_kind_is_refused(kind: object) -> None:
    message = "^kind must be one of gated_wavenet, nam_wavenet, lstm, gru, got " + re.escape(repr(kind)) + "$"
    with pytest.raises(ConfigError, match=message):
        config.validate({"kind": kind, "hidden": 8})
    with pytest.raises(ConfigError, match=message):
        config.receptive_field({"kind": kind, "hidden": 8})


def test_unregistered_kind_in_a_config_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"kind": "transformer", "hidden": 8}))
    with pytest.raises(ConfigError, match=rf"{path}: kind must be one of .*, got 'transformer'"):
        config.resolve(str(path))
