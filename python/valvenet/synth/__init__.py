"""The built-in dataset: real sampled guitar (fluidsynth + FluidR3_GM) through a real amp model
(guitarix's LV2 amp, run by tools/lv2host), built reproducibly from a seed.

Modules: performance (the seeded guitar performance), midi (its MIDI file), render (fluidsynth), amp (presets, lv2host),
cab (optional cabinet IR), builder (the whole build and meta.json).
"""

from valvenet.synth.builder import DEFAULT_PRESETS, BuildOptions, build_dataset
from valvenet.synth.errors import SynthError

__all__ = ["BuildOptions", "DEFAULT_PRESETS", "SynthError", "build_dataset"]
