"""The named tensors, and their shapes, that a model config requires.

The single entry to the weight layout shared by Keras export, the model file, the numpy
oracle and the C code generator: convs (k, in, out); 1x1 and dense (in, out). Each kind
states its own names and shapes in its module (gated_wavenet.py, nam_wavenet.py,
recurrent.py); this looks the kind up in the registry (kinds.py).
"""

from __future__ import annotations

from typing import Any

from valvenet.models import kinds


def expected_shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape for a validated config."""
    return kinds.spec(config["kind"]).shapes(config)
