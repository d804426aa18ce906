"""Which engine module generates which model kind, and the two entry points (float32 and
int16) that `valvenet export c` and the host engines (export/c_host.py) go through.

Adding a model kind = its config in models/ and one engine module here, listed in ENGINES.
An engine module provides:
  KINDS            the config kinds it generates
  FULL_RECOMPUTE   whether the full-recompute baseline applies (a receptive field)
  float32(gen)     the SYM_block function's C text (gen: float_engine.FloatGenerator)
  int16(gen)       (code, body of SYM_process, its comment) (gen: q15_engine.Q15Generator)
  int16_scales(config), check_int16(config)   the calibrated tensors it needs, what it refuses
  FLOAT32_KNOBS, INT16_KNOBS   (optional, default False) whether that engine takes knobs
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from valvenet.export.c_text import CodegenError, symbol_for
from valvenet.export.engines import gated_wavenet, nam_wavenet, recurrent
from valvenet.export.engines.float_engine import FloatGenerator
from valvenet.export.engines.q15_engine import Q15Generator
from valvenet.models import knobs
from valvenet.models.model_file import ModelFile

ENGINES: dict[str, ModuleType] = {kind: module for module in (gated_wavenet, nam_wavenet, recurrent)
                                  for kind in module.KINDS}


def engine_for(kind: str, engine: str = "C") -> ModuleType:
    """The engine module of a model kind; CodegenError when there is none."""
    if kind not in ENGINES:
        raise CodegenError(f"the {engine} engine does not support {kind} models")
    return ENGINES[kind]


def generate_float32(model: ModelFile, symbol: str | None = None,
                     full_recompute: bool = False) -> tuple[str, str, str]:
    """(symbol, header text, source text) of the float32 engine for a model."""
    symbol = symbol or symbol_for(model.name) + ("_recompute" if full_recompute else "")
    engine = engine_for(model.config["kind"])
    if full_recompute and not engine.FULL_RECOMPUTE:
        raise CodegenError("--full-recompute applies to WaveNets (recurrent models have no receptive field)")
    if knobs.knob_count(model.config) and (full_recompute or not getattr(engine, "FLOAT32_KNOBS", False)):
        what = "the full-recompute baseline" if full_recompute else f"the float32 engine of {model.config['kind']}"
        raise CodegenError(f"model {model.name!r} has knobs ({', '.join(knobs.knob_names(model.config))}); "
                           f"{what} has none")
    gen = FloatGenerator(model, symbol, full_recompute)
    header, source = gen.files(engine.float32(gen))
    return symbol, header, source


def required_scales(config: dict[str, Any]) -> list[str]:
    """The calibrated tensors (calibrate.py's names) the int16 engine of this config needs."""
    return engine_for(config["kind"], "int16").int16_scales(config)


def generate_int16(model: ModelFile, fracs: dict[str, int],
                   symbol: str | None = None) -> tuple[str, str, str, dict[str, Any]]:
    """(symbol, header, source, formats) of the int16 engine for a model and its calibrated
    activation scales (fractional bits by tensor name)."""
    symbol = symbol or symbol_for(model.name) + "_q15"
    engine = engine_for(model.config["kind"], "int16")
    engine.check_int16(model.config)
    if knobs.knob_count(model.config) and not getattr(engine, "INT16_KNOBS", False):
        raise CodegenError(f"model {model.name!r} has knobs ({', '.join(knobs.knob_names(model.config))}); the int16 "
                           f"engine of {model.config['kind']} has none yet: use the float32 engine")
    missing = [name for name in engine.int16_scales(model.config) if name not in fracs]
    if missing:
        raise CodegenError(f"model {model.name!r}: int16 scales lack {', '.join(missing[:6])}"
                           " (calibrate again: valvenet.models.calibrate)")
    gen = Q15Generator(model, symbol, fracs)
    header, source = gen.files(*engine.int16(gen))
    return symbol, header, source, gen.formats
