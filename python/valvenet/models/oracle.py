"""The numpy streaming oracle: every model kind, from the model file alone.

It is the reference everything else is compared with (Keras, the C engine, TFLite, the
firmware), so it is written for clarity and exactness (float64), not speed:

- WaveNets keep, per dilated layer, the last (k-1)*d inputs of that layer (its ring
  buffer, here a numpy history), so each new sample costs one column per layer, never a
  whole receptive field. A block of N samples is computed column by column in one numpy
  expression per layer; the result is identical for any block size, N = 1 included.
- Recurrent models keep (h, c) and step sample by sample.
- State starts at zero, which is what Keras's causal zero padding and zero initial RNN
  state mean: the oracle matches Keras from the very first sample.

The core classes of all kinds stay together here (registered by kind in kinds.py) because
they share the streaming machinery (DilatedConv, the dense helpers) and read as one reference.

An observer (`Oracle(model, observer=...)`) is shown every named intermediate tensor as it is
computed, so tools that need the network's inner values (the int16 engine's calibration,
valvenet.models.calibrate) read them from this one forward pass instead of repeating it.
Names, per kind ("x" is the input after the input gain, for every kind):
- gated WaveNet, per layer l: "h{l}" the layer input, "z{l}" the conv output, "r{l}" the
  residual/skip output; "y" the output before the output gain.
- NAM WaveNet, per layer array a and layer l: "a{a}.h{l}" the layer input (h{n}: the array's
  output), "a{a}.p{l}" the activation output, "a{a}.s" the head sum (the head's input);
  "y" the output before the output gain.
- LSTM: "c" the cell state, once per sample. GRU: nothing beyond "x".

Knobs (models/knobs.py): `Oracle.set_knobs({"gain": 0.7})` sets a conditioned model's knob
inputs for the blocks that follow (constant within a block, as on the pedal); the cores hold the
normalised vector in `knobs` and prepend the audio to it where the model's input is read.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from valvenet.models import kinds, knobs, recurrent
from valvenet.models.nam_wavenet import FAST_TANH, LEAKY_RELU_SLOPE
from valvenet.models.model_file import ModelFile

Observer = Callable[[str, np.ndarray], None]


def _ignore(name: str, values: np.ndarray) -> None:
    """The default observer: sees nothing."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _fast_tanh(z: np.ndarray) -> np.ndarray:
    """NAM's fast tanh (a rational function, not tanh: NAM's output is this function's)."""
    a, b, c, d, e = (FAST_TANH[k] for k in "abcde")
    az, z2 = np.abs(z), z * z
    return z * (a + a * az + (b + c * az) * z2) / (d + (d + z2) * np.abs(z + e * z * az))


_ACTIVATIONS = {
    "tanh": np.tanh,
    "hardtanh": lambda z: np.clip(z, -1.0, 1.0),
    "relu": lambda z: np.maximum(z, 0.0),
    "softsign": lambda z: z / (1.0 + np.abs(z)),
    "fasttanh": _fast_tanh,
    "leakyrelu": lambda z: np.where(z > 0.0, z, LEAKY_RELU_SLOPE * z),
}


class DilatedConv:
    """A causal dilated convolution with its streaming history of (k-1)*d input columns."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray | None, dilation: int) -> None:
        self.weight = weight.astype(np.float64)  # (k, in, out)
        self.bias = None if bias is None else bias.astype(np.float64)
        self.dilation = dilation
        self.history_length = (weight.shape[0] - 1) * dilation
        self.history = np.zeros((self.history_length, weight.shape[1]))

    def reset(self) -> None:
        self.history[:] = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x: (N, in) new columns -> (N, out); the history moves on by N columns."""
        n = x.shape[0]
        full = np.concatenate([self.history, x]) if self.history_length else x
        out = sum(full[j * self.dilation: j * self.dilation + n] @ self.weight[j] for j in range(self.weight.shape[0]))
        if self.bias is not None:
            out = out + self.bias
        if self.history_length:
            self.history = full[-self.history_length:].copy()
        return out


def _dense(tensors: dict[str, np.ndarray], name: str) -> tuple[np.ndarray, np.ndarray | None]:
    weight = tensors[f"{name}.weight"].astype(np.float64)
    bias = tensors.get(f"{name}.bias")
    return weight, None if bias is None else bias.astype(np.float64)


def _with_knobs(x: np.ndarray, knob_values: np.ndarray) -> np.ndarray:
    """(N,) audio -> (N, 1 + K): the audio, then the block's knob inputs on every row."""
    return np.column_stack([x, np.broadcast_to(knob_values, (x.shape[0], knob_values.size))])


def _apply(weight_bias: tuple[np.ndarray, np.ndarray | None], x: np.ndarray) -> np.ndarray:
    weight, bias = weight_bias
    return x @ weight if bias is None else x @ weight + bias


class GatedWaveNet:
    """Streaming gated WaveNet (see valvenet.models.config for the architecture)."""

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        self.input = _dense(tensors, "input")
        self.convs = [DilatedConv(tensors[f"layer{i}.conv.weight"], tensors[f"layer{i}.conv.bias"], d)
                      for i, d in enumerate(config["dilations"])]
        self.residuals = [_dense(tensors, f"layer{i}.residual") for i in range(len(config["dilations"]))]
        self.output = _dense(tensors, "output")
        self.channels = config["channels"]

    def reset(self) -> None:
        for conv in self.convs:
            conv.reset()

    def process(self, x: np.ndarray, observe: Observer = _ignore) -> np.ndarray:
        h = _apply(self.input, x[:, None])
        skips = []
        for i, (conv, residual) in enumerate(zip(self.convs, self.residuals)):
            observe(f"h{i}", h)
            z = conv(h)
            observe(f"z{i}", z)
            gated = np.tanh(z[:, : self.channels]) * _sigmoid(z[:, self.channels:])
            r = _apply(residual, gated)
            observe(f"r{i}", r)
            skips.append(r)
            h = h + r
        y = _apply(self.output, np.concatenate(skips, axis=1))[:, 0]
        observe("y", y)
        return y


class NamWaveNet:
    """Streaming Neural Amp Modeler A1 WaveNet (layer arrays, plain or gated activations)."""

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        self.arrays = []
        for a, array in enumerate(config["layer_arrays"]):
            layers = []
            for i, d in enumerate(array["dilations"]):
                prefix = f"array{a}.layer{i}"
                residual = _dense(tensors, f"{prefix}.residual") if f"{prefix}.residual.weight" in tensors else None
                layers.append((DilatedConv(tensors[f"{prefix}.conv.weight"], tensors[f"{prefix}.conv.bias"], d),
                               tensors[f"{prefix}.mixer.weight"].astype(np.float64), residual))
            self.arrays.append({
                "rechannel": tensors[f"array{a}.rechannel.weight"].astype(np.float64),
                "layers": layers,
                "activation": _ACTIVATIONS[array["activation"]],
                "gated": array.get("gated", False),
                "channels": array["channels"],
                "head": _dense(tensors, f"array{a}.head"),
            })
        self.head_scale = float(config["head_scale"])
        self.knobs = knobs.knob_vector(config)

    def reset(self) -> None:
        for array in self.arrays:
            for conv, _, _ in array["layers"]:
                conv.reset()

    def process(self, x: np.ndarray, observe: Observer = _ignore) -> np.ndarray:
        condition = _with_knobs(x, self.knobs)
        y, head = x[:, None], None
        for a, array in enumerate(self.arrays):
            h = y @ array["rechannel"]
            for i, (conv, mixer, residual) in enumerate(array["layers"]):
                observe(f"a{a}.h{i}", h)
                z = conv(h) + condition @ mixer
                if array["gated"]:  # NAM: act(first C) * sigmoid(last C)
                    c = array["channels"]
                    post = array["activation"](z[:, :c]) * _sigmoid(z[:, c:])
                else:
                    post = array["activation"](z)
                observe(f"a{a}.p{i}", post)
                head = post if head is None else head + post
                if residual is not None:
                    h = h + _apply(residual, post)
            observe(f"a{a}.h{len(array['layers'])}", h)
            observe(f"a{a}.s", head)
            head = _apply(array["head"], head)
            y = h
        out = self.head_scale * head[:, 0]
        observe("y", out)
        return out


class Recurrent:
    """Streaming recurrent layer + dense output (+ skip); Lstm and Gru supply the steps."""

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        self.hidden = config["hidden"]
        self.skip = config.get("skip", True)
        self.kernel = tensors["rnn.kernel"].astype(np.float64)  # (1 + knobs, gates x hidden)
        self.knobs = knobs.knob_vector(config)
        self.recurrent = tensors["rnn.recurrent_kernel"].astype(np.float64)
        self.bias = tensors["rnn.bias"].astype(np.float64)
        self.dense = _dense(tensors, "dense")
        self.reset()

    def reset(self) -> None:
        self.h = np.zeros(self.hidden)
        self.c = np.zeros(self.hidden)

    def _steps(self, x: np.ndarray, observe: Observer) -> np.ndarray:
        """The hidden states for inputs x, one row a sample; the state moves on."""
        raise NotImplementedError

    def process(self, x: np.ndarray, observe: Observer = _ignore) -> np.ndarray:
        y = _apply(self.dense, self._steps(x, observe))[:, 0]
        return y + x if self.skip else y


class Lstm(Recurrent):
    """Streaming LSTM (Keras conventions: gates i, f, c, o); stacked layers and a learned
    initial state when the config has them (recurrent.py)."""

    def __init__(self, config: dict[str, Any], tensors: dict[str, np.ndarray]) -> None:
        count = config.get("layers", 1)
        prefixes = [recurrent.layer_prefix(layer) for layer in range(count)]
        self.stack = [(tensors[f"{p}.kernel"].astype(np.float64), tensors[f"{p}.recurrent_kernel"].astype(np.float64),
                       tensors[f"{p}.bias"].astype(np.float64)) for p in prefixes]
        hidden = config["hidden"]
        self.initial = [(tensors[f"{p}.initial_h"].astype(np.float64), tensors[f"{p}.initial_c"].astype(np.float64))
                        if config.get("initial_state", False) else (np.zeros(hidden), np.zeros(hidden))
                        for p in prefixes]
        super().__init__(config, tensors)

    def reset(self) -> None:
        self.states = [(h.copy(), c.copy()) for h, c in self.initial]

    def _steps(self, x: np.ndarray, observe: Observer) -> np.ndarray:
        n, out = self.hidden, np.empty((x.shape[0], self.hidden))
        inputs = _with_knobs(x, self.knobs)
        for t in range(x.shape[0]):
            below = inputs[t]
            for layer, (kernel, recurrent_kernel, bias) in enumerate(self.stack):
                h, c = self.states[layer]
                z = below @ kernel + bias + h @ recurrent_kernel
                i, f, o = _sigmoid(z[:n]), _sigmoid(z[n:2 * n]), _sigmoid(z[3 * n:])
                c = f * c + i * np.tanh(z[2 * n:3 * n])
                if layer == 0:
                    observe("c", c)
                h = o * np.tanh(c)
                self.states[layer] = (h, c)
                below = h
            out[t] = below
        return out


class Gru(Recurrent):
    """Streaming GRU (Keras conventions: gates z, r, h; reset_after, two bias rows)."""

    def _steps(self, x: np.ndarray, observe: Observer) -> np.ndarray:
        n, out = self.hidden, np.empty((x.shape[0], self.hidden))
        inputs = _with_knobs(x, self.knobs) @ self.kernel + self.bias[0]
        h = self.h
        for t in range(x.shape[0]):
            inner = h @ self.recurrent + self.bias[1]
            z = _sigmoid(inputs[t, :n] + inner[:n])
            r = _sigmoid(inputs[t, n:2 * n] + inner[n:2 * n])
            candidate = np.tanh(inputs[t, 2 * n:] + r * inner[2 * n:])
            h = z * h + (1.0 - z) * candidate
            out[t] = h
        self.h = h
        return out


class Oracle:
    """Streams audio through a model file: input gain, model, output gain.

    `process` takes any block length and carries state across calls; `reset` returns to
    the initial (zero) state.
    """

    def __init__(self, model: ModelFile, observer: Observer | None = None) -> None:
        self.model = model
        self.observe = observer or _ignore
        self.core = kinds.spec(model.config["kind"]).oracle.load()(model.config, model.tensors)
        self.input_gain = float(model.metadata.get("input_gain", 1.0))
        self.output_gain = float(model.metadata.get("output_gain", 1.0))
        self.knob_settings: dict[str, float] = {}  # the knobs set so far (the others at their defaults)

    def reset(self) -> None:
        """Zero history and the knobs at their defaults: a fresh model, as the C engines' reset."""
        self.core.reset()
        self.knob_settings = {}
        self.core.knobs = knobs.knob_vector(self.model.config)

    def set_knobs(self, settings: dict[str, float]) -> None:
        """Knob values (name -> value in the knob's units) for the blocks that follow; knobs not
        named keep their value. ValueError for a knob the model does not have."""
        merged = {**self.knob_settings, **settings}
        self.core.knobs = knobs.knob_vector(self.model.config, merged)
        self.knob_settings = merged

    def set_knob_positions(self, positions: np.ndarray) -> None:
        """The knobs as the C engines take them (set_knobs, firmware/nn/model.h): positions
        0..1 over each knob's range, config order, clamped."""
        config = self.model.config
        values = np.clip(np.asarray(positions, np.float64).reshape(-1), 0.0, 1.0)
        if values.size != knobs.knob_count(config):
            raise ValueError(f"{values.size} knob positions for a model with {knobs.knob_count(config)} knobs")
        self.core.knobs = values
        self.knob_settings = {k["name"]: k["min"] + v * (k["max"] - k["min"])
                              for k, v in zip(knobs.knob_list(config), values)}

    def process(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, dtype=np.float64).reshape(-1)
        if x.size == 0:
            return x
        x = self.input_gain * x
        self.observe("x", x)
        return self.output_gain * self.core.process(x, self.observe)

    def process_all(self, audio: np.ndarray, block_size: int = 4096) -> np.ndarray:
        """Process a whole signal block by block (flat memory), from the current state."""
        audio = np.asarray(audio).reshape(-1)
        return np.concatenate([self.process(audio[i:i + block_size]) for i in range(0, audio.size, block_size)]
                              or [np.zeros(0)])
