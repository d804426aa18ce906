"""Neural Amp Modeler's LSTM <-> ValveNet's `lstm` kind (stacked, learned initial state).

NAM's LSTM (`"architecture": "LSTM"`, config input_size, hidden_size, num_layers) is
PyTorch's nn.LSTM (gates i, f, g, o: Keras's order), a learned initial hidden and cell
state per layer, and a linear head from the last layer's hidden state; no skip, no
head_scale. Its flat `weights`, per layer:

    [W_ih | W_hh]  (4H, in + H) in C order    (in: 1 for the first layer, H above)
    b_ih + b_hh    (4H)
    initial hidden (H), initial cell (H)

then the head's weight (H) and bias (1). ValveNet's `lstm` stores kernel (in, 4H) = W_ih^T,
recurrent_kernel (H, 4H) = W_hh^T, one bias, and initial_h / initial_c per layer
(models/recurrent.py); the config {"layers": L, "initial_state": true, "skip": false}.

Pure layout: errors are ValueErrors without a file name (export/nam.py adds it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from valvenet.models import recurrent

GATES = recurrent.LSTM_GATES


def config_from_nam(nam_config: Any) -> dict[str, Any]:
    """The lstm config of a NAM LSTM `config`; ValueError naming the bad field otherwise."""
    if not isinstance(nam_config, dict):
        raise ValueError("config is not an object")
    missing = [key for key in ("hidden_size", "num_layers") if key not in nam_config]
    if missing:
        raise ValueError(f"config lacks {', '.join(missing)}")
    input_size = nam_config.get("input_size", 1)
    if input_size != 1:
        raise ValueError(f"an LSTM conditioning on more than the audio (input_size {input_size}) is not supported")
    hidden, layers = nam_config["hidden_size"], nam_config["num_layers"]
    for key, value in (("hidden_size", hidden), ("num_layers", layers)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"config.{key} must be a positive integer, got {value!r}")
    return {"kind": recurrent.LSTM, "hidden": hidden, "skip": False, "layers": layers, "initial_state": True}


def weight_count(config: dict[str, Any]) -> int:
    """Numbers in a NAM LSTM file's `weights` for this lstm config."""
    h, layers = config["hidden"], config.get("layers", 1)
    per_layer = [GATES * h * ((1 if layer == 0 else h) + h) + GATES * h + 2 * h for layer in range(layers)]
    return sum(per_layer) + h + 1


def tensors_from_nam(config: dict[str, Any], values: np.ndarray) -> dict[str, np.ndarray]:
    """The lstm tensors (float32) from a NAM LSTM's flat weights (already counted)."""
    h, at, tensors = config["hidden"], 0, {}

    def take(*shape: int) -> np.ndarray:
        nonlocal at
        size = int(np.prod(shape))
        at += size
        return values[at - size:at].reshape(shape)

    for layer in range(config.get("layers", 1)):
        p, inputs = recurrent.layer_prefix(layer), 1 if layer == 0 else h
        both = take(GATES * h, inputs + h)
        tensors[f"{p}.kernel"] = both[:, :inputs].T
        tensors[f"{p}.recurrent_kernel"] = both[:, inputs:].T
        tensors[f"{p}.bias"] = take(GATES * h)
        tensors[f"{p}.initial_h"], tensors[f"{p}.initial_c"] = take(h), take(h)
    tensors["dense.weight"], tensors["dense.bias"] = take(h)[:, None], take(1)
    return {name: np.ascontiguousarray(t, dtype=np.float32) for name, t in tensors.items()}


def to_nam(config: dict[str, Any], tensors: dict[str, np.ndarray], gain_in: float, gain_out: float
           ) -> tuple[dict[str, Any], list[float]]:
    """(NAM config, flat weights) of an lstm model; the gains folded in (the input gain into
    the first layer's kernel, the output gain into the head). ValueError for what NAM's LSTM
    cannot hold (the input skip)."""
    if config.get("skip", True):
        raise ValueError("an lstm with the input skip (skip: true) has no .nam form (NAM's LSTM has no skip)")
    h, flat = config["hidden"], []
    for layer in range(config.get("layers", 1)):
        p = recurrent.layer_prefix(layer)
        kernel = np.asarray(tensors[f"{p}.kernel"], np.float64) * (gain_in if layer == 0 else 1.0)
        flat += [np.concatenate([kernel.T, np.asarray(tensors[f"{p}.recurrent_kernel"], np.float64).T], axis=1),
                 tensors[f"{p}.bias"]]
        if config.get("initial_state", False):
            flat += [tensors[f"{p}.initial_h"], tensors[f"{p}.initial_c"]]
        else:
            flat += [np.zeros(2 * h)]
    flat += [np.asarray(tensors["dense.weight"], np.float64)[:, 0] * gain_out,
             np.asarray(tensors["dense.bias"], np.float64) * gain_out]
    weights = [float(np.float32(w)) for part in flat for w in np.asarray(part).reshape(-1)]
    return {"input_size": 1, "hidden_size": h, "num_layers": config.get("layers", 1)}, weights
