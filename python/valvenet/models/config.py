"""Model configurations as data: JSON-able dicts, named presets, validation and sizes.

A model is described entirely by its config (kind + sizes), so the same dict drives the
Keras builder, the model file, the numpy oracle and the C code generator.

Each kind's architecture, config rules, presets and sizes are in its own module
(gated_wavenet.py, nam_wavenet.py, recurrent.py for lstm and gru), listed in the registry
(kinds.py); this module is the front door that callers use for any config: it looks the
kind up and asks its module. The config builders are re-exported here for callers that
build configs by hand.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from valvenet.models import kinds, knobs
from valvenet.models.config_rules import ConfigError, require
from valvenet.models.gated_wavenet import gated_wavenet
from valvenet.models.nam_wavenet import nam_wavenet
from valvenet.models.recurrent import recurrent

__all__ = ["ConfigError", "KINDS", "PRESETS", "gated_wavenet", "macs_per_sample", "nam_wavenet",
           "receptive_field", "recurrent", "resolve", "validate"]

KINDS = tuple(kinds.REGISTRY)

# Every kind's presets, kind by kind in registry order.
PRESETS: dict[str, dict[str, Any]] = {name: preset for spec in kinds.REGISTRY.values()
                                      for name, preset in spec.presets.items()}


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Check a config and return it; raises ConfigError naming the bad field."""
    require(isinstance(config, dict), "a model config must be a JSON object")
    spec = kinds.spec(config.get("kind"))
    knobs.validate(config)  # first: the kinds size their inputs by the knobs
    spec.validate(config)
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
    return kinds.spec(config["kind"]).receptive_field(config)


def macs_per_sample(config: dict[str, Any]) -> int:
    """Multiply-accumulates per output sample of the streaming computation."""
    return kinds.spec(config["kind"]).macs_per_sample(config)
