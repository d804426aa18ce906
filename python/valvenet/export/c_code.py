"""`valvenet export c`: C source for one model file, for the firmware and the host.

Why generated code: every size is a compile-time constant, so the generator writes each
matrix product as straight-line C (no loop over channels is left for the compiler to unroll
or not) and lays the weights out in the exact order that code reads them. Each model gets
its own symbol prefix, so one firmware can hold several models.

How a WaveNet runs (gated or NAM): block processing, layer-major. `process` cuts its input
into sub-blocks of at most BLOCK samples; for each, layer l is computed for every sample of
the sub-block before layer l + 1. The products are tiled: a tile of 4 output rows x 4 samples
(2 x 8 for 2-channel layers) keeps its 16 accumulators in FPU registers, so every weight
loaded feeds 4 samples and every input loaded feeds 4 rows; weights, inputs and biases are
loaded two floats at a time (vn_load_pair: one VLDR.64). A dilated layer's history is a
mirrored ring (firmware/nn/layers.h), so that its three taps for a whole sub-block are three
contiguous arrays.

Bit-identical for any block size: each output is accumulated in one fixed order (bias, then
the inputs in order), whatever the tile or the sub-block it falls in.

Folded constants (exact): the gate half of a gated WaveNet's convolution and the residual
that consumes the gate output are scaled by 0.5 (see vn_gate2); LSTM/GRU sigmoid gates are
scaled by 0.5 (see vn_sigmoid_half). Scaling by a power of two changes no rounding.

The activations run in the products' epilogues, on the accumulators: a NAM layer's conv
stores act(z) and adds it to the head sum, a gated layer's conv stores the gate output (its rows
interleave each channel's tanh and gate halves), so no pre-activation goes through memory
(docs/profile.md has the measurements behind these choices).

Recurrent models (LSTM, GRU) step sample by sample: the recurrent product (hidden state
held in registers, weights in the order read) computes a unit's gate pre-activations, and the
same loop iteration applies the activations and the cell update of that unit (beyond 16 units,
where the hidden state is reloaded, the pre-activations go through a z array and a second loop).

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

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from valvenet.models.model_file import ModelFile, load
from valvenet.models import config as model_config

KIND_ENUM = {"gated_wavenet": "VN_KIND_GATED_WAVENET", "nam_wavenet": "VN_KIND_NAM_WAVENET",
             "lstm": "VN_KIND_LSTM", "gru": "VN_KIND_GRU"}
ACTIVATION_EXPRESSION = {"tanh": "vn_tanh({x})", "hardtanh": "fminf(fmaxf({x}, -1.0f), 1.0f)",
                         "relu": "fmaxf({x}, 0.0f)", "softsign": "{x} / (1.0f + fabsf({x}))"}

BLOCK = 16  # samples per sub-block: the unit of layer-major processing (16: as fast as 32-64, less state)
TILE_ROWS = 4  # output rows per register tile (2 where the row count is not a multiple of 4)
TILE_ACCUMULATORS = 16  # rows x samples per tile: 16 accumulators of the FPU's 32 registers


class CodegenError(ValueError):
    """A model the C engine cannot express."""


def symbol_for(name: str) -> str:
    """A C identifier from a model name: 'wavenet-10x8' -> 'wavenet_10x8'."""
    symbol = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return symbol if re.match(r"[A-Za-z_]", symbol) else "m_" + symbol


def _float(value: float) -> str:
    text = repr(float(np.float32(value)))
    if "e" not in text and "." not in text and "inf" not in text and "nan" not in text:
        text += ".0"
    return text + "f"


def c_array(name: str, values: np.ndarray, per_line: int = 8) -> str:
    """`static const float name[N] = {...};` with exact float32 literals, 8-byte aligned."""
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    if flat.size == 0:
        flat = np.zeros(2, np.float32)
    rows = [", ".join(_float(v) for v in flat[i:i + per_line]) for i in range(0, flat.size, per_line)]
    body = ",\n  ".join(rows)
    return f"static const float {name}[{flat.size}] VN_ALIGNED8 VN_HOT_RODATA = {{\n  {body}\n}};\n"


def model_definition(model: ModelFile, sym: str, name: str, precision: str, macs: int) -> str:
    """The `const vn_model_t SYM_model` every generated engine exports (firmware/nn/model.h):
    its description and its reset/process functions."""
    meta = model.metadata
    info = {
        "name": f'"{name}"', "kind": KIND_ENUM[model.config["kind"]], "precision": precision,
        "sample_rate": f"{int(meta['sample_rate'])}u", "parameters": f"{model.parameter_count()}u",
        "macs_per_sample": f"{macs}u", "receptive_field": f"{model_config.receptive_field(model.config)}u",
        "weights_crc32": f"0x{model.weights_crc32():08X}u", "state_size": f"sizeof({sym}_state_t)",
        "input_gain": _float(meta.get("input_gain", 1.0)), "output_gain": _float(meta.get("output_gain", 1.0)),
    }
    info_text = "\n".join(f"        .{k} = {v}," for k, v in info.items())
    return f"""const vn_model_t {sym}_model = {{
    .info = {{
{info_text}
    }},
    .reset = {sym}_reset,
    .process = {sym}_process,
}};
"""


def _even(n: int) -> int:
    return n + (n & 1)


# ------------------------------------------------------------------------------ products
@dataclass
class Source:
    """An input of a product: `width` floats per sample at name[stride * sample + i]."""

    name: str
    stride: int
    width: int


@dataclass
class Product:
    """out = bias + matrix @ (inputs of all sources, concatenated), for m samples.

    epilogue: "store" (out[s * out_stride + row]), "residual" (hn = hc + out, both with
    out_stride), "skip" (y[s] += mix . out), "residual_skip" (both), "activate" (out = act(sum)
    and ha += out, both with out_stride: a NAM layer's activation and head sum, fused so that
    the pre-activations never leave the registers) or "gate" (rows 2i, 2i + 1 are a gated
    channel's tanh and half-gate inputs: out[s * out_stride + i] = vn_gate2(...))."""

    name: str
    sources: list[Source]
    matrix: list[np.ndarray]  # one (rows, inputs) matrix per layer sharing this code
    bias: list[np.ndarray] | None = None
    mix: list[np.ndarray] | None = None
    epilogue: str = "store"
    out_stride: int = 1
    activation: str = "vn_tanh({x})"  # the "activate" epilogue's expression
    group: int = 0
    tile: int = 0
    hot: bool = True  # per layer (VN_HOT_TEXT: ITCM) or once per block (VN_NOINLINE: flash)
    units: list[tuple[int, int, int]] = field(default_factory=list)  # (source, first input, 1 or 2)

    def __post_init__(self) -> None:
        rows = self.rows
        self.group = self.group or (TILE_ROWS if _even(rows) % TILE_ROWS == 0 else 2)
        self.tile = self.tile or max(1, TILE_ACCUMULATORS // self.group)
        for k, source in enumerate(self.sources):  # pairs of inputs where they are 8-byte aligned
            i = 0
            while i < source.width:
                size = 2 if i + 1 < source.width and source.stride % 2 == 0 else 1
                self.units.append((k, i, size))
                i += size

    @property
    def rows(self) -> int:
        return self.matrix[0].shape[0]

    @property
    def groups(self) -> int:
        return -(-self.rows // self.group)

    @property
    def group_stride(self) -> int:
        """Floats of weights per group: bias pairs, one pair per (unit, row), mix pairs."""
        g = self.group
        return (self.tile * g if self.bias is not None else 0) + 2 * g * len(self.units) + (g if self.mix is not None else 0)

    @property
    def layer_stride(self) -> int:
        return self.groups * self.group_stride

    def _input_index(self, source: int, i: int) -> int:
        return sum(s.width for s in self.sources[:source]) + i

    def weights(self) -> np.ndarray:
        """All layers' weights in the order the generated code reads them."""
        out = []
        g = self.group
        for layer, matrix in enumerate(self.matrix):
            rows = np.zeros((self.groups * g, matrix.shape[1]), np.float32)
            rows[:self.rows] = matrix
            bias = np.zeros(self.groups * g, np.float32)
            mix = np.zeros(self.groups * g, np.float32)
            if self.bias is not None:
                bias[:self.rows] = self.bias[layer]
            if self.mix is not None:
                mix[:self.rows] = self.mix[layer]
            for group in range(self.groups):
                r0 = group * g
                if self.bias is not None:  # one copy per sample of a tile: loaded straight into the accumulators
                    out += [bias[r0:r0 + g]] * self.tile
                for k, i, size in self.units:
                    col = self._input_index(k, i)
                    for o in range(g):
                        pair = [rows[r0 + o, col], rows[r0 + o, col + 1] if size == 2 else 0.0]
                        out.append(np.asarray(pair, np.float32))
                if self.mix is not None:
                    out.append(mix[r0:r0 + g])
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    # -------------------------------------------------------------- code
    def _body(self, samples: int, real: list[bool], indent: str) -> list[str]:
        """Straight-line code for one group of rows and `samples` samples."""
        g, lines = self.group, []
        live = [o for o in range(g) if real[o]]
        acc = {(o, s): f"a{o}_{s}" for o in live for s in range(samples)}
        off = 0
        if self.bias is not None:
            for s in range(samples):
                for o in range(0, g, 2):
                    if real[o] and real[o + 1]:
                        lines.append(f"float {acc[o, s]}, {acc[o + 1, s]};")
                        lines.append(f"vn_load_pair(wp + {off + s * g + o}, &{acc[o, s]}, &{acc[o + 1, s]});")
                    elif real[o]:
                        lines.append(f"float {acc[o, s]} = wp[{off + s * g + o}];")
            off += self.tile * g
        else:
            for o in live:
                lines.append(" ".join(f"float {acc[o, s]} = 0.0f;" for s in range(samples)))
        data_resident = samples <= len(live)
        for k, i, size in self.units:
            src = self.sources[k]
            lines.append("{")

            def data(s: int) -> list[str]:
                at = f"d{k} + {src.stride * s + i}"
                if size == 2:
                    return [f"float x{s}l, x{s}h;", f"vn_load_pair({at}, &x{s}l, &x{s}h);"]
                return [f"const float x{s}l = d{k}[{src.stride * s + i}];"]

            def weight(o: int, name: str) -> list[str]:
                return [f"float {name}l, {name}h;", f"vn_load_pair(wp + {off + 2 * o}, &{name}l, &{name}h);"]

            def fma(o: int, s: int, name: str) -> str:
                text = f"{acc[o, s]} += {name}l * x{s}l;"
                return text + (f" {acc[o, s]} += {name}h * x{s}h;" if size == 2 else "")

            if data_resident:
                for s in range(samples):
                    lines += ["  " + t for t in data(s)]
                for o in live:
                    lines.append("  {")
                    lines += ["    " + t for t in weight(o, "w")]
                    lines += ["    " + fma(o, s, "w") for s in range(samples)]
                    lines.append("  }")
            else:
                for o in live:
                    lines += ["  " + t for t in weight(o, f"w{o}")]
                for s in range(samples):
                    lines.append("  {")
                    lines += ["    " + t for t in data(s)]
                    lines += ["    " + fma(o, s, f"w{o}") for o in live]
                    lines.append("  }")
            lines.append("}")
            off += 2 * g
        if self.mix is not None:
            for o in range(0, g, 2):
                if real[o] or real[o + 1]:
                    lines.append(f"float m{o}, m{o + 1};")
                    lines.append(f"vn_load_pair(wp + {off + o}, &m{o}, &m{o + 1});")
        stride = self.out_stride
        for s in range(samples):
            if self.epilogue in ("residual", "residual_skip"):
                for o in range(0, g, 2):
                    if real[o] and real[o + 1]:
                        lines.append(f"{{ float h0, h1; vn_load_pair(hp + {stride * s + o}, &h0, &h1); "
                                     f"op[{stride * s + o}] = h0 + {acc[o, s]}; op[{stride * s + o + 1}] = h1 + {acc[o + 1, s]}; }}")
                    elif real[o]:
                        lines.append(f"op[{stride * s + o}] = hp[{stride * s + o}] + {acc[o, s]};")
            elif self.epilogue == "store":
                for o in live:
                    lines.append(f"op[{stride * s + o}] = {acc[o, s]};")
            elif self.epilogue == "activate":
                for o in range(0, g, 2):
                    at = stride * s + o
                    if real[o] and real[o + 1]:
                        lines.append(f"{{ const float v0 = {self.activation.format(x=acc[o, s])}, "
                                     f"v1 = {self.activation.format(x=acc[o + 1, s])}; float h0, h1; "
                                     f"vn_load_pair(hp + {at}, &h0, &h1); op[{at}] = v0; op[{at + 1}] = v1; "
                                     f"hp[{at}] = h0 + v0; hp[{at + 1}] = h1 + v1; }}")
                    elif real[o]:
                        lines.append(f"{{ const float v0 = {self.activation.format(x=acc[o, s])}; "
                                     f"op[{at}] = v0; hp[{at}] += v0; }}")
            elif self.epilogue == "gate":
                for o in range(0, g, 2):
                    if real[o]:
                        lines.append(f"op[{stride * s + o // 2}] = vn_gate2({acc[o, s]}, {acc[o + 1, s]});")
            if self.epilogue in ("skip", "residual_skip"):
                terms = "".join(f" y{s} += m{o} * {acc[o, s]};" for o in live)
                lines.append(f"{{ float y{s} = yp[{s}];{terms} yp[{s}] = y{s}; }}")
        return [indent + line for line in lines]

    def _tile(self, samples: int, indent: str) -> list[str]:
        g, full = self.group, self.rows // self.group
        lines = ["const float *wp = w;", "VN_OPAQUE(wp);"]
        if self.epilogue != "skip":
            lines.append(f"float *op = out + j * {self.out_stride}u;")
        if self.epilogue in ("residual", "residual_skip"):
            lines.append(f"const float *hp = hc + j * {self.out_stride}u;")
        if self.epilogue == "activate":
            lines.append(f"float *hp = ha + j * {self.out_stride}u;")
        if self.epilogue in ("skip", "residual_skip"):
            lines.append("float *yp = y + j;")
        pointers = [f"const float *d{k} = {s.name} + j * {s.stride}u;" for k, s in enumerate(self.sources)]
        opaque = [f"VN_OPAQUE(d{k});" for k in range(len(self.sources))]
        advance = [f"wp += {self.group_stride}u;"] + ([f"op += {g // 2 if self.epilogue == 'gate' else g}u;"]
                                                      if self.epilogue != "skip" else [])
        advance += [f"hp += {g}u;"] if self.epilogue in ("residual", "residual_skip", "activate") else []
        if full:
            body = pointers + opaque + self._body(samples, [True] * g, "") + advance
            if full > 1:  # a loop (an opaque count: GCC would unroll a short one, doubling the code)
                lines += [f"uint32_t groups = {full}u;", "VN_OPAQUE(groups);", "#pragma GCC unroll 1",
                          "for (uint32_t group = 0; group < groups; ++group) {"]
                lines += ["  " + t for t in body] + ["}"]
            else:
                lines += ["{"] + ["  " + t for t in body] + ["}"]
        if self.rows % g:
            real = [o < self.rows % g for o in range(g)]
            lines += ["{"] + ["  " + t for t in pointers + opaque + self._body(samples, real, "")] + ["}"]
        return [indent + line for line in lines]

    def function(self) -> str:
        params = ["const float *restrict w"] + [f"const float *restrict {s.name}" for s in self.sources]
        if self.epilogue in ("residual", "residual_skip"):
            params.append("const float *restrict hc")
        if self.epilogue != "skip":
            params.append("float *restrict out")
        if self.epilogue == "activate":
            params.append("float *restrict ha")
        if self.epilogue in ("skip", "residual_skip"):
            params.append("float *restrict y")
        params.append("const uint32_t m")
        placement = "VN_HOT_TEXT" if self.hot else "VN_NOINLINE"
        lines = [f"{placement} static void {self.name}({', '.join(params)}) {{", "  uint32_t j = 0;"]
        if self.tile > 1:
            lines += ["#pragma GCC unroll 1", f"  for (; j + {self.tile}u <= m; j += {self.tile}u) {{"]
            lines += self._tile(self.tile, "    ") + ["  }"]
        lines += ["#pragma GCC unroll 1", "  for (; j < m; ++j) {"] + self._tile(1, "    ") + ["  }", "}", ""]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- WaveNets
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


class Generator:
    """Builds the .h and .c text for one model."""

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

    def array(self, name: str, values: np.ndarray) -> str:
        self.arrays.append(c_array(f"{self.sym}_{name}", values))
        return f"{self.sym}_{name}"

    def product(self, product: Product) -> tuple[str, int]:
        """Emits a product's function and weights; returns (weights array, floats per layer)."""
        product.name = f"{self.sym}_{product.name}"
        self.functions.append(product.function())
        return self.array(product.name[len(self.sym) + 1:] + "_w", product.weights()), product.layer_stride

    def ring(self, dilation: int, channels: int) -> int:
        ring = Ring(dilation, _even(channels), sum(r.floats for r in self.rings))
        self.rings.append(ring)
        return len(self.rings) - 1

    def _ring_tables(self) -> None:
        n = len(self.rings)
        for name, values in (("ring_offset", [r.offset for r in self.rings]),
                             ("ring_capacity", [r.capacity for r in self.rings]),
                             ("dilation", [r.dilation for r in self.rings])):
            self.arrays.append(f"static const uint32_t {self.sym}_{name}[{n}] = {{{', '.join(map(str, values))}}};\n")
        self.state_fields += [f"float ring[{sum(r.floats for r in self.rings)}] VN_ALIGNED8;", f"uint32_t pos[{n}];"]

    def _taps(self, k: str, cp: int, indent: str = "    ") -> str:
        """C declarations of a layer's history buffer and its three tap windows."""
        s = self.sym
        return (f"{indent}float *const base = s->ring + {s}_ring_offset[{k}];\n"
                f"{indent}const uint32_t capacity = {s}_ring_capacity[{k}], d = {s}_dilation[{k}], p = s->pos[{k}];\n"
                f"{indent}const float *const cur = base + p * {cp}u;\n"
                f"{indent}const float *const mid = base + vn_ring_back(p, d, capacity) * {cp}u;\n"
                f"{indent}const float *const old = base + vn_ring_back(p, 2u * d, capacity) * {cp}u;\n")

    def _write_ring(self, k: str, cp: int) -> tuple[str, str]:
        """(pointer expression, statement after writing) for the current window of ring k."""
        s = self.sym
        return (f"s->ring + {s}_ring_offset[{k}] + s->pos[{k}] * {cp}u",
                f"vn_ring_mirror(s->ring + {s}_ring_offset[{k}], s->pos[{k}], m, {s}_ring_capacity[{k}], {BLOCK}u, {cp}u);")

    # -------------------------------------------------------------- gated WaveNet
    def gated_wavenet(self) -> str:
        cfg, t, sym = self.config, self.t, self.sym
        c, dilations = cfg["channels"], cfg["dilations"]
        n, cp = len(dilations), _even(cfg["channels"])
        if cfg["kernel_size"] != 3:
            raise CodegenError("the C engine implements kernel size 3 (every ValveNet/NAM WaveNet uses it)")
        for d in dilations:
            self.ring(d, c)
        self._ring_tables()
        w_in, _ = self.product(Product("input", [Source("x", 1, 1)], [t["input.weight"][0][:, None]],
                                       bias=[t["input.bias"]], out_stride=cp, hot=False))
        # Rows [a0, b0, a1, b1, ...]: the tanh and gate halves of each channel side by side; the
        # gate half scaled by 0.5 (vn_gate2). Inputs: taps t - 2d, t - d, t (Keras tap 0, 1, 2).
        order = np.stack([np.arange(c), c + np.arange(c)], axis=1).reshape(-1)
        scale = np.tile(np.asarray([1.0, 0.5], np.float32), c)
        conv = [(np.concatenate([t[f"layer{i}.conv.weight"][j] for j in range(3)], axis=0).T[order] * scale[:, None])
                for i in range(n)]
        conv_bias = [t[f"layer{i}.conv.bias"][order] * scale for i in range(n)]
        taps = [Source("old", cp, c), Source("mid", cp, c), Source("cur", cp, c)]
        # The gate is the product's epilogue: each tile's accumulator pairs (a, b) become g.
        conv_w, conv_stride = self.product(Product("conv", taps, conv, bias=conv_bias, epilogue="gate", out_stride=cp))
        residual = [0.5 * t[f"layer{i}.residual.weight"].T for i in range(n)]
        residual_bias = [t[f"layer{i}.residual.bias"] for i in range(n)]
        mix = [t["output.weight"][i * c:(i + 1) * c, 0] for i in range(n)]
        gates = [Source("g", cp, c)]
        res_w, res_stride = self.product(Product("residual", gates, residual, bias=residual_bias, mix=mix,
                                                 epilogue="residual_skip", out_stride=cp))
        last_w, _ = self.product(Product("last", gates, residual[-1:], bias=residual_bias[-1:], mix=mix[-1:],
                                         epilogue="skip"))
        write0, mirror0 = self._write_ring("0", cp)
        write1, mirror1 = self._write_ring("l + 1u", cp)
        return f"""
VN_HOT_TEXT static void {sym}_block({self.stream_type} *s, const float *x, float *y, const uint32_t m) {{
  float g[{BLOCK * cp}] VN_ALIGNED8;
  {sym}_input({w_in}, x, {write0}, m);
  {mirror0}
  for (uint32_t j = 0; j < m; ++j) {{ /* after the last read of x: y may be x (in place) */
    y[j] = {_float(t["output.bias"][0])};
  }}
  for (uint32_t l = 0; l < {n}u; ++l) {{
{self._taps("l", cp)}    {sym}_conv({conv_w} + l * {conv_stride}u, old, mid, cur, g, m);
    if (l + 1u < {n}u) {{
      {sym}_residual({res_w} + l * {res_stride}u, g, cur, {write1}, y, m);
      {mirror1}
    }} else {{
      {sym}_last({last_w}, g, y, m);
    }}
    s->pos[l] = p + m >= capacity ? p + m - capacity : p + m;
  }}
}}
"""

    # ------------------------------------------------------------------ NAM WaveNet
    def nam_wavenet(self) -> str:
        arrays, t, sym = self.config["layer_arrays"], self.t, self.sym
        if any(a["kernel_size"] != 3 for a in arrays):
            raise CodegenError("the C engine implements kernel size 3 (every ValveNet/NAM WaveNet uses it)")
        first = []
        for a in arrays:
            first.append(len(self.rings))
            for d in a["dilations"]:
                self.ring(d, a["channels"])
        self._ring_tables()
        scratch, code = [], []
        for ai, a in enumerate(arrays):
            c, cp, n, prefix = a["channels"], _even(a["channels"]), len(a["dilations"]), f"array{ai}"
            last_array = ai == len(arrays) - 1
            if ai == 0:
                rech_source, rech_in = Source("x", 1, a["input_size"]), "x"
            else:
                prev = _even(arrays[ai - 1]["channels"])
                rech_source, rech_in = Source("hf", prev, a["input_size"]), f"hf{ai - 1}"
            rech_w, _ = self.product(Product(f"a{ai}_rechannel", [rech_source], [t[f"{prefix}.rechannel.weight"].T],
                                             out_stride=cp, hot=False))
            convs = [np.concatenate([t[f"{prefix}.layer{i}.conv.weight"][j] for j in range(3)]
                                    + [t[f"{prefix}.layer{i}.mixer.weight"]], axis=0).T for i in range(n)]
            taps = [Source("old", cp, c), Source("mid", cp, c), Source("cur", cp, c), Source("x", 1, 1)]
            # The activation and the head sum are the product's epilogue (p = act(z), ha += p).
            conv_w, conv_stride = self.product(Product(f"a{ai}_conv", taps, convs,
                                                       bias=[t[f"{prefix}.layer{i}.conv.bias"] for i in range(n)],
                                                       epilogue="activate", out_stride=cp,
                                                       activation=ACTIVATION_EXPRESSION[a["activation"]]))
            n_res = sum(f"{prefix}.layer{i}.residual.weight" in t for i in range(n))
            res_w, res_stride = "0", 0
            if n_res:
                res_w, res_stride = self.product(Product(
                    f"a{ai}_residual", [Source("p", cp, c)],
                    [t[f"{prefix}.layer{i}.residual.weight"].T for i in range(n_res)],
                    bias=[t[f"{prefix}.layer{i}.residual.bias"] for i in range(n_res)],
                    epilogue="residual", out_stride=cp))
            head_bias = [t[f"{prefix}.head.bias"]] if a["head_bias"] else None
            next_cp = 1 if last_array else _even(arrays[ai + 1]["channels"])
            head_w, _ = self.product(Product(f"a{ai}_head", [Source("ha", cp, c)], [t[f"{prefix}.head.weight"].T],
                                             bias=head_bias, out_stride=next_cp, hot=False))
            scratch.append(f"float ha{ai}[{BLOCK * cp}] VN_ALIGNED8;")
            if not last_array:
                scratch.append(f"float hf{ai}[{BLOCK * cp}] VN_ALIGNED8;")
            k0 = first[ai]
            write_first, mirror_first = self._write_ring(str(k0), cp)
            write_next, mirror_next = self._write_ring("k + 1u", cp)
            init = (f"  for (uint32_t i = 0; i < {BLOCK * cp}u; ++i) {{\n    ha0[i] = 0.0f;\n  }}\n" if ai == 0 else "")
            after_last = (f"      {sym}_a{ai}_residual({res_w} + l * {res_stride}u, pz, cur, hf{ai}, m);\n"
                          if not last_array else "")
            residual = (f"{sym}_a{ai}_residual({res_w} + l * {res_stride}u, pz, cur, {{write_next}}, m);\n      {{mirror_next}}"
                        if n_res else "(void)0; /* no residual: the last layer of the last array */")
            head_out = f"ha{ai + 1}" if not last_array else "y"
            code.append(f"""{init}  /* layer array {ai}: {n} layers of {c} channels */
  {sym}_a{ai}_rechannel({rech_w}, {rech_in}, {write_first}, m);
  {mirror_first}
  for (uint32_t l = 0; l < {n}u; ++l) {{
    const uint32_t k = {k0}u + l;
{self._taps("k", cp)}    {sym}_a{ai}_conv({conv_w} + l * {conv_stride}u, old, mid, cur, x, pz, ha{ai}, m);
    if (l + 1u < {n}u) {{
      {residual.format(write_next=write_next, mirror_next=mirror_next)}
    }} else {{
{after_last}    }}
    s->pos[k] = p + m >= capacity ? p + m - capacity : p + m;
  }}
  {sym}_a{ai}_head({head_w}, ha{ai}, {head_out}, m);
""")
        widest = max(_even(a["channels"]) for a in arrays)
        scale = _float(self.config["head_scale"])
        return f"""
VN_HOT_TEXT static void {sym}_block({self.stream_type} *s, const float *x, float *y, const uint32_t m) {{
  float pz[{BLOCK * widest}] VN_ALIGNED8;
  {chr(10).join("  " + line for line in scratch).strip()}
{"".join(code)}  for (uint32_t j = 0; j < m; ++j) {{
    y[j] = {scale} * y[j];
  }}
}}
"""

    # --------------------------------------------------------------- LSTM / GRU
    def recurrent(self) -> str:
        """One step per sample: z = bias + kernel x + R h for every gate row (the hidden state in
        registers, the rows of one unit together, their weights in the order read), then the
        activations and the state update, unit by unit. With the hidden state resident in
        registers (h <= 16) the update of unit u follows its gate sums in the same loop (the
        product reads the old h from registers, so writing s->h[u] there is safe): no z array."""
        cfg, t, sym = self.config, self.t, self.sym
        h, lstm = cfg["hidden"], cfg["kind"] == "lstm"
        gates = 4 if lstm else 3
        hp = _even(h)
        kernel, rec = t["rnn.kernel"][0], t["rnn.recurrent_kernel"]
        sigmoid = [True, True, False, True] if lstm else [True, True, False]
        if lstm:
            bias = [t["rnn.bias"][g * h:(g + 1) * h] for g in range(4)]
            with_input = [True] * 4
        else:
            b_in, b_rec = t["rnn.bias"][0], t["rnn.bias"][1]
            bias = [b_in[:h] + b_rec[:h], b_in[h:2 * h] + b_rec[h:2 * h], b_rec[2 * h:]]
            with_input = [True, True, False]  # the candidate's input part is added after the reset gate
        units = [(i, 2 if i + 1 < h else 1) for i in range(0, h, 2)]
        weights = []
        for u in range(h):
            for g in range(gates):
                scale = np.float32(0.5 if sigmoid[g] else 1.0)
                weights.append([bias[g][u] * scale, kernel[g * h + u] * scale if with_input[g] else 0.0])
            for i, size in units:
                for g in range(gates):
                    scale = np.float32(0.5 if sigmoid[g] else 1.0)
                    weights.append([rec[i, g * h + u] * scale, rec[i + 1, g * h + u] * scale if size == 2 else 0.0])
        unit_stride = 2 * gates * (1 + len(units))
        w = self.array("rnn_w", np.asarray(weights, np.float32))
        dense_w = self.array("dense_w", t["dense.weight"][:, 0])
        dense_b = _float(t["dense.bias"][0])
        skip = " + xj" if cfg.get("skip", True) else ""
        self.state_fields += [f"float h[{hp}] VN_ALIGNED8;"] + ([f"float c[{hp}];"] if lstm else [])
        resident = h <= 16  # the hidden state stays in registers through the whole product
        lines = []
        if resident:
            for i, size in units:
                lines += ([f"float h{i}, h{i + 1};", f"vn_load_pair(s->h + {i}, &h{i}, &h{i + 1});"] if size == 2
                          else [f"const float h{i} = s->h[{i}];"])
        lines += ["const float *wp = " + w + ";", "VN_OPAQUE(wp);", "#pragma GCC unroll 1",
                  f"for (uint32_t u = 0; u < {h}u; ++u) {{"]
        body = []
        for g in range(gates):  # (bias, input weight) pairs
            body += [f"float a{g}, k{g};", f"vn_load_pair(wp + {2 * g}, &a{g}, &k{g});"]
            body.append(f"a{g} += k{g} * xj;" if with_input[g] else f"(void)k{g};")
        off = 2 * gates
        for i, size in units:
            if not resident:
                body += ([f"float h{i}, h{i + 1};", f"vn_load_pair(s->h + {i}, &h{i}, &h{i + 1});"] if size == 2
                         else [f"const float h{i} = s->h[{i}];"])
            for g in range(gates):
                body.append(f"{{ float wl, wh; vn_load_pair(wp + {off + 2 * g}, &wl, &wh); a{g} += wl * h{i};"
                            + (f" a{g} += wh * h{i + 1}; }}" if size == 2 else " (void)wh; }"))
            off += 2 * gates
        if resident:  # the update fused into the product loop: the old state is in registers
            if lstm:
                # sigmoid(2 z) = (1 + tanh(z)) / 2 (a0, a1, a3 are halved): c = f c' + i g and
                # h = o tanh(c) become two FMAs with a variable addend and one halving each.
                body += ["const float ti = vn_tanh(a0), tf = vn_tanh(a1), tg = vn_tanh(a2), to = vn_tanh(a3);",
                         "const float c_old = s->c[u];",
                         "const float c = 0.5f * (fmaf(tf, c_old, c_old) + fmaf(ti, tg, tg));",
                         "s->c[u] = c;",
                         "const float tc = vn_tanh(c);",
                         "const float hn = 0.5f * fmaf(to, tc, tc);"]
            else:
                candidate_in = self.array("candidate_in", np.stack([kernel[2 * h:], b_in[2 * h:]], axis=1))
                body += ["float k, b;", f"vn_load_pair({candidate_in} + 2u * u, &k, &b);",
                         "const float update = vn_sigmoid_half(a0), reset = vn_sigmoid_half(a1);",
                         "const float candidate = vn_tanh(k * xj + b + reset * a2);",
                         "const float hn = update * s->h[u] + (1.0f - update) * candidate;"]
            body += ["s->h[u] = hn;", f"y_acc += {dense_w}[u] * hn;", f"wp += {unit_stride}u;"]
            lines = [f"float y_acc = {dense_b};"] + lines + ["  " + b for b in body] + ["}"]
            product = "\n".join("    " + line for line in lines)
            update = ""
        else:
            body += [f"z[4u * u + {g}u] = a{g};" for g in range(gates)] + [f"wp += {unit_stride}u;"]
            lines += ["  " + b for b in body] + ["}"]
            product = "\n".join("    " + line for line in lines)
        if resident:
            pass
        elif lstm:
            update = f"""    float y_acc = {dense_b};
#pragma GCC unroll 1
    for (uint32_t u = 0; u < {h}u; ++u) {{
      float zi, zf, zg, zo;
      vn_load_pair(z + 4u * u, &zi, &zf);
      vn_load_pair(z + 4u * u + 2u, &zg, &zo);
      const float in_gate = vn_sigmoid_half(zi), forget = vn_sigmoid_half(zf);
      const float cell = vn_tanh(zg), out_gate = vn_sigmoid_half(zo);
      const float c = forget * s->c[u] + in_gate * cell;
      s->c[u] = c;
      const float hn = out_gate * vn_tanh(c);
      s->h[u] = hn;
      y_acc += {dense_w}[u] * hn;
    }}"""
        else:
            candidate_in = self.array("candidate_in", np.stack([kernel[2 * h:], b_in[2 * h:]], axis=1))
            update = f"""#pragma GCC unroll 1
    for (uint32_t u = 0; u < {h}u; ++u) {{
      float zu, zr, k, b;
      vn_load_pair(z + 4u * u, &zu, &zr);
      vn_load_pair({candidate_in} + 2u * u, &k, &b);
      const float update = vn_sigmoid_half(zu), reset = vn_sigmoid_half(zr);
      const float candidate = vn_tanh(k * xj + b + reset * z[4u * u + 2u]);
      s->h[u] = update * s->h[u] + (1.0f - update) * candidate;
    }}
    float y_acc = {dense_b};
    for (uint32_t u = 0; u < {h}u; ++u) {{
      y_acc += {dense_w}[u] * s->h[u];
    }}"""
        return f"""
VN_HOT_TEXT static void {sym}_block({self.stream_type} *s, const float *x, float *y, const uint32_t m) {{
#pragma GCC unroll 1
  for (uint32_t j = 0; j < m; ++j) {{
    const float xj = x[j];
{"" if resident else f"    float z[{4 * h}] VN_ALIGNED8;{chr(10)}"}
{product}
{update}
    y[j] = y_acc{skip};
  }}
}}
"""

    # ------------------------------------------------------------------- files
    def generate(self) -> tuple[str, str]:
        kind = self.config["kind"]
        if self.full_recompute and kind not in ("gated_wavenet", "nam_wavenet"):
            raise CodegenError("--full-recompute applies to WaveNets (recurrent models have no receptive field)")
        block = {"gated_wavenet": self.gated_wavenet, "nam_wavenet": self.nam_wavenet,
                 "lstm": self.recurrent, "gru": self.recurrent}[kind]()
        sym, meta = self.sym, self.model.metadata
        guard = f"VALVENET_MODEL_{sym.upper()}_H"
        receptive_field = model_config.receptive_field(self.config)
        macs = model_config.macs_per_sample(self.config)
        in_gain, out_gain = _float(meta.get("input_gain", 1.0)), _float(meta.get("output_gain", 1.0))
        stream_fields = "\n".join(f"  {f}" for f in self.state_fields)
        if self.full_recompute:
            macs *= receptive_field
            header_types = f"""/* The streaming state, run from zero over the window for every output sample. */
typedef struct {{
{stream_fields}
}} {sym}_stream_t;

typedef struct {{
  float window[{2 * receptive_field}] VN_ALIGNED8; /* the last inputs, written twice (k and k + {receptive_field}) */
  uint32_t head;  /* where the next input goes */
  uint32_t seen;  /* inputs so far, up to the receptive field */
  {sym}_stream_t stream;
}} {sym}_state_t;"""
            process = f"""void {sym}_reset(void *state) {{ memset(state, 0, sizeof({sym}_state_t)); }}

static const float {sym}_zeros[{BLOCK}] VN_ALIGNED8 = {{0.0f}};

/* For every output sample, the whole window of the last {receptive_field} inputs through every
 * layer, from a zero state, as a model with a fixed input window computes it. Before the first
 * {receptive_field} inputs the window starts with zeros: they are run through the network too
 * (same work as a fixed-window model), then the state is cleared again, so that the output is
 * the streaming engine's (whose layers see zero history before the first input). */
void {sym}_process(void *state, const float *in, float *out, uint32_t n) {{
  {sym}_state_t *s = ({sym}_state_t *)state;
  float y[{BLOCK}] VN_ALIGNED8;
  for (uint32_t i = 0; i < n; ++i) {{
    const float sample = {in_gain} * in[i];
    s->window[s->head] = sample;
    s->window[s->head + {receptive_field}u] = sample;
    s->head = s->head + 1u == {receptive_field}u ? 0u : s->head + 1u;
    s->seen = s->seen < {receptive_field}u ? s->seen + 1u : s->seen;
    memset(&s->stream, 0, sizeof s->stream);
    for (uint32_t done = s->seen; done < {receptive_field}u; done += {BLOCK}u) {{
      const uint32_t m = {receptive_field}u - done < {BLOCK}u ? {receptive_field}u - done : {BLOCK}u;
      {sym}_block(&s->stream, {sym}_zeros, y, m);
    }}
    if (s->seen < {receptive_field}u) {{
      memset(&s->stream, 0, sizeof s->stream);
    }}
    /* the last `seen` inputs, oldest first: they start at head + RF - seen (mod RF) */
    const uint32_t start = s->head + {receptive_field}u - s->seen;
    const float *window = s->window + (start >= {receptive_field}u ? start - {receptive_field}u : start);
    for (uint32_t done = 0; done < s->seen; done += {BLOCK}u) {{
      const uint32_t m = s->seen - done < {BLOCK}u ? s->seen - done : {BLOCK}u;
      {sym}_block(&s->stream, window + done, y, m);
      if (done + m == s->seen) {{
        out[i] = {out_gain} * y[m - 1u];
      }}
    }}
  }}
}}"""
        else:
            # Unit gains (the usual case): the block reads `in` and writes `out` directly. Every
            # block function reads its input samples before it writes their outputs, so in and
            # out may be the same buffer.
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
            header_types = f"""typedef struct {{
{stream_fields}
}} {sym}_state_t;"""
            process = f"""void {sym}_reset(void *state) {{ memset(state, 0, sizeof({sym}_state_t)); }}

/* Sub-blocks of at most {BLOCK} samples, each through every layer in turn. */
void {sym}_process(void *state, const float *in, float *out, uint32_t n) {{
  {sym}_state_t *s = ({sym}_state_t *)state;
{"" if unit_out else f"  float y[{BLOCK}];{nl}"}{"" if unit_in else f"  float x[{BLOCK}];{nl}"}  for (uint32_t done = 0; done < n; done += {BLOCK}u) {{
    const uint32_t m = n - done < {BLOCK}u ? n - done : {BLOCK}u;{scale_in}
    {sym}_block(s, {"in + done" if unit_in else "x"}, {"out + done" if unit_out else "y"}, m);{scale_out}
  }}
}}"""
        header = f"""/* Generated by `valvenet export c` from model "{self.model.name}". Do not edit. */
#ifndef {guard}
#define {guard}

#include <stdint.h>

#include "firmware/nn/layers.h"
#include "firmware/nn/model.h"

{header_types}

void {sym}_reset(void *state);
void {sym}_process(void *state, const float *in, float *out, uint32_t n);
extern const vn_model_t {sym}_model;

#endif /* {guard} */
"""
        # The baseline variant says so in its name ("wavenet-10x8+recompute"), so a firmware
        # holding both can tell them apart.
        name = self.model.name + ("+recompute" if self.full_recompute else "")
        variant = " Full receptive-field recompute per output sample (baseline)." if self.full_recompute else ""
        source = f"""/* Generated by `valvenet export c` from model "{self.model.name}". Do not edit.
 * kind {kind}, {self.model.parameter_count()} parameters, {macs} MACs per sample.{variant} */
#include "{sym}.h"

#include <math.h>
#include <string.h>

#include "firmware/nn/activations.h"
#include "firmware/nn/layers.h"
#include "firmware/nn/placement.h"

{"".join(self.arrays)}
{"".join(self.functions)}{block}
{process}

{model_definition(self.model, sym, name, "VN_PRECISION_F32", macs)}"""
        return header, source


def generate(model: ModelFile, symbol: str | None = None, full_recompute: bool = False) -> tuple[str, str, str]:
    """(symbol, header text, source text) for a model."""
    symbol = symbol or symbol_for(model.name) + ("_recompute" if full_recompute else "")
    header, source = Generator(model, symbol, full_recompute).generate()
    return symbol, header, source


def write(model: ModelFile, out: Path, symbol: str | None = None, full_recompute: bool = False) -> tuple[Path, Path]:
    """Write SYMBOL.h and SYMBOL.c into out; return their paths."""
    symbol, header, source = generate(model, symbol, full_recompute)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{symbol}.h").write_text(header)
    (out / f"{symbol}.c").write_text(source)
    return out / f"{symbol}.h", out / f"{symbol}.c"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="model file (.vnet)")
    parser.add_argument("--out", required=True, type=Path, help="folder for SYMBOL.h and SYMBOL.c")
    parser.add_argument("--symbol", help="C symbol prefix (default: from the model name, + _recompute with --full-recompute)")
    parser.add_argument("--full-recompute", action="store_true",
                        help="baseline variant: recompute the whole receptive field for every output sample "
                             "(what a non-streaming TFLite model does); WaveNets only")


def run(args: argparse.Namespace) -> int:
    header, source = write(load(args.model), args.out, args.symbol, args.full_recompute)
    print(f"wrote {header} and {source}")
    return 0
