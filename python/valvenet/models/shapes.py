"""The named tensors, and their shapes, that each model kind's config requires.

The single statement of the weight layout shared by Keras export, the model file, the
numpy oracle and the C code generator: convs (k, in, out); 1x1 and dense (in, out).
"""

from __future__ import annotations

from typing import Any


def _gated_wavenet(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    c, k, n = config["channels"], config["kernel_size"], len(config["dilations"])
    shapes = {"input.weight": (1, c), "input.bias": (c,)}
    for i in range(n):
        shapes |= {
            f"layer{i}.conv.weight": (k, c, 2 * c),
            f"layer{i}.conv.bias": (2 * c,),
            f"layer{i}.residual.weight": (c, c),
            f"layer{i}.residual.bias": (c,),
        }
    return shapes | {"output.weight": (n * c, 1), "output.bias": (1,)}


def _nam_wavenet(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    arrays = config["layer_arrays"]
    for a, array in enumerate(arrays):
        c, k, n = array["channels"], array["kernel_size"], len(array["dilations"])
        shapes[f"array{a}.rechannel.weight"] = (array["input_size"], c)
        for i in range(n):
            prefix = f"array{a}.layer{i}"
            shapes |= {
                f"{prefix}.conv.weight": (k, c, c),
                f"{prefix}.conv.bias": (c,),
                f"{prefix}.mixer.weight": (array["condition_size"], c),
            }
            # The last layer's residual output feeds nothing: it has no weights here.
            if not (a == len(arrays) - 1 and i == n - 1):
                shapes |= {f"{prefix}.residual.weight": (c, c), f"{prefix}.residual.bias": (c,)}
        shapes[f"array{a}.head.weight"] = (c, array["head_size"])
        if array["head_bias"]:
            shapes[f"array{a}.head.bias"] = (array["head_size"],)
    return shapes


def _recurrent(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    h = config["hidden"]
    gates = 4 if config["kind"] == "lstm" else 3
    bias = (gates * h,) if config["kind"] == "lstm" else (2, gates * h)  # Keras GRU: reset_after
    return {
        "rnn.kernel": (1, gates * h),
        "rnn.recurrent_kernel": (h, gates * h),
        "rnn.bias": bias,
        "dense.weight": (h, 1),
        "dense.bias": (1,),
    }


def expected_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape for a validated config."""
    builders = {"gated_wavenet": _gated_wavenet, "nam_wavenet": _nam_wavenet, "lstm": _recurrent, "gru": _recurrent}
    return builders[config["kind"]](config)
