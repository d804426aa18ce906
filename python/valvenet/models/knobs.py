"""Knobs: a model's conditioning inputs (gain, tone...), recorded in its config.

A conditioned model takes, besides the audio, one value per knob. The config lists the knobs
(`"knobs": [{"name", "min", "max", "default"}]`, in input order); the network sees each knob
normalised to 0..1 over its range, so a knob's units (a pot's 0..10, dB) never change the
weights' scale. Out-of-range values are clamped to the range, as a pot stops at its ends.

How the knobs enter each kind (the same as Neural Amp Modeler's conditioning, for the WaveNet):
- nam_wavenet: the condition is [audio, knobs...]: every layer's input mixer
  (`mixer.weight`, (1 + K, z)) mixes the knobs into every layer; the rechannel sees the audio.
- lstm, gru: the first layer's input is [audio, knobs...] (`rnn.kernel`, (1 + K, gates x h));
  the skip adds the audio.
- wavenet (gated): no knobs.

Constant knobs over a block make their contribution a per-block bias: the C engines add
knobs @ weights to the bias once per block, which is why a knob costs almost nothing per sample.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from valvenet.models.config_rules import ConfigError, require

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
CONDITIONED_KINDS = ("nam_wavenet", "lstm", "gru")


def knob_list(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The config's knobs (empty for an unconditioned model)."""
    return list(config.get("knobs", []))


def knob_count(config: dict[str, Any]) -> int:
    return len(knob_list(config))


def knob_names(config: dict[str, Any]) -> list[str]:
    return [k["name"] for k in knob_list(config)]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate(config: dict[str, Any]) -> None:
    """Raise ConfigError naming the first bad knob field (the kinds check their own tensors)."""
    knobs = config.get("knobs", [])
    require(isinstance(knobs, list), "knobs must be a list of {name, min, max, default}")
    if knobs:
        require(config.get("kind") in CONDITIONED_KINDS,
                f"knobs are supported by {', '.join(CONDITIONED_KINDS)}, not {config.get('kind')!r}")
    seen = set()
    for i, knob in enumerate(knobs):
        require(isinstance(knob, dict), f"knobs[{i}] must be an object")
        name = knob.get("name")
        require(isinstance(name, str) and bool(_NAME.match(name)),
                f"knobs[{i}].name must be a lower-case identifier, got {name!r}")
        require(name not in seen, f"knobs[{i}].name {name!r} is given twice")
        seen.add(name)
        for key in ("min", "max", "default"):
            require(_number(knob.get(key)), f"knobs[{i}].{key} must be a finite number")
        require(knob["min"] < knob["max"], f"knobs[{i}]: min must be below max")
        require(knob["min"] <= knob["default"] <= knob["max"], f"knobs[{i}].default must be within min..max")


def knob(name: str, lo: float, hi: float, default: float | None = None) -> dict[str, Any]:
    """One knob's entry (default: the middle of its range)."""
    return {"name": name, "min": float(lo), "max": float(hi),
            "default": float((lo + hi) / 2 if default is None else default)}


def with_knobs(config: dict[str, Any], knobs: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of `config` conditioned on `knobs` (its knob-dependent sizes set to match)."""
    conditioned = copy.deepcopy(config)
    conditioned["knobs"] = copy.deepcopy(knobs)
    if conditioned.get("kind") == "nam_wavenet":
        for array in conditioned["layer_arrays"]:
            array["condition_size"] = 1 + len(knobs)
    validate(conditioned)
    return conditioned


def knob_vector(config: dict[str, Any], settings: Mapping[str, float] | None = None) -> np.ndarray:
    """The network's knob inputs (float64, 0..1, config order) for `settings` (knob name ->
    value in the knob's units); a knob not given is at its default, a value beyond the range
    is clamped. An unknown name is a ValueError naming the knobs there are."""
    knobs = knob_list(config)
    settings = dict(settings or {})
    unknown = sorted(set(settings) - {k["name"] for k in knobs})
    if unknown:
        have = ", ".join(k["name"] for k in knobs) or "none"
        raise ValueError(f"unknown knob {unknown[0]!r}; this model's knobs: {have}")
    values = []
    for k in knobs:
        value = float(settings.get(k["name"], k["default"]))
        if not math.isfinite(value):
            raise ValueError(f"knob {k['name']!r}: {value} is not a finite number")
        value = min(max(value, k["min"]), k["max"])
        values.append((value - k["min"]) / (k["max"] - k["min"]))
    return np.asarray(values, dtype=np.float64)


__all__ = ["CONDITIONED_KINDS", "ConfigError", "knob", "knob_count", "knob_list", "knob_names", "knob_vector",
           "validate", "with_knobs"]
