"""The NAM WaveNet kind ("nam_wavenet"): its config, presets, rules, tensors and sizes.

Neural Amp Modeler's A1 WaveNet: layer arrays, each with a rechannel 1x1, layers (dilated
conv + input mixer of the raw input, activation, 1x1 residual), a head accumulating
activations, a head rechannel; head_scale at the end. A layer array may be gated (optional
config field "gated", default false): its conv and mixer then have 2C outputs, and the layer
output is act(first C) * sigmoid(last C), as in NAM.

Activations: NAM's Tanh, Hardtanh, ReLU, Softsign, Fasttanh (NAM's rational approximation of
tanh, FAST_TANH below) and LeakyReLU (NAM's default slope, LEAKY_RELU_SLOPE).

Plain functions of the config dict, like gated_wavenet.py (see kinds.py for why the numpy
and Keras implementations live elsewhere).
"""

from __future__ import annotations

from typing import Any

from valvenet.models.config_rules import check_dilations, check_positive_int, doubling, require

KIND = "nam_wavenet"
ACTIVATIONS = ("tanh", "hardtanh", "relu", "softsign", "fasttanh", "leakyrelu")
LEAKY_RELU_SLOPE = 0.01  # NAM's (and PyTorch's) LeakyReLU default negative slope
# NAM's fast tanh: x (a + a|x| + (b + c|x|) x^2) / (d + (d + x^2) |x + e x |x||).
FAST_TANH = {"a": 2.45550750702956, "b": 0.893229853513558, "c": 0.821226666969744,
             "d": 2.44506634652299, "e": 0.814642734961073}
_SIZES = ("input_size", "condition_size", "channels", "head_size", "kernel_size")


def nam_wavenet(channels: tuple[int, int], dilations: list[list[int]], activation: str = "tanh",
                head_scale: float = 0.02) -> dict[str, Any]:
    """Config of a two-array NAM A1 WaveNet (the layout of NAM's standard/lite/feather/nano)."""
    first, second = channels
    return {
        "kind": KIND,
        "layer_arrays": [
            {"input_size": 1, "condition_size": 1, "channels": first, "head_size": second, "kernel_size": 3,
             "dilations": list(dilations[0]), "activation": activation, "head_bias": False},
            {"input_size": first, "condition_size": 1, "channels": second, "head_size": 1, "kernel_size": 3,
             "dilations": list(dilations[1]), "activation": activation, "head_bias": True},
        ],
        "head_scale": head_scale,
    }


_SHORT = [doubling(7), [128, 256, 512] + doubling(10)]
_LONG = [doubling(10), doubling(10)]

PRESETS: dict[str, dict[str, Any]] = {
    # Neural Amp Modeler A1 WaveNet sizes.
    "nam-standard": nam_wavenet((16, 8), _LONG),
    "nam-lite": nam_wavenet((12, 6), _SHORT),
    "nam-feather": nam_wavenet((8, 4), _SHORT),
    # ValveNet's own step between nano (44 % of the F767's 48 kHz budget in int16, with the pedal's
    # chain) and feather (98 %), where the quality-per-instruction chart had no model
    # (docs/quality_per_instruction.md). A second array of 2 channels, not NAM's 6/3 ratio: the
    # int16 engine's hand-scheduled M7 loops cover 2, 4 and 8 channels (firmware/nn/nam_q15_m7.h),
    # and 6/3 (both arrays in the portable kernels) cost nearly as much as feather.
    "nam-micro": nam_wavenet((6, 2), _SHORT),
    "nam-nano": nam_wavenet((4, 2), _SHORT),
}


def validate(config: dict[str, Any]) -> None:
    """Raise ConfigError naming the first bad field (layer arrays must chain: each array's
    input is the previous one's channels, its channels the previous one's head size)."""
    arrays = config.get("layer_arrays")
    require(isinstance(arrays, list) and arrays, "layer_arrays must be a non-empty list")
    previous_head = None
    for i, array in enumerate(arrays):
        for key in _SIZES:
            check_positive_int(array.get(key), f"layer_arrays[{i}].{key}")
        check_dilations(array.get("dilations"), f"layer_arrays[{i}].dilations")
        require(array.get("activation") in ACTIVATIONS,
                f"layer_arrays[{i}].activation must be one of {', '.join(ACTIVATIONS)}")
        conditions = 1 + len(config.get("knobs", []))
        require(array["condition_size"] == conditions,
                f"layer_arrays[{i}].condition_size must be {conditions} (the audio and {conditions - 1} knobs)")
        require(isinstance(array.get("gated", False), bool), f"layer_arrays[{i}].gated must be true or false")
        expected_input = 1 if i == 0 else arrays[i - 1]["channels"]
        require(array["input_size"] == expected_input, f"layer_arrays[{i}].input_size must be {expected_input}")
        if previous_head is not None:
            require(array["channels"] == previous_head,
                    f"layer_arrays[{i}].channels must equal layer_arrays[{i - 1}].head_size")
        previous_head = array["head_size"]
    require(arrays[-1]["head_size"] == 1, "the last layer array's head_size must be 1")
    require(isinstance(config.get("head_scale"), (int, float)), "head_scale must be a number")


def conv_outputs(array: dict[str, Any]) -> int:
    """Outputs of a layer's conv and mixer: 2C when gated (activation half, gate half), else C."""
    return 2 * array["channels"] if array.get("gated", False) else array["channels"]


def shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape (convs (k, in, out), 1x1 (in, out))."""
    tensors: dict[str, tuple[int, ...]] = {}
    arrays = config["layer_arrays"]
    for a, array in enumerate(arrays):
        c, k, n, z = array["channels"], array["kernel_size"], len(array["dilations"]), conv_outputs(array)
        tensors[f"array{a}.rechannel.weight"] = (array["input_size"], c)
        for i in range(n):
            prefix = f"array{a}.layer{i}"
            tensors |= {
                f"{prefix}.conv.weight": (k, c, z),
                f"{prefix}.conv.bias": (z,),
                f"{prefix}.mixer.weight": (array["condition_size"], z),
            }
            # The last layer's residual output feeds nothing: it has no weights here.
            if not (a == len(arrays) - 1 and i == n - 1):
                tensors |= {f"{prefix}.residual.weight": (c, c), f"{prefix}.residual.bias": (c,)}
        tensors[f"array{a}.head.weight"] = (c, array["head_size"])
        if array["head_bias"]:
            tensors[f"array{a}.head.bias"] = (array["head_size"],)
    return tensors


def receptive_field(config: dict[str, Any]) -> int:
    return 1 + sum((a["kernel_size"] - 1) * sum(a["dilations"]) for a in config["layer_arrays"])


def macs_per_sample(config: dict[str, Any]) -> int:
    total = 1  # head_scale
    for a in config["layer_arrays"]:
        c, k, n, z = a["channels"], a["kernel_size"], len(a["dilations"]), conv_outputs(a)
        total += a["input_size"] * c + n * (k * c * z + a["condition_size"] * z + c * c) + c * a["head_size"]
    # The last layer's residual 1x1 feeds nothing (NAM computes it anyway; we do not).
    last = config["layer_arrays"][-1]["channels"]
    return total - last * last
