"""The error and the checks every model kind's config rules share.

They live below the kind modules (gated_wavenet.py, nam_wavenet.py, recurrent.py), the
registry (kinds.py) and config.py, so that each of those can raise the same ConfigError
without importing config.py, which itself looks kinds up in the registry.
"""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A model config that cannot describe a model."""


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless the condition holds."""
    if not condition:
        raise ConfigError(message)


def check_positive_int(value: Any, name: str) -> None:
    require(isinstance(value, int) and not isinstance(value, bool) and value > 0,
            f"{name} must be a positive integer, got {value!r}")


def check_dilations(dilations: Any, name: str) -> None:
    require(isinstance(dilations, list) and len(dilations) > 0, f"{name} must be a non-empty list")
    for i, d in enumerate(dilations):
        check_positive_int(d, f"{name}[{i}]")


def doubling(count: int, start: int = 1) -> list[int]:
    """start, 2 start, 4 start, ...: `count` dilations, the WaveNets' usual pattern."""
    return [start * 2**i for i in range(count)]
