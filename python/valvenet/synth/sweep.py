"""Knob sweeps of the built-in amp: the knobs a guitarist turns, mapped to guitarix controls.

A knob is a value in 0..1 (a pot's travel) that moves one or more GxAmplifier-X controls
linearly between two ends, on top of a fixed base preset (the crunch circuit: 12AX7 stage,
JCM-800 tonestack, no internal cabinet). The mapping is data (KNOBS), recorded in meta.json:

- gain: PreGain 0.5 -> 5 dB, Drive 0.3 -> 0.65, Distortion 1 -> 60 (the crunch preset's values
  to the high-gain preset's), MasterGain -6 -> -13.5 dB (so the output peaks stay under full
  scale as the drive rises, as the presets' MasterGain does). THD at 1 kHz, -20 dBFS: about
  15 % at 0 to 60-86 % at 1.
- tone: Treble 0.3 -> 0.9 and Middle 0.7 -> 0.4 (a tilt from dark to bright; the treble sits
  before the distortion in this amp, so brighter also distorts a little more).

A sweep spec is `NAME=LO..HI:COUNT[,NAME=...]` (e.g. `gain=0..1:5,tone=0..1:3`): COUNT evenly
spaced values from LO to HI per knob, every combination trained on. Validation and test add the
settings between them (each knob at the midpoints of its grid, every combination): a model is
always scored on knob positions it never trained on.

A setting is written `gain=0.25,tone=0.5` (the same grammar), which is also how the clips are
named and how a user's re-amped files are named (`target-gain=0.25,tone=0.5.wav`).
"""

from __future__ import annotations

import itertools
import math
import re

from valvenet.synth import amp
from valvenet.synth.errors import SynthError

BASE_PRESET = "crunch"
# knob -> control -> (value at 0, value at 1)
KNOBS: dict[str, dict[str, tuple[float, float]]] = {
    "gain": {"PreGain": (0.5, 5.0), "Drive": (0.3, 0.65), "Distortion": (1.0, 60.0), "MasterGain": (-6.0, -13.5)},
    "tone": {"Treble": (0.3, 0.9), "Middle": (0.7, 0.4)},
}
MAX_COUNT = 11  # grid points per knob: more is hours of rendering, never a better model
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_SPEC = re.compile(rf"^(?P<name>[a-z_]+)=(?P<lo>{_NUMBER})\.\.(?P<hi>{_NUMBER}):(?P<count>\d+)$")
_SETTING = re.compile(rf"^(?P<name>[a-z_]+)=(?P<value>{_NUMBER})$")

Settings = dict[str, float]


def _check_name(name: str, text: str) -> None:
    if name not in KNOBS:
        raise SynthError(f"sweep {text!r}: unknown knob {name!r}; knobs: {', '.join(KNOBS)}")


def parse_sweep(text: str) -> dict[str, list[float]]:
    """A sweep spec -> knob -> its grid values (ascending). SynthError says what is wrong."""
    grid: dict[str, list[float]] = {}
    for part in text.split(","):
        match = _SPEC.match(part.strip())
        if not match:
            raise SynthError(f"sweep {text!r}: {part!r} is not NAME=LO..HI:COUNT (e.g. gain=0..1:5)")
        name, lo, hi, count = match["name"], float(match["lo"]), float(match["hi"]), int(match["count"])
        _check_name(name, text)
        if name in grid:
            raise SynthError(f"sweep {text!r}: knob {name!r} is given twice")
        if not 0.0 <= lo < hi <= 1.0:
            raise SynthError(f"sweep {text!r}: {name} needs 0 <= LO < HI <= 1, got {lo:g}..{hi:g}")
        if not 2 <= count <= MAX_COUNT:
            raise SynthError(f"sweep {text!r}: {name} needs 2 to {MAX_COUNT} grid points, got {count}")
        grid[name] = [round(lo + (hi - lo) * i / (count - 1), 6) for i in range(count)]
    return grid


def training_settings(grid: dict[str, list[float]]) -> list[Settings]:
    """Every combination of the grid values (knobs in the spec's order)."""
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def between_settings(grid: dict[str, list[float]]) -> list[Settings]:
    """Every combination of the midpoints between neighbouring grid values: settings a model
    trained on the grid has never heard."""
    mids = {n: [round((a + b) / 2, 6) for a, b in zip(v, v[1:])] for n, v in grid.items()}
    return training_settings(mids)


def format_setting(settings: Settings) -> str:
    """`gain=0.25,tone=0.5`: a clip's name and a user's target file's suffix."""
    return ",".join(f"{name}={value:g}" for name, value in settings.items())


def parse_setting(text: str, where: str) -> Settings:
    """`gain=0.25,tone=0.5` -> {gain: 0.25, tone: 0.5}; ValueError naming `where` otherwise.
    Any knob names are accepted (a user's own amp has its own knobs)."""
    settings: Settings = {}
    for part in text.split(","):
        match = _SETTING.match(part.strip())
        if not match or match["name"] in settings or not math.isfinite(float(match["value"])):
            raise ValueError(f"{where}: {text!r} is not a knob setting like gain=0.25,tone=0.5")
        settings[match["name"]] = float(match["value"])
    return settings


def controls_at(settings: Settings) -> dict[str, float]:
    """The amp's controls for a knob setting: the base preset, each knob's controls moved."""
    controls = amp.preset_controls(BASE_PRESET)
    for name, value in settings.items():
        _check_name(name, format_setting(settings))
        for control, (at0, at1) in KNOBS[name].items():
            controls[control] = at0 + (at1 - at0) * value
    return controls


def mapping_meta() -> dict:
    """What meta.json records of the mapping (a rebuild with another mapping is another dataset)."""
    return {"base_preset": BASE_PRESET,
            "knobs": {n: {c: list(ends) for c, ends in controls.items()} for n, controls in KNOBS.items()}}
