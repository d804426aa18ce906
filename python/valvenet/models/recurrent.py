"""The recurrent kinds ("lstm", "gru"): their config, presets, rules, tensors and sizes.

One recurrent layer of `hidden` units (Keras conventions), a dense output, and an optional
skip connection from input to output. An LSTM may also stack `layers` layers (each one's
hidden state the next one's input) and start from a learned `initial_state` (tensors
rnn.initial_h / rnn.initial_c per layer) instead of zeros: what Neural Amp Modeler's LSTM
is. The two kinds share one config layout and its rules; they differ only in gate count and
bias layout, so both live here, each with its own functions for the registry (kinds.py)
rather than a test of the kind inside shared ones.
"""

from __future__ import annotations

from typing import Any

from valvenet.models.config_rules import check_positive_int, require

LSTM, GRU = "lstm", "gru"
LSTM_GATES = 4  # input, forget, cell, output
GRU_GATES = 3  # update, reset, candidate


def recurrent(kind: str, hidden: int, skip: bool = True) -> dict[str, Any]:
    """Config of an LSTM or GRU of `hidden` units with a dense output."""
    return {"kind": kind, "hidden": hidden, "skip": skip}


# Recurrent models (Wright et al. 2019).
LSTM_PRESETS: dict[str, dict[str, Any]] = {
    "lstm-8": recurrent(LSTM, 8),
    "lstm-12": recurrent(LSTM, 12),
    "lstm-16": recurrent(LSTM, 16),
    "lstm-32": recurrent(LSTM, 32),
}
GRU_PRESETS: dict[str, dict[str, Any]] = {
    "gru-12": recurrent(GRU, 12),
}


def validate(config: dict[str, Any]) -> None:
    """Raise ConfigError naming the first bad field (the same rules for both kinds; stacked
    layers and a learned initial state are the LSTM's)."""
    check_positive_int(config.get("hidden"), "hidden")
    require(isinstance(config.get("skip", True), bool), "skip must be true or false")
    check_positive_int(config.get("layers", 1), "layers")
    require(isinstance(config.get("initial_state", False), bool), "initial_state must be true or false")
    if config.get("kind") == GRU:
        require(config.get("layers", 1) == 1 and not config.get("initial_state", False),
                "a gru has one layer and a zero initial state")


def layer_prefix(layer: int) -> str:
    """Tensor name prefix of recurrent layer `layer` ("rnn", "rnn1", "rnn2"...)."""
    return "rnn" if layer == 0 else f"rnn{layer}"


def _shapes(hidden: int, gates: int, bias: tuple[int, ...], inputs: int) -> dict[str, tuple[int, ...]]:
    """`inputs`: the audio and the knobs (models/knobs.py), the first layer's input."""
    return {
        "rnn.kernel": (inputs, gates * hidden),
        "rnn.recurrent_kernel": (hidden, gates * hidden),
        "rnn.bias": bias,
        "dense.weight": (hidden, 1),
        "dense.bias": (1,),
    }


def lstm_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    h = config["hidden"]
    shapes = _shapes(h, LSTM_GATES, (LSTM_GATES * h,), 1 + len(config.get("knobs", [])))
    for layer in range(1, config.get("layers", 1)):
        p = layer_prefix(layer)
        shapes |= {f"{p}.kernel": (h, LSTM_GATES * h), f"{p}.recurrent_kernel": (h, LSTM_GATES * h),
                   f"{p}.bias": (LSTM_GATES * h,)}
    if config.get("initial_state", False):
        for layer in range(config.get("layers", 1)):
            shapes |= {f"{layer_prefix(layer)}.initial_h": (h,), f"{layer_prefix(layer)}.initial_c": (h,)}
    return shapes


def gru_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Keras's GRU with reset_after keeps two bias rows: the input's and the recurrent product's."""
    h = config["hidden"]
    return _shapes(h, GRU_GATES, (2, GRU_GATES * h), 1 + len(config.get("knobs", [])))


def receptive_field(config: dict[str, Any]) -> int:
    """1: a recurrent model's step sees one new sample (its past is in the state)."""
    return 1


def _macs(hidden: int, gates: int) -> int:
    return gates * hidden * (hidden + 1) + hidden


def lstm_macs_per_sample(config: dict[str, Any]) -> int:
    h = config["hidden"]
    return _macs(h, LSTM_GATES) + (config.get("layers", 1) - 1) * LSTM_GATES * h * 2 * h


def gru_macs_per_sample(config: dict[str, Any]) -> int:
    return _macs(config["hidden"], GRU_GATES)
