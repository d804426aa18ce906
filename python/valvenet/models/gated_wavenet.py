"""The gated WaveNet kind ("gated_wavenet"): its config, presets, rules, tensors and sizes.

Damskaegg/Wright et al. WaveNet: 1x1 input conv, per layer a causal dilated conv to 2C
channels, tanh x sigmoid gate, 1x1 residual conv whose output is both added to the layer
input and taken as the layer's skip; a linear 1x1 mixes all skips.

Everything here is a plain function of the config dict (no numpy, no TensorFlow), so the
model file, the oracle and the code generators can all ask it; the numpy and Keras
implementations live with the other kinds' in oracle.py and keras_models.py (see kinds.py).
"""

from __future__ import annotations

from typing import Any

from valvenet.models.config_rules import check_dilations, check_positive_int, doubling, require

KIND = "gated_wavenet"


def gated_wavenet(layers: int, channels: int, dilations: list[int] | None = None, kernel_size: int = 3,
                  activation: str = "tanh") -> dict[str, Any]:
    """Config of a gated WaveNet; dilations default to 1, 2, 4, ... (one per layer)."""
    return {
        "kind": KIND,
        "channels": channels,
        "kernel_size": kernel_size,
        "dilations": dilations if dilations is not None else doubling(layers),
        "activation": activation,
    }


PRESETS: dict[str, dict[str, Any]] = {
    # Wright et al. 2020, "Real-time guitar amplifier emulation with deep learning".
    "wavenet1": gated_wavenet(10, 16),
    "wavenet2": gated_wavenet(18, 8, doubling(9) * 2),
    "wavenet3": gated_wavenet(18, 16, doubling(9) * 2),
    # Sizes for the microcontroller. wavenet-10x8 (WN10), wavenet-12x8 (WN12) and wavenet2 (WN18)
    # are the three layer counts of the published TFLite Micro / X-Cube-AI comparison (docs/results.md).
    "wavenet-10x8": gated_wavenet(10, 8),
    "wavenet-12x8": gated_wavenet(12, 8),
    "wavenet-10x4": gated_wavenet(10, 4),
}


def validate(config: dict[str, Any]) -> None:
    """Raise ConfigError naming the first bad field."""
    check_positive_int(config.get("channels"), "channels")
    check_positive_int(config.get("kernel_size"), "kernel_size")
    check_dilations(config.get("dilations"), "dilations")
    require(config.get("activation", "tanh") == "tanh", "gated_wavenet uses tanh x sigmoid gates")


def shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape (convs (k, in, out), 1x1 (in, out))."""
    c, k, n = config["channels"], config["kernel_size"], len(config["dilations"])
    tensors = {"input.weight": (1, c), "input.bias": (c,)}
    for i in range(n):
        tensors |= {
            f"layer{i}.conv.weight": (k, c, 2 * c),
            f"layer{i}.conv.bias": (2 * c,),
            f"layer{i}.residual.weight": (c, c),
            f"layer{i}.residual.bias": (c,),
        }
    return tensors | {"output.weight": (n * c, 1), "output.bias": (1,)}


def receptive_field(config: dict[str, Any]) -> int:
    return 1 + (config["kernel_size"] - 1) * sum(config["dilations"])


def macs_per_sample(config: dict[str, Any]) -> int:
    c, k, n = config["channels"], config["kernel_size"], len(config["dilations"])
    return c + n * (k * c * 2 * c + c * c) + n * c
