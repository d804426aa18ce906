"""`valvenet export c`: C source for one model file, for the firmware and the host.

Why generated code: sizes become compile-time constants, so GCC unrolls the channel loops
of the static inline layer helpers (firmware/nn/layers.h); weights become `const` arrays in
the order the helpers read them ([out][in] for dense/1x1, [out][tap][in] for dilated
convolutions), so the inner loops walk memory forwards. Each model gets its own symbol
prefix, so one firmware can hold several models.

Placement: the per-sample step function is marked VN_HOT_TEXT (ITCM on the STM32F767) and
the weights VN_HOT_RODATA (copied to DTCM at boot when they fit, see nn/placement.h).
"""

from __future__ import annotations

import argparse
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from valvenet.export.model_file import ModelFile, load
from valvenet.models import config as model_config

KIND_ENUM = {"gated_wavenet": "VN_KIND_GATED_WAVENET", "nam_wavenet": "VN_KIND_NAM_WAVENET",
             "lstm": "VN_KIND_LSTM", "gru": "VN_KIND_GRU"}
ACTIVATION_EXPRESSION = {"tanh": "vn_tanh({x})", "hardtanh": "fminf(fmaxf({x}, -1.0f), 1.0f)",
                         "relu": "fmaxf({x}, 0.0f)", "softsign": "{x} / (1.0f + fabsf({x}))"}


class CodegenError(ValueError):
    """A model the C engine cannot express."""


def symbol_for(name: str) -> str:
    """A C identifier from a model name: 'wavenet-10x8' -> 'wavenet_10x8'."""
    symbol = re.sub(r"[^0-9A-Za-z_]", "_", name)
    return symbol if re.match(r"[A-Za-z_]", symbol) else "m_" + symbol


def weights_crc32(model: ModelFile) -> int:
    """CRC-32 of all weights as little-endian float32, tensors in name order."""
    crc = 0
    for name in sorted(model.tensors):
        crc = zlib.crc32(np.ascontiguousarray(model.tensors[name], dtype="<f4").tobytes(), crc)
    return crc


def _float(value: float) -> str:
    text = repr(float(np.float32(value)))
    if "e" not in text and "." not in text and "inf" not in text and "nan" not in text:
        text += ".0"
    return text + "f"


def c_array(name: str, values: np.ndarray, per_line: int = 8) -> str:
    """`static const float name[N] = {...};` with exact float32 literals."""
    flat = np.asarray(values, dtype=np.float32).reshape(-1)
    rows = [", ".join(_float(v) for v in flat[i:i + per_line]) for i in range(0, flat.size, per_line)]
    body = ",\n  ".join(rows)
    return f"static const float {name}[{flat.size}] VN_HOT_RODATA = {{\n  {body}\n}};\n"


def _conv_rows(weight: np.ndarray) -> np.ndarray:
    """Keras (k, in, out) -> [out][tap][in]."""
    return np.transpose(weight, (2, 0, 1))


def _dense_rows(weight: np.ndarray) -> np.ndarray:
    """(in, out) -> [out][in]."""
    return np.transpose(weight, (1, 0))


class Generator:
    """Builds the .h and .c text for one model."""

    def __init__(self, model: ModelFile, symbol: str) -> None:
        self.model = model
        self.config = model.config
        self.t = model.tensors
        self.sym = symbol
        self.arrays: list[str] = []
        self.state_fields: list[str] = []
        self.reset_lines: list[str] = []

    def array(self, name: str, values: np.ndarray) -> str:
        self.arrays.append(c_array(f"{self.sym}_{name}", values))
        return f"{self.sym}_{name}"

    # -------------------------------------------------------------- gated WaveNet
    def gated_wavenet(self) -> str:
        cfg, t = self.config, self.t
        c, dilations = cfg["channels"], cfg["dilations"]
        n = len(dilations)
        if cfg["kernel_size"] != 3:
            raise CodegenError("the C engine implements kernel size 3 (every ValveNet/NAM WaveNet uses it)")
        w_in = self.array("input_w", t["input.weight"][0])
        b_in = self.array("input_b", t["input.bias"])
        conv_w = self.array("conv_w", np.stack([_conv_rows(t[f"layer{i}.conv.weight"]) for i in range(n)]))
        conv_b = self.array("conv_b", np.stack([t[f"layer{i}.conv.bias"] for i in range(n)]))
        res_w = self.array("res_w", np.stack([_dense_rows(t[f"layer{i}.residual.weight"]) for i in range(n)]))
        res_b = self.array("res_b", np.stack([t[f"layer{i}.residual.bias"] for i in range(n)]))
        out_w = self.array("out_w", t["output.weight"][:, 0])
        out_b = float(t["output.bias"][0])
        self._rings(dilations, [c] * n)
        return f"""
VN_HOT_TEXT static float {self.sym}_step({self.sym}_state_t *s, float x) {{
  float h[{c}], z[{2 * c}], g[{c}], r[{c}];
  for (uint32_t i = 0; i < {c}u; ++i) {{
    h[i] = {w_in}[i] * x + {b_in}[i];
  }}
  float y = {_float(out_b)};
  for (uint32_t l = 0; l < {n}u; ++l) {{
    vn_ring_t ring = {{s->ring + {self.sym}_ring_offset[l], 2u * {self.sym}_dilation[l], s->head[l]}};
    vn_dilated_conv3({conv_w} + l * {6 * c * c}u, {conv_b} + l * {2 * c}u, &ring, h, {self.sym}_dilation[l], z, {c}u, {2 * c}u);
    vn_ring_push(&ring, h, {c}u);
    s->head[l] = ring.head;
    for (uint32_t i = 0; i < {c}u; ++i) {{
      g[i] = vn_tanh(z[i]) * vn_sigmoid(z[{c}u + i]);
    }}
    vn_dense({res_w} + l * {c * c}u, {res_b} + l * {c}u, g, r, {c}u, {c}u);
    const float *mix = {out_w} + l * {c}u;
    for (uint32_t i = 0; i < {c}u; ++i) {{
      y += mix[i] * r[i];
      h[i] += r[i];
    }}
  }}
  return y;
}}
"""

    def _rings(self, dilations: list[int], channels: list[int]) -> None:
        offsets, total = [], 0
        for d, ch in zip(dilations, channels):
            offsets.append(total)
            total += 2 * d * ch
        self.arrays.append(f"static const uint32_t {self.sym}_ring_offset[{len(offsets)}] = {{{', '.join(map(str, offsets))}}};\n")
        self.arrays.append(f"static const uint32_t {self.sym}_dilation[{len(dilations)}] = {{{', '.join(map(str, dilations))}}};\n")
        self.state_fields += [f"float ring[{total}];", f"uint32_t head[{len(dilations)}];"]

    # ------------------------------------------------------------------ NAM WaveNet
    def nam_wavenet(self) -> str:
        arrays = self.config["layer_arrays"]
        if any(a["kernel_size"] != 3 for a in arrays):
            raise CodegenError("the C engine implements kernel size 3 (every ValveNet/NAM WaveNet uses it)")
        self._rings([d for a in arrays for d in a["dilations"]], [a["channels"] for a in arrays for _ in a["dilations"]])
        streams = "".join(f"  float h{i}[{a['channels']}], head{i}[{a['head_size']}];\n" for i, a in enumerate(arrays))
        blocks, first_layer = [], 0
        for ai, a in enumerate(arrays):
            blocks.append(self._nam_array(ai, a, first_layer))
            first_layer += len(a["dilations"])
        return f"""
VN_HOT_TEXT static float {self.sym}_step({self.sym}_state_t *s, float x) {{
{streams}{"".join(blocks)}  return {_float(self.config["head_scale"])} * head{len(arrays) - 1}[0];
}}
"""

    def _nam_array(self, ai: int, a: dict[str, Any], first_layer: int) -> str:
        """One layer array: rechannel, layers (conv + input mixer, activation, residual), head."""
        t, c, n = self.t, a["channels"], len(a["dilations"])
        prefix = f"array{ai}"
        rech = self.array(f"a{ai}_rechannel_w", _dense_rows(t[f"{prefix}.rechannel.weight"]))
        conv_w = self.array(f"a{ai}_conv_w", np.stack([_conv_rows(t[f"{prefix}.layer{i}.conv.weight"]) for i in range(n)]))
        conv_b = self.array(f"a{ai}_conv_b", np.stack([t[f"{prefix}.layer{i}.conv.bias"] for i in range(n)]))
        mix_w = self.array(f"a{ai}_mix_w", np.stack([t[f"{prefix}.layer{i}.mixer.weight"][0] for i in range(n)]))
        n_res = sum(f"{prefix}.layer{i}.residual.weight" in t for i in range(n))
        head_w = self.array(f"a{ai}_head_w", _dense_rows(t[f"{prefix}.head.weight"]))
        head_b = self.array(f"a{ai}_head_b", t[f"{prefix}.head.bias"]) if a["head_bias"] else "0"
        residual = ""
        if n_res:
            res_w = self.array(f"a{ai}_res_w", np.stack([_dense_rows(t[f"{prefix}.layer{i}.residual.weight"]) for i in range(n_res)]))
            res_b = self.array(f"a{ai}_res_b", np.stack([t[f"{prefix}.layer{i}.residual.bias"] for i in range(n_res)]))
            residual = f"""      if (l < {n_res}u) {{  /* the last layer's residual feeds nothing */
        float r[{c}];
        vn_dense({res_w} + l * {c * c}u, {res_b} + l * {c}u, z, r, {c}u, {c}u);
        for (uint32_t i = 0; i < {c}u; ++i) {{
          h{ai}[i] += r[i];
        }}
      }}
"""
        source = "&x" if ai == 0 else f"h{ai - 1}"
        acc_init = "0.0f" if ai == 0 else f"head{ai - 1}[i]"
        activation = ACTIVATION_EXPRESSION[a["activation"]].format(x="z[i]")
        return f"""  {{
    float acc[{c}], z[{c}];
    vn_dense({rech}, 0, {source}, h{ai}, {a["input_size"]}u, {c}u);
    for (uint32_t i = 0; i < {c}u; ++i) {{
      acc[i] = {acc_init};
    }}
    for (uint32_t l = 0; l < {n}u; ++l) {{
      const uint32_t k = {first_layer}u + l;
      vn_ring_t ring = {{s->ring + {self.sym}_ring_offset[k], 2u * {self.sym}_dilation[k], s->head[k]}};
      vn_dilated_conv3({conv_w} + l * {3 * c * c}u, {conv_b} + l * {c}u, &ring, h{ai}, {self.sym}_dilation[k], z, {c}u, {c}u);
      vn_ring_push(&ring, h{ai}, {c}u);
      s->head[k] = ring.head;
      for (uint32_t i = 0; i < {c}u; ++i) {{
        z[i] += {mix_w}[l * {c}u + i] * x;
        z[i] = {activation};
        acc[i] += z[i];
      }}
{residual}    }}
    vn_dense({head_w}, {head_b}, acc, head{ai}, {c}u, {a["head_size"]}u);
  }}
"""

    # --------------------------------------------------------------- LSTM / GRU
    def recurrent(self) -> str:
        cfg, t = self.config, self.t
        h, kind = cfg["hidden"], cfg["kind"]
        gates = 4 if kind == "lstm" else 3
        kernel = self.array("kernel", t["rnn.kernel"][0])
        recurrent = self.array("recurrent", _dense_rows(t["rnn.recurrent_kernel"]))
        dense_w = self.array("dense_w", t["dense.weight"][:, 0])
        dense_b = float(t["dense.bias"][0])
        skip = " + x" if cfg.get("skip", True) else ""
        if kind == "lstm":
            bias = self.array("bias", t["rnn.bias"])
            self.state_fields += [f"float h[{h}];", f"float c[{h}];"]
            update = f"""  float z[{4 * h}];
  vn_dense({recurrent}, {bias}, s->h, z, {h}u, {4 * h}u);
  float y = {_float(dense_b)};
  for (uint32_t i = 0; i < {h}u; ++i) {{
    const float in_gate = vn_sigmoid(z[i] + {kernel}[i] * x);
    const float forget = vn_sigmoid(z[{h}u + i] + {kernel}[{h}u + i] * x);
    const float cell = vn_tanh(z[{2 * h}u + i] + {kernel}[{2 * h}u + i] * x);
    const float out_gate = vn_sigmoid(z[{3 * h}u + i] + {kernel}[{3 * h}u + i] * x);
    s->c[i] = forget * s->c[i] + in_gate * cell;
    s->h[i] = out_gate * vn_tanh(s->c[i]);
    y += {dense_w}[i] * s->h[i];
  }}
  return y{skip};"""
        else:
            bias_in = self.array("bias_in", t["rnn.bias"][0])
            bias_rec = self.array("bias_rec", t["rnn.bias"][1])
            self.state_fields += [f"float h[{h}];"]
            update = f"""  float inner[{3 * h}];
  vn_dense({recurrent}, {bias_rec}, s->h, inner, {h}u, {3 * h}u);
  float y = {_float(dense_b)};
  for (uint32_t i = 0; i < {h}u; ++i) {{
    const float update = vn_sigmoid({kernel}[i] * x + {bias_in}[i] + inner[i]);
    const float reset = vn_sigmoid({kernel}[{h}u + i] * x + {bias_in}[{h}u + i] + inner[{h}u + i]);
    const float candidate = vn_tanh({kernel}[{2 * h}u + i] * x + {bias_in}[{2 * h}u + i] + reset * inner[{2 * h}u + i]);
    s->h[i] = update * s->h[i] + (1.0f - update) * candidate;
  }}
  for (uint32_t i = 0; i < {h}u; ++i) {{
    y += {dense_w}[i] * s->h[i];
  }}
  return y{skip};"""
        return f"""
VN_HOT_TEXT static float {self.sym}_step({self.sym}_state_t *s, float x) {{
{update}
}}
"""

    # ------------------------------------------------------------------- files
    def generate(self) -> tuple[str, str]:
        kind = self.config["kind"]
        step = {"gated_wavenet": self.gated_wavenet, "nam_wavenet": self.nam_wavenet,
                "lstm": self.recurrent, "gru": self.recurrent}[kind]()
        sym, meta = self.sym, self.model.metadata
        guard = f"VALVENET_MODEL_{sym.upper()}_H"
        fields = "\n".join(f"  {f}" for f in self.state_fields)
        header = f"""/* Generated by `valvenet export c` from model "{self.model.name}". Do not edit. */
#ifndef {guard}
#define {guard}

#include <stdint.h>

#include "firmware/nn/model.h"

typedef struct {{
{fields}
}} {sym}_state_t;

void {sym}_reset(void *state);
void {sym}_process(void *state, const float *in, float *out, uint32_t n);
extern const vn_model_t {sym}_model;

#endif /* {guard} */
"""
        info = {
            "name": f'"{self.model.name}"', "kind": KIND_ENUM[kind], "precision": "VN_PRECISION_F32",
            "sample_rate": f"{int(meta['sample_rate'])}u", "parameters": f"{self.model.parameter_count()}u",
            "macs_per_sample": f"{model_config.macs_per_sample(self.config)}u",
            "receptive_field": f"{model_config.receptive_field(self.config)}u",
            "weights_crc32": f"0x{weights_crc32(self.model):08X}u", "state_size": f"sizeof({sym}_state_t)",
            "input_gain": _float(meta.get("input_gain", 1.0)), "output_gain": _float(meta.get("output_gain", 1.0)),
        }
        info_text = "\n".join(f"        .{k} = {v}," for k, v in info.items())
        source = f"""/* Generated by `valvenet export c` from model "{self.model.name}". Do not edit.
 * kind {kind}, {self.model.parameter_count()} parameters, {info['macs_per_sample'][:-1]} MACs per sample. */
#include "{sym}.h"

#include <math.h>
#include <string.h>

#include "firmware/nn/activations.h"
#include "firmware/nn/layers.h"
#include "firmware/nn/placement.h"

{"".join(self.arrays)}{step}
void {sym}_reset(void *state) {{ memset(state, 0, sizeof({sym}_state_t)); }}

void {sym}_process(void *state, const float *in, float *out, uint32_t n) {{
  {sym}_state_t *s = ({sym}_state_t *)state;
  for (uint32_t i = 0; i < n; ++i) {{
    out[i] = {info['output_gain']} * {sym}_step(s, {info['input_gain']} * in[i]);
  }}
}}

const vn_model_t {sym}_model = {{
    .info = {{
{info_text}
    }},
    .reset = {sym}_reset,
    .process = {sym}_process,
}};
"""
        return header, source


def generate(model: ModelFile, symbol: str | None = None) -> tuple[str, str, str]:
    """(symbol, header text, source text) for a model."""
    symbol = symbol or symbol_for(model.name)
    header, source = Generator(model, symbol).generate()
    return symbol, header, source


def write(model: ModelFile, out: Path, symbol: str | None = None) -> tuple[Path, Path]:
    """Write SYMBOL.h and SYMBOL.c into out; return their paths."""
    symbol, header, source = generate(model, symbol)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{symbol}.h").write_text(header)
    (out / f"{symbol}.c").write_text(source)
    return out / f"{symbol}.h", out / f"{symbol}.c"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="model file (.vnet)")
    parser.add_argument("--out", required=True, type=Path, help="folder for SYMBOL.h and SYMBOL.c")
    parser.add_argument("--symbol", help="C symbol prefix (default: from the model name)")


def run(args: argparse.Namespace) -> int:
    header, source = write(load(args.model), args.out, args.symbol)
    print(f"wrote {header} and {source}")
    return 0
