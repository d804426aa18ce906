"""The float32 C engine: what its model kinds share (the weights, the products, the rings,
the process wrappers and the files). The model kinds' own code is in gated_wavenet.py,
nam_wavenet.py and recurrent.py.

Why generated code: every size is a compile-time constant, so the generator writes each
matrix product as straight-line C (float_products.py) and lays the weights out in the exact
order that code reads them.

How a WaveNet runs (gated or NAM): block processing, layer-major. `process` cuts its input
into sub-blocks of at most BLOCK samples; for each, layer l is computed for every sample of
the sub-block before layer l + 1. A dilated layer's history is a mirrored ring
(firmware/nn/layers.h), so that its three taps for a whole sub-block are three contiguous
arrays.

Folded constants (exact): the gate half of a gated WaveNet's convolution and the residual
that consumes the gate output are scaled by 0.5 (see vn_gate2); LSTM/GRU sigmoid gates are
scaled by 0.5 (see vn_sigmoid_half). Scaling by a power of two changes no rounding.

`--full-recompute` generates the baseline the published microcontroller work used instead:
for every output sample, the whole receptive field is run through every layer from a zero
state (what a non-streaming TFLite model with a fixed input window does), with the same
kernels. Same model, same output; receptive-field times the work.

Placement: the per-layer kernels and the block functions are VN_HOT_TEXT (ITCM on the
STM32F767: 8-12 KB for the zoo's WaveNets), the products that run once per sub-block
(input, rechannel, head) VN_NOINLINE (flash), the weights VN_HOT_RODATA (DTCM when they fit,
see nn/placement.h).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from valvenet.export.c_text import (BLOCK, even, float_array, gains, header_file, model_definition,
                                    process_opening, reset_function, knob_defaults, set_knobs_function, source_file,
                                    state_struct)
from valvenet.export.engines.float_products import Product
from valvenet.models import config as model_config
from valvenet.models.model_file import ModelFile

HEADER_INCLUDES = ["firmware/nn/layers.h", "firmware/nn/model.h"]
SOURCE_INCLUDES = ["firmware/nn/activations.h", "firmware/nn/layers.h", "firmware/nn/placement.h"]


@dataclass
class Ring:
    """The history buffer of one dilated layer (see layers.h)."""

    dilation: int
    channels: int  # floats per column (even)
    offset: int = 0  # first float in the state's ring array

    @property
    def capacity(self) -> int:
        return 2 * self.dilation + BLOCK

    @property
    def floats(self) -> int:
        return (self.capacity + BLOCK) * self.channels


class FloatGenerator:
    """Collects one model's float32 C: its weight arrays, functions and state fields. A model
    kind's engine (its `float32(gen)`) adds to them and returns the SYM_block function."""

    def __init__(self, model: ModelFile, symbol: str, full_recompute: bool = False) -> None:
        self.model = model
        self.config = model.config
        self.t = model.tensors
        self.sym = symbol
        self.full_recompute = full_recompute
        self.stream_type = f"{symbol}_stream_t" if full_recompute else f"{symbol}_state_t"
        self.arrays: list[str] = []
        self.functions: list[str] = []
        self.state_fields: list[str] = []
        self.rings: list[Ring] = []
        self.initial_state = ""  # C statements of SYM_reset after the zeroing (a learned initial state)
        self.knob_steps: list[str] = []  # C statements of SYM_set_knobs on `s` and `k` (the clamped knobs)

    def array(self, name: str, values: np.ndarray) -> str:
        self.arrays.append(float_array(f"{self.sym}_{name}", values))
        return f"{self.sym}_{name}"

    def product(self, product: Product) -> tuple[str, int]:
        """Emits a product's function and weights; returns (weights array, floats per layer)."""
        product.name = f"{self.sym}_{product.name}"
        self.functions.append(product.function())
        return self.array(product.name[len(self.sym) + 1:] + "_w", product.weights()), product.layer_stride

    def ring(self, dilation: int, channels: int) -> int:
        ring = Ring(dilation, even(channels), sum(r.floats for r in self.rings))
        self.rings.append(ring)
        return len(self.rings) - 1

    def ring_tables(self) -> None:
        """The rings' offsets, capacities and dilations as tables; the ring state fields."""
        n = len(self.rings)
        for name, values in (("ring_offset", [r.offset for r in self.rings]),
                             ("ring_capacity", [r.capacity for r in self.rings]),
                             ("dilation", [r.dilation for r in self.rings])):
            self.arrays.append(f"static const uint32_t {self.sym}_{name}[{n}] = {{{', '.join(map(str, values))}}};\n")
        self.state_fields += [f"float ring[{sum(r.floats for r in self.rings)}] VN_ALIGNED8;", f"uint32_t pos[{n}];"]

    def taps(self, k: str, cp: int, indent: str = "    ") -> str:
        """C declarations of a layer's history buffer and its three tap windows."""
        s = self.sym
        return (f"{indent}float *const base = s->ring + {s}_ring_offset[{k}];\n"
                f"{indent}const uint32_t capacity = {s}_ring_capacity[{k}], d = {s}_dilation[{k}], p = s->pos[{k}];\n"
                f"{indent}const float *const cur = base + p * {cp}u;\n"
                f"{indent}const float *const mid = base + vn_ring_back(p, d, capacity) * {cp}u;\n"
                f"{indent}const float *const old = base + vn_ring_back(p, 2u * d, capacity) * {cp}u;\n")

    def write_ring(self, k: str, cp: int) -> tuple[str, str]:
        """(pointer expression, statement after writing) for the current window of ring k."""
        s = self.sym
        return (f"s->ring + {s}_ring_offset[{k}] + s->pos[{k}] * {cp}u",
                f"vn_ring_mirror(s->ring + {s}_ring_offset[{k}], s->pos[{k}], m, {s}_ring_capacity[{k}], {BLOCK}u, {cp}u);")

    # ------------------------------------------------------------------- files
    def files(self, block: str) -> tuple[str, str]:
        """(SYM.h, SYM.c) around the kind's block function."""
        sym, kind = self.sym, self.config["kind"]
        macs = model_config.macs_per_sample(self.config)
        if self.full_recompute:
            macs *= model_config.receptive_field(self.config)
            header_types, process = self._recompute_types(), self._recompute_process()
        else:
            header_types, process = state_struct(self.state_fields, f"{sym}_state_t"), self._streaming_process()
        banner = f'/* Generated by `valvenet export c` from model "{self.model.name}". Do not edit. */'
        header = header_file(sym, banner, HEADER_INCLUDES, header_types)
        if self.knob_steps:
            declaration = f"void {sym}_process(void *state, const float *in, float *out, uint32_t n);"
            header = header.replace(declaration, f"{declaration}\nvoid {sym}_set_knobs(void *state, const float *knobs);")
        # The baseline variant says so in its name ("wavenet-10x8+recompute"), so a firmware
        # holding both can tell them apart.
        name = self.model.name + ("+recompute" if self.full_recompute else "")
        variant = " Full receptive-field recompute per output sample (baseline)." if self.full_recompute else ""
        banner = (f'/* Generated by `valvenet export c` from model "{self.model.name}". Do not edit.\n'
                  f" * kind {kind}, {self.model.parameter_count()} parameters, {macs} MACs per sample.{variant} */")
        knob_function = self.knob_function()
        if knob_function:
            process = self._streaming_process()  # its reset now ends by setting the default knobs
        code = f"""{"".join(self.functions)}{block}{knob_function}
{process}"""
        set_knobs = f"{sym}_set_knobs" if self.knob_steps else None
        source = source_file(sym, banner, SOURCE_INCLUDES, self.arrays, code,
                             model_definition(self.model, sym, name, "VN_PRECISION_F32", macs, set_knobs))
        return header, source

    def knob_bias(self, name: str, product: Product, bias: list[np.ndarray], weights: list[np.ndarray]) -> str:
        """Makes a product's biases follow the knobs: its weights are copied into the state
        (`s->NAME`, from the const table at reset), and SYM_set_knobs rewrites each layer's bias
        entries as bias + knob weights . knobs (`weights`: per layer (knobs, rows)). Returns the
        weights expression the block code reads. Zero cost per sample: the knobs are a bias."""
        count, rows, layers = len(weights[0]), product.rows, len(bias)
        const = f"{self.sym}_{product.name[len(self.sym) + 1:]}_w"
        self.state_fields.append(f"float {name}[{layers * product.layer_stride}] VN_ALIGNED8;")
        self.initial_state += f"memcpy(s->{name}, {const}, sizeof s->{name});\n  "
        self.arrays.append(float_array(f"{self.sym}_{name}_bias", np.concatenate(bias)))
        self.arrays.append(float_array(f"{self.sym}_{name}_knob", np.concatenate([w.reshape(-1) for w in weights])))
        g, tile, gs, ls = product.group, product.tile, product.group_stride, product.layer_stride
        self.knob_steps.append(f"""for (uint32_t l = 0; l < {layers}u; ++l) {{
    for (uint32_t r = 0; r < {rows}u; ++r) {{
      float b = {self.sym}_{name}_bias[l * {rows}u + r];
      for (uint32_t i = 0; i < {count}u; ++i) {{
        b += {self.sym}_{name}_knob[(l * {count}u + i) * {rows}u + r] * k[i];
      }}
      float *const w = s->{name} + l * {ls}u + (r / {g}u) * {gs}u + r % {g}u;
      for (uint32_t t = 0; t < {tile}u; ++t) {{
        w[t * {g}u] = b;
      }}
    }}
  }}""")
        return f"s->{name}"

    def knob_entries(self, name: str, const: str, size: int, entries: list[tuple[int, float, np.ndarray]]) -> str:
        """Makes single weights follow the knobs: the weights `const` (`size` floats) are copied
        into the state (`s->NAME`) at reset, and SYM_set_knobs rewrites each entry (offset,
        base value, knob weights (knobs,)) as base + knob weights . knobs. Returns the weights
        expression the block code reads."""
        count = len(entries[0][2])
        self.state_fields.append(f"float {name}[{size}] VN_ALIGNED8;")
        self.initial_state += f"memcpy(s->{name}, {const}, sizeof s->{name});\n  "
        self.arrays.append(f"static const uint32_t {self.sym}_{name}_at[{len(entries)}] = "
                           f"{{{', '.join(str(e[0]) for e in entries)}}};\n")
        self.arrays.append(float_array(f"{self.sym}_{name}_base", np.array([e[1] for e in entries])))
        self.arrays.append(float_array(f"{self.sym}_{name}_knob", np.concatenate([e[2] for e in entries])))
        self.knob_steps.append(f"""for (uint32_t e = 0; e < {len(entries)}u; ++e) {{
    float b = {self.sym}_{name}_base[e];
    for (uint32_t i = 0; i < {count}u; ++i) {{
      b += {self.sym}_{name}_knob[e * {count}u + i] * k[i];
    }}
    s->{name}[{self.sym}_{name}_at[e]] = b;
  }}""")
        return f"s->{name}"

    def knob_function(self) -> str:
        """SYM_set_knobs (firmware/nn/model.h): clamps the knobs to 0..1, then every knob step;
        reset ends with the knobs at their defaults."""
        if not self.knob_steps:
            return ""
        from valvenet.models import knobs

        array, apply = knob_defaults(self.sym, self.config)
        self.arrays.append(array)
        self.initial_state += apply
        return set_knobs_function(self.sym, knobs.knob_count(self.config), self.knob_steps)

    def _streaming_process(self) -> str:
        """Reset and process: sub-blocks of at most BLOCK samples through SYM_block. With unit
        gains (the usual case) the block reads `in` and writes `out` directly. Every block
        function reads its input samples before it writes their outputs, so in and out may be
        the same buffer."""
        sym, meta = self.sym, self.model.metadata
        in_gain, out_gain = gains(self.model)
        nl = "\n"
        unit_in = float(np.float32(meta.get("input_gain", 1.0))) == 1.0
        unit_out = float(np.float32(meta.get("output_gain", 1.0))) == 1.0
        scale_out = "" if unit_out else f"""
    for (uint32_t j = 0; j < m; ++j) {{
      out[done + j] = {out_gain} * y[j];
    }}"""
        scale_in = "" if unit_in else f"""
    for (uint32_t j = 0; j < m; ++j) {{
      x[j] = {in_gain} * in[done + j];
    }}"""
        return f"""{reset_function(sym, self.initial_state)}

/* Sub-blocks of at most {BLOCK} samples, each through every layer in turn. */
{process_opening(sym)}
{"" if unit_out else f"  float y[{BLOCK}];{nl}"}{"" if unit_in else f"  float x[{BLOCK}];{nl}"}  for (uint32_t done = 0; done < n; done += {BLOCK}u) {{
    const uint32_t m = n - done < {BLOCK}u ? n - done : {BLOCK}u;{scale_in}
    {sym}_block(s, {"in + done" if unit_in else "x"}, {"out + done" if unit_out else "y"}, m);{scale_out}
  }}
}}"""

    def _recompute_types(self) -> str:
        """The full-recompute baseline's state: the input window around the streaming state."""
        sym, rf = self.sym, model_config.receptive_field(self.config)
        return f"""/* The streaming state, run from zero over the window for every output sample. */
{state_struct(self.state_fields, f"{sym}_stream_t")}

typedef struct {{
  float window[{2 * rf}] VN_ALIGNED8; /* the last inputs, written twice (k and k + {rf}) */
  uint32_t head;  /* where the next input goes */
  uint32_t seen;  /* inputs so far, up to the receptive field */
  {sym}_stream_t stream;
}} {sym}_state_t;"""

    def _recompute_process(self) -> str:
        """Reset and process of the full-recompute baseline."""
        sym, rf = self.sym, model_config.receptive_field(self.config)
        in_gain, out_gain = gains(self.model)
        return f"""{reset_function(sym)}

static const float {sym}_zeros[{BLOCK}] VN_ALIGNED8 = {{0.0f}};

/* For every output sample, the whole window of the last {rf} inputs through every
 * layer, from a zero state, as a model with a fixed input window computes it. Before the first
 * {rf} inputs the window starts with zeros: they are run through the network too
 * (same work as a fixed-window model), then the state is cleared again, so that the output is
 * the streaming engine's (whose layers see zero history before the first input). */
{process_opening(sym)}
  float y[{BLOCK}] VN_ALIGNED8;
  for (uint32_t i = 0; i < n; ++i) {{
    const float sample = {in_gain} * in[i];
    s->window[s->head] = sample;
    s->window[s->head + {rf}u] = sample;
    s->head = s->head + 1u == {rf}u ? 0u : s->head + 1u;
    s->seen = s->seen < {rf}u ? s->seen + 1u : s->seen;
    memset(&s->stream, 0, sizeof s->stream);
    for (uint32_t done = s->seen; done < {rf}u; done += {BLOCK}u) {{
      const uint32_t m = {rf}u - done < {BLOCK}u ? {rf}u - done : {BLOCK}u;
      {sym}_block(&s->stream, {sym}_zeros, y, m);
    }}
    if (s->seen < {rf}u) {{
      memset(&s->stream, 0, sizeof s->stream);
    }}
    /* the last `seen` inputs, oldest first: they start at head + RF - seen (mod RF) */
    const uint32_t start = s->head + {rf}u - s->seen;
    const float *window = s->window + (start >= {rf}u ? start - {rf}u : start);
    for (uint32_t done = 0; done < s->seen; done += {BLOCK}u) {{
      const uint32_t m = s->seen - done < {BLOCK}u ? s->seen - done : {BLOCK}u;
      {sym}_block(&s->stream, window + done, y, m);
      if (done + m == s->seen) {{
        out[i] = {out_gain} * y[m - 1u];
      }}
    }}
  }}
}}"""
