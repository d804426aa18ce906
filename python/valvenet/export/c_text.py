"""The C text every generated engine shares, whatever its precision and model kind.

Each model gets its own symbol prefix (SYM), so one firmware can hold several models. A
generated engine is two files, SYM.h and SYM.c: the header declares the state type, the
reset and process functions and the `const vn_model_t SYM_model` (firmware/nn/model.h) that
describes the model to the firmware; the source holds the weights as exact literals, the
kernels, and that definition. The engines (export/engines/) build the parts that differ;
this module writes the literals, the arrays, the file frames and the parts that do not.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from valvenet import atomic
from valvenet.models import config as model_config
from valvenet.models import kinds, knobs
from valvenet.models.model_file import ModelFile

# The firmware's name of each kind's id (firmware/nn/model.h): VN_KIND_ and the kind in capitals.
KIND_ENUM = {kind: f"VN_KIND_{kind.upper()}" for kind in kinds.REGISTRY}

BLOCK = 16  # samples per sub-block: the unit of layer-major processing (16: as fast as 32-64, less state)


class CodegenError(ValueError):
    """A model the C engine cannot express."""


def symbol_for(name: str) -> str:
    """A C identifier from a model name: 'wavenet-10x8' -> 'wavenet_10x8'."""
    symbol = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return symbol if re.match(r"[A-Za-z_]", symbol) else "m_" + symbol


def even(n: int) -> int:
    """n rounded up to even: vectors are padded to whole pairs (loaded two at a time)."""
    return n + (n & 1)


def c_float(value: float) -> str:
    """The exact float32 literal of a value: '0.5f', '1e-05f'."""
    text = repr(float(np.float32(value)))
    if "e" not in text and "." not in text and "inf" not in text and "nan" not in text:
        text += ".0"
    return text + "f"


def pow2(f: int) -> str:
    """2^f as an exact float literal."""
    return c_float(2.0 ** f)


def float_array(name: str, values: np.ndarray, per_line: int = 8, aligned: bool = True) -> str:
    """`static const float name[N] = {...};` with exact float32 literals, 8-byte aligned unless
    `aligned` is false (tables read once per knob change; the int16 sources lack VN_ALIGNED8)."""
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    if flat.size == 0:
        flat = np.zeros(2, np.float32)
    rows = [", ".join(c_float(v) for v in flat[i:i + per_line]) for i in range(0, flat.size, per_line)]
    body = ",\n  ".join(rows)
    alignment = " VN_ALIGNED8" if aligned else ""
    return f"static const float {name}[{flat.size}]{alignment} VN_HOT_RODATA = {{\n  {body}\n}};\n"


def int_array(name: str, values: np.ndarray, ctype: str) -> str:
    """`static const ctype name[N] = {...};` (an integer type), 8-byte aligned."""
    flat = np.asarray(values).reshape(-1)
    if flat.size == 0:
        flat = np.zeros(2, np.int64)
    rows = [", ".join(str(int(v)) for v in flat[i:i + 16]) for i in range(0, flat.size, 16)]
    return (f"static const {ctype} {name}[{flat.size}] __attribute__((aligned(8))) VN_HOT_RODATA = {{\n  "
            + ",\n  ".join(rows) + "\n};\n")


def model_definition(model: ModelFile, sym: str, name: str, precision: str, macs: int,
                     set_knobs: str | None = None) -> str:
    """The `const vn_model_t SYM_model` every generated engine exports (firmware/nn/model.h):
    its description and its reset/process (and, conditioned, set_knobs) functions."""
    meta = model.metadata
    info = {
        "name": f'"{name}"', "kind": KIND_ENUM[model.config["kind"]], "precision": precision,
        "sample_rate": f"{int(meta['sample_rate'])}u", "parameters": f"{model.parameter_count()}u",
        "macs_per_sample": f"{macs}u", "receptive_field": f"{model_config.receptive_field(model.config)}u",
        "weights_crc32": f"0x{model.weights_crc32():08X}u", "state_size": f"sizeof({sym}_state_t)",
        "input_gain": c_float(meta.get("input_gain", 1.0)), "output_gain": c_float(meta.get("output_gain", 1.0)),
        "knob_count": f"{knobs.knob_count(model.config)}u", "knob_names": f'"{",".join(knobs.knob_names(model.config))}"',
        "knob_defaults": f"{sym}_knob_defaults" if set_knobs else "NULL",
    }
    info_text = "\n".join(f"        .{k} = {v}," for k, v in info.items())
    return f"""const vn_model_t {sym}_model = {{
    .info = {{
{info_text}
    }},
    .reset = {sym}_reset,
    .process = {sym}_process,
    .set_knobs = {set_knobs or "NULL"},
}};
"""


def knob_defaults(sym: str, config: dict, aligned: bool = True) -> tuple[str, str]:
    """(the array SYM_knob_defaults, the reset statement that applies it): every engine's reset
    ends with the model's default knobs."""
    array = float_array(f"{sym}_knob_defaults", knobs.knob_vector(config), aligned=aligned)
    return array, f"{sym}_set_knobs(s, {sym}_knob_defaults);"


def set_knobs_function(sym: str, count: int, steps: list[str]) -> str:
    """SYM_set_knobs (firmware/nn/model.h), every engine's: the `count` knobs clamped to 0..1
    into k[], then `steps` (C statements on the typed state `s` and `k`)."""
    body = "\n  ".join(steps)
    return f"""
void {sym}_set_knobs(void *state, const float *knobs) {{
  {sym}_state_t *s = ({sym}_state_t *)state;
  float k[{count}];
  for (uint32_t i = 0; i < {count}u; ++i) {{
    k[i] = knobs[i] > 1.0f ? 1.0f : (knobs[i] > 0.0f ? knobs[i] : 0.0f);
  }}
  {body}
}}
"""


def gains(model: ModelFile) -> tuple[str, str]:
    """The model's input and output gains as float literals."""
    meta = model.metadata
    return c_float(meta.get("input_gain", 1.0)), c_float(meta.get("output_gain", 1.0))


def state_struct(fields: list[str], type_name: str) -> str:
    """`typedef struct { fields } type_name;`"""
    body = "\n".join(f"  {line}" for line in fields)
    return f"""typedef struct {{
{body}
}} {type_name};"""


def reset_function(sym: str, initial: str = "") -> str:
    """SYM_reset: the state all zeros (every engine starts from silence), then `initial`: C
    statements on `s` that set a learned initial state (NAM's LSTM), if any."""
    if not initial:
        return f"void {sym}_reset(void *state) {{ memset(state, 0, sizeof({sym}_state_t)); }}"
    return f"""void {sym}_reset(void *state) {{
  {sym}_state_t *s = ({sym}_state_t *)state;
  memset(s, 0, sizeof({sym}_state_t));
  {initial.strip()}
}}"""


def process_opening(sym: str) -> str:
    """The first two lines of SYM_process (its signature and the typed state)."""
    return f"""void {sym}_process(void *state, const float *in, float *out, uint32_t n) {{
  {sym}_state_t *s = ({sym}_state_t *)state;"""


def header_file(sym: str, banner: str, includes: list[str], types: str) -> str:
    """SYM.h: the state type(s), reset, process and the model description."""
    guard = f"VALVENET_MODEL_{sym.upper()}_H"
    include_lines = "\n".join(f'#include "{path}"' for path in includes)
    return f"""{banner}
#ifndef {guard}
#define {guard}

#include <stdint.h>

{include_lines}

{types}

void {sym}_reset(void *state);
void {sym}_process(void *state, const float *in, float *out, uint32_t n);
extern const vn_model_t {sym}_model;

#endif /* {guard} */
"""


def source_file(sym: str, banner: str, includes: list[str], arrays: list[str], code: str, definition: str) -> str:
    """SYM.c: the weights, the code, then the model description."""
    include_lines = "\n".join(f'#include "{path}"' for path in includes)
    return f"""{banner}
#include "{sym}.h"

#include <math.h>
#include <string.h>

{include_lines}

{"".join(arrays)}
{code}

{definition}"""


def write_files(out: Path, symbol: str, header: str, source: str) -> tuple[Path, Path]:
    """Write SYMBOL.h and SYMBOL.c into out; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / f"{symbol}.h", header)
    atomic.write_text(out / f"{symbol}.c", source)
    return out / f"{symbol}.h", out / f"{symbol}.c"
