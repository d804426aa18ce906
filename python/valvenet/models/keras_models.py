"""Keras builders for every model kind, and the mapping of their weights to named tensors.

The builders of all kinds stay together here (registered by kind in kinds.py, which names
them lazily so that models/ imports TensorFlow only when a Keras model is wanted) because
they share the custom layers and the weight naming below.

Tensor names and layouts are the model file's contract (valvenet.models.model_file): convs
are stored as Keras holds them, (kernel, in, out); dense and 1x1 weights as (in, out).
The numpy oracle and the C code generator read exactly these names.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

from valvenet.models import kinds, knobs, recurrent  # noqa: E402
from valvenet.models.nam_wavenet import FAST_TANH, LEAKY_RELU_SLOPE, conv_outputs  # noqa: E402


@keras.saving.register_keras_serializable(package="valvenet")
class Gate(layers.Layer):
    """tanh(first half) x sigmoid(second half) of the channels: WaveNet's gated unit."""

    def call(self, z):  # type: ignore[no-untyped-def]
        half = z.shape[-1] // 2
        return ops.tanh(z[..., :half]) * ops.sigmoid(z[..., half:])


@keras.saving.register_keras_serializable(package="valvenet")
class Activation(layers.Layer):
    """The plain activations a NAM WaveNet may use (names as in the model config)."""

    def __init__(self, name_of_activation: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name_of_activation = name_of_activation

    def call(self, z):  # type: ignore[no-untyped-def]
        kind = self.name_of_activation
        if kind == "tanh":
            return ops.tanh(z)
        if kind == "hardtanh":
            return ops.clip(z, -1.0, 1.0)
        if kind == "relu":
            return ops.relu(z)
        if kind == "softsign":
            return z / (1.0 + ops.abs(z))
        if kind == "fasttanh":
            a, b, c, d, e = (FAST_TANH[k] for k in "abcde")
            az, z2 = ops.abs(z), z * z
            return z * (a + a * az + (b + c * az) * z2) / (d + (d + z2) * ops.abs(z + e * z * az))
        if kind == "leakyrelu":
            return ops.where(z > 0.0, z, LEAKY_RELU_SLOPE * z)
        raise ValueError(f"unknown activation {kind}")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "name_of_activation": self.name_of_activation}


@keras.saving.register_keras_serializable(package="valvenet")
class GatedActivation(Activation):
    """NAM's gated layer output: activation(first half) x sigmoid(second half) of the channels."""

    def call(self, z):  # type: ignore[no-untyped-def]
        half = z.shape[-1] // 2
        return super().call(z[..., :half]) * ops.sigmoid(z[..., half:])


@keras.saving.register_keras_serializable(package="valvenet")
class InitialState(layers.Layer):
    """A learned recurrent initial state (NAM's LSTM): one trainable vector, repeated for
    every sequence of the batch."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.value = self.add_weight(shape=(units,), initializer="zeros", name="value")

    def call(self, x):  # type: ignore[no-untyped-def]
        return ops.zeros_like(x[:, 0, :1]) + self.value[None, :]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="valvenet")
class AudioChannel(layers.Layer):
    """The audio of a conditioned model's input (channel 0; the knobs follow it)."""

    def call(self, x):  # type: ignore[no-untyped-def]
        return x[..., :1]


def _inputs(config: dict[str, Any], length: int | None) -> tuple[Any, Any]:
    """The model's input (the audio, then one channel per knob) and its audio channel."""
    count = knobs.knob_count(config)
    x = keras.Input(shape=(length, 1 + count), name="audio")
    return x, (AudioChannel(name="audio_channel")(x) if count else x)


@keras.saving.register_keras_serializable(package="valvenet")
class Scale(layers.Layer):
    """Multiplies by a fixed constant (NAM's head_scale)."""

    def __init__(self, factor: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = float(factor)

    def call(self, z):  # type: ignore[no-untyped-def]
        return z * self.factor

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


def _conv(filters: int, kernel: int, name: str, dilation: int = 1, bias: bool = True) -> layers.Conv1D:
    return layers.Conv1D(filters, kernel, dilation_rate=dilation, padding="causal", use_bias=bias, name=name)


def build_gated_wavenet(config: dict[str, Any], length: int | None = None,
                        max_concat_inputs: int | None = None) -> keras.Model:
    c, k = config["channels"], config["kernel_size"]
    x = keras.Input(shape=(length, 1), name="audio")
    h = _conv(c, 1, "input")(x)
    skips = []
    for i, d in enumerate(config["dilations"]):
        z = _conv(2 * c, k, f"layer{i}.conv", dilation=d)(h)
        g = Gate(name=f"layer{i}.gate")(z)
        r = _conv(c, 1, f"layer{i}.residual")(g)
        skips.append(r)
        h = layers.Add(name=f"layer{i}.add")([h, r])
    if max_concat_inputs and len(skips) > max_concat_inputs:
        # Same channel order, concatenated in groups (TFLite Micro's CONCATENATION takes <= 10 inputs).
        groups = [skips[i:i + max_concat_inputs] for i in range(0, len(skips), max_concat_inputs)]
        skips = [layers.Concatenate(name=f"skips.group{g}")(group) if len(group) > 1 else group[0]
                 for g, group in enumerate(groups)]
    mixed = layers.Concatenate(name="skips")(skips) if len(skips) > 1 else skips[0]
    y = _conv(1, 1, "output")(mixed)
    return keras.Model(x, y, name="gated_wavenet")


def build_nam_wavenet(config: dict[str, Any], length: int | None = None, max_concat_inputs: int | None = None
                      ) -> keras.Model:
    x, audio = _inputs(config, length)
    y, head = audio, None
    for a, array in enumerate(config["layer_arrays"]):
        c, k = array["channels"], array["kernel_size"]
        h = _conv(c, 1, f"array{a}.rechannel", bias=False)(y)
        for i, d in enumerate(array["dilations"]):
            prefix = f"array{a}.layer{i}"
            width, gated = conv_outputs(array), array.get("gated", False)
            z = _conv(width, k, f"{prefix}.conv", dilation=d)(h)
            z = layers.Add(name=f"{prefix}.mix")([z, _conv(width, 1, f"{prefix}.mixer", bias=False)(x)])
            post = (GatedActivation if gated else Activation)(array["activation"], name=f"{prefix}.activation")(z)
            head = post if head is None else layers.Add(name=f"{prefix}.head_add")([head, post])
            h = layers.Add(name=f"{prefix}.add")([h, _conv(c, 1, f"{prefix}.residual")(post)])
        head = _conv(array["head_size"], 1, f"array{a}.head", bias=array["head_bias"])(head)
        y = h
    out = Scale(config["head_scale"], name="head_scale")(head)
    return keras.Model(x, out, name="nam_wavenet")


def _recurrent(rnn_layer: type[layers.Layer], config: dict[str, Any], length: int | None) -> keras.Model:
    """An LSTM or GRU model (max_concat_inputs, in the builders' shared signature, is a WaveNet's).

    The layer also returns its final state (unused here), so that `stateful_twin` can call the
    same layer with a carried state."""
    x, audio = _inputs(config, length)
    h = rnn_layer(config["hidden"], return_sequences=True, return_state=True, name="rnn")(x)[0]
    y = layers.Dense(1, name="dense")(h)
    if config.get("skip", True):
        y = layers.Add(name="skip")([y, audio])
    return keras.Model(x, y, name=config["kind"])


def state_count(model: keras.Model) -> int:
    """How many state tensors a recurrent model's layer carries: (h, c) for an LSTM, h for a GRU."""
    return 2 if isinstance(model.get_layer("rnn"), layers.LSTM) else 1


def stateful_twin(model: keras.Model) -> keras.Model:
    """A model sharing a recurrent model's layers (and so its weights) that takes the initial
    state with the audio and returns the final state with the output: [audio, *state] ->
    [y, *state]. Training carries the state from one segment of a sequence to the next."""
    rnn, hidden = model.get_layer("rnn"), model.get_layer("rnn").units
    x = keras.Input(shape=(None, model.input_shape[-1]), name="audio")
    initial = [keras.Input(shape=(hidden,), name=f"state{i}") for i in range(state_count(model))]
    h, *final = rnn(x, initial_state=initial if len(initial) > 1 else initial[0])
    y = model.get_layer("dense")(h)
    if any(layer.name == "skip" for layer in model.layers):
        audio = model.get_layer("audio_channel")(x) if model.input_shape[-1] > 1 else x
        y = model.get_layer("skip")([y, audio])
    return keras.Model([x, *initial], [y, *final], name=f"{model.name}_stateful")


def initialise_recurrent(model: keras.Model, input_scale: float, forget_bias: float) -> None:
    """Put a fresh recurrent model's gates in their useful range and start it as its skip.

    - The input kernel is multiplied by `input_scale` (1 / the training input's RMS: guitar DI
      at its recorded level is quiet, and Keras's default kernel then leaves every gate
      pre-activation near 0, in the linear part of its sigmoid or tanh).
    - An LSTM's forget-gate bias is set to `forget_bias` (a cell that keeps its memory over
      ~e^bias samples at the start; a GRU has no forget bias: its update gate starts at 0.5).
    - The dense output starts at zero, so the model starts as output = input (its skip) or
      silence: a random output layer on a busy state adds an offset and noise whose DC term
      alone makes the first gradients thousands of times too large."""
    rnn = model.get_layer("rnn")
    kernel, recurrent, bias = rnn.get_weights()
    kernel = kernel.copy()
    kernel[0] *= input_scale  # the audio's row; knob inputs are 0..1 already
    if isinstance(rnn, layers.LSTM):
        bias = bias.copy()
        bias[rnn.units:2 * rnn.units] = forget_bias
    rnn.set_weights([kernel, recurrent, bias])
    dense = model.get_layer("dense")
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])


def initialise_gated_wavenet(model: keras.Model, input_scale: float) -> None:
    """Scale a fresh gated WaveNet's 1x1 input kernel by `input_scale` (1 / the training input's
    RMS) and its output kernel by the inverse. Guitar DI at its recorded level (about -30 dBFS
    RMS) gives the layers inputs of ~0.03, where tanh and the sigmoid gate are linear: every
    layer starts as a linear filter and must grow its weights ~30x before it can distort,
    which high gain needs most. The output's inverse scaling keeps the model's starting output
    level (scaling the input alone started at 1000 % ESR). docs/training.md has the measurement;
    NAM's layout, measured the same way, learned slower with it and is left as it is."""
    first, last = model.get_layer("input"), model.get_layer("output")
    kernel, bias = first.get_weights()
    first.set_weights([kernel * input_scale, bias])
    kernel, bias = last.get_weights()
    last.set_weights([kernel / input_scale, bias])


def build_lstm(config: dict[str, Any], length: int | None = None, max_concat_inputs: int | None = None
               ) -> keras.Model:
    if config.get("layers", 1) == 1 and not config.get("initial_state", False):
        return _recurrent(layers.LSTM, config, length)
    x, audio = _inputs(config, length)
    h = x
    for layer in range(config.get("layers", 1)):
        prefix = recurrent.layer_prefix(layer)
        state = None
        if config.get("initial_state", False):
            state = [InitialState(config["hidden"], name=f"{prefix}.initial_{part}")(x) for part in "hc"]
        h = layers.LSTM(config["hidden"], return_sequences=True, name=prefix)(h, initial_state=state)
    y = layers.Dense(1, name="dense")(h)
    if config.get("skip", True):
        y = layers.Add(name="skip")([y, audio])
    return keras.Model(x, y, name=config["kind"])


def build_gru(config: dict[str, Any], length: int | None = None, max_concat_inputs: int | None = None
              ) -> keras.Model:
    return _recurrent(layers.GRU, config, length)


def build(config: dict[str, Any], seed: int = 0, length: int | None = None,
          max_concat_inputs: int | None = None) -> keras.Model:
    """A Keras model for the config (time-major input (batch, time, 1 + knobs): the audio, then
    each knob's normalised value, models/knobs.py), seeded weights.

    `length` fixes the time axis (None: any length); the TFLite export needs it fixed.
    `max_concat_inputs` splits a gated WaveNet's skip concatenation into nested groups of at
    most that many inputs (the same values; for TFLite Micro).
    """
    builder = kinds.spec(config["kind"]).keras.load()
    keras.utils.set_random_seed(seed)
    return builder(config, length, max_concat_inputs)


def _tensor_names(layer: layers.Layer, count: int) -> list[str]:
    """Model-file names of a layer's weights, in the order Keras returns them."""
    if isinstance(layer, (layers.Conv1D, layers.Dense)):
        return [f"{layer.name}.{n}" for n in ("weight", "bias")[:count]]
    if isinstance(layer, InitialState):
        return [layer.name]
    return [f"{layer.name}.{n}" for n in ("kernel", "recurrent_kernel", "bias")[:count]]


def export_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """Named float32 tensors of a Keras model, in the model file's layout.

    1x1 convolutions drop their kernel axis: (in, out). Dilated convs keep (k, in, out).
    """
    tensors = {}
    for layer in model.layers:
        values = layer.get_weights()
        if isinstance(layer, layers.Conv1D) and layer.kernel_size == (1,):
            values = [values[0][0], *values[1:]]
        for name, value in zip(_tensor_names(layer, len(values)), values):
            tensors[name] = np.asarray(value, dtype=np.float32)
    return tensors


def import_weights(model: keras.Model, tensors: dict[str, np.ndarray]) -> None:
    """Load named tensors (as written by export_weights) back into a Keras model."""
    for layer in model.layers:
        current = layer.get_weights()
        if current:
            names = _tensor_names(layer, len(current))
            layer.set_weights([np.asarray(tensors[n], np.float32).reshape(c.shape) for n, c in zip(names, current)])
