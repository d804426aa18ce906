"""The int16 (Q15-style fixed point) C engine: generator and host wrapper.

Formats: every tensor has a power-of-two scale, stored as its number of fractional bits f
(value = int16 / 2^f). Weights get theirs from their own range, activations from
calibration data (valvenet.export.calibrate: the float oracle run on calibration audio).
Products are int16 x int16 -> int32, two per instruction (SMLAD on the Cortex-M7, the
bit-identical portable path elsewhere: firmware/nn/q15.h); weights and inputs are laid out
as int16 pairs, input channels padded to even.

No overflow: each matrix's weight scale is the largest for which, for every row,
sum |w_q| * 32768 + |bias_q| < 2^31: no input whatever can overflow the accumulator.

Gated WaveNet, per sample (so the output is the same for any block size), per layer l:
  in    = the k taps of h_l (Q f_h[l]), from the layer's ring of (k-1)*d columns
  acc   = bias + W_conv . in                       (int32, f_conv + f_h[l] fractional bits)
  gate  = tanh(acc_a * 2^-a) * sigmoid(acc_b * 2^-a), IN FLOAT: the int32 accumulator is
          dequantised (one multiply by a power of two), vn_tanh / vn_sigmoid
          (firmware/nn/activations.h), requantised to Q15 (|gate| < 1). This is the chosen
          trade-off: activations are 2C per layer against 2C * kC MACs, and a table or
          polynomial in fixed point would add error without removing the float unit's work.
  acc_r = bias + W_res . gate                      (int32)
  skip_l = acc_r rescaled to Q f_r[l];  h_{l+1} = h_l + acc_r rescaled to Q f_h[l+1]
Output: y = (bias + sum_l W_out_l . skip_l) * 2^-K with per-layer weight scales
f_out_l = K - f_r[l], so one int32 accumulator holds every layer's skip.

Not yet: LSTM / GRU / NAM WaveNets (CodegenError), the layer-major tiled schedule of the
float engine (c_code.py); this engine steps sample by sample.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np

from valvenet.export import c_code
from valvenet.export.c_host import CEngine, compile_sources
from valvenet.export.calibrate import frac_bits, scales as calibrate_scales
from valvenet.export.model_file import ModelFile
from valvenet.models import config as model_config

ACC_LIMIT = 2 ** 31 - 1
MAX_WEIGHT_FRAC = 30


def _even(n: int) -> int:
    return n + (n & 1)


def quantise_matrix(weight: np.ndarray, bias: np.ndarray | None, f_in: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(int16 weights, int32 biases at f_w + f_in fractional bits, f_w) for rows x inputs `weight`:
    the most weight bits for which no accumulator can overflow (see the module docstring)."""
    weight = np.asarray(weight, np.float64)
    bias = np.zeros(weight.shape[0]) if bias is None else np.asarray(bias, np.float64)
    peak = float(np.max(np.abs(weight))) if weight.size else 0.0
    f_w = min(MAX_WEIGHT_FRAC, frac_bits(peak, 1.0)) if peak > 0 else MAX_WEIGHT_FRAC
    while True:
        wq = np.clip(np.floor(weight * 2.0 ** f_w + 0.5), -32768, 32767)
        bq = np.floor(bias * 2.0 ** (f_w + f_in) + 0.5)
        worst = np.sum(np.abs(wq), axis=1) * 32768.0 + np.abs(bq)
        if worst.size == 0 or float(np.max(worst)) < ACC_LIMIT:
            return wq.astype(np.int16), bq.astype(np.int64), f_w
        f_w -= 1


def _int_array(name: str, values: np.ndarray, ctype: str) -> str:
    flat = np.asarray(values).reshape(-1)
    if flat.size == 0:
        flat = np.zeros(2, np.int64)
    rows = [", ".join(str(int(v)) for v in flat[i:i + 16]) for i in range(0, flat.size, 16)]
    return (f"static const {ctype} {name}[{flat.size}] __attribute__((aligned(8))) VN_HOT_RODATA = {{\n  "
            + ",\n  ".join(rows) + "\n};\n")


def _pow2(f: int) -> str:
    """2^f as an exact float literal."""
    return c_code._float(2.0 ** f)


class Q15Generator:
    def __init__(self, model: ModelFile, symbol: str, fracs: dict[str, int]) -> None:
        if model.config["kind"] != "gated_wavenet":
            raise c_code.CodegenError(f"the int16 engine does not support {model.config['kind']} models yet")
        self.model, self.sym, self.fracs = model, symbol, fracs
        self.arrays: list[str] = []
        self.formats: dict[str, Any] = {}

    def gated_wavenet(self) -> tuple[str, str]:
        cfg, t, sym, fr = self.model.config, self.model.tensors, self.sym, self.fracs
        c, k, dils = cfg["channels"], cfg["kernel_size"], cfg["dilations"]
        n, cp = len(dils), _even(c)
        f_x = fr["x"]
        f_h = [fr[f"h{i}"] for i in range(n)]
        f_r = [fr[f"r{i}"] for i in range(n)]
        # input layer: 1 -> C
        w_in, b_in, fw_in = quantise_matrix(t["input.weight"].T, t["input.bias"], f_x)
        self.arrays += [_int_array(f"{sym}_in_w", w_in[:, 0], "int16_t"), _int_array(f"{sym}_in_b", b_in, "int32_t")]
        state = []
        body = [f"  int16_t h[{cp}] __attribute__((aligned(8))) = {{0}};",
                f"  int16_t in[{k * cp}] __attribute__((aligned(8)));",
                f"  int16_t g[{cp}] __attribute__((aligned(8))) = {{0}};",
                f"  int16_t skip[{n * cp}] __attribute__((aligned(8))) = {{0}};",
                f"  const int16_t xq = vn_q15_from_float(x, {_pow2(f_x)});",
                f"  for (uint32_t o = 0; o < {c}u; ++o) {{",
                f"    h[o] = vn_q15_sat(vn_q_shift((int64_t){sym}_in_b[o] + (int32_t){sym}_in_w[o] * xq, {fw_in + f_x - f_h[0]}));",
                "  }"]
        # output layer: per-layer weight scales sharing the accumulator's K fractional bits
        w_out = np.asarray(t["output.weight"], np.float64)[:, 0].reshape(n, c)
        fw_max = [frac_bits(float(np.max(np.abs(w_out[i]))), 1.0) if np.any(w_out[i]) else MAX_WEIGHT_FRAC for i in range(n)]
        big_k = min(f_r[i] + min(fw_max[i], MAX_WEIGHT_FRAC) for i in range(n))
        while True:
            wq = np.zeros((n, cp))
            for i in range(n):
                wq[i, :c] = np.clip(np.floor(w_out[i] * 2.0 ** (big_k - f_r[i]) + 0.5), -32768, 32767)
            bq = np.floor(float(t["output.bias"][0]) * 2.0 ** big_k + 0.5)
            if np.sum(np.abs(wq)) * 32768.0 + abs(bq) < ACC_LIMIT:
                break
            big_k -= 1
        self.arrays.append(_int_array(f"{sym}_out_w", wq.reshape(-1), "int16_t"))
        layers = []
        for i, d in enumerate(dils):
            span = (k - 1) * d
            conv = np.zeros((2 * c, k * cp))
            wc = np.asarray(t[f"layer{i}.conv.weight"], np.float64)  # (k, in, out)
            for j in range(k):
                conv[:, j * cp:j * cp + c] = wc[j].T
            cw, cb, fw_c = quantise_matrix(conv, t[f"layer{i}.conv.bias"], f_h[i])
            res = np.zeros((c, cp))
            res[:, :c] = np.asarray(t[f"layer{i}.residual.weight"], np.float64).T
            rw, rb, fw_r = quantise_matrix(res, t[f"layer{i}.residual.bias"], 15)
            self.arrays += [_int_array(f"{sym}_l{i}_cw", cw, "int16_t"), _int_array(f"{sym}_l{i}_cb", cb, "int32_t"),
                            _int_array(f"{sym}_l{i}_rw", rw, "int16_t"), _int_array(f"{sym}_l{i}_rb", rb, "int32_t")]
            a_conv, a_res = fw_c + f_h[i], fw_r + 15
            layers.append({"conv_frac": fw_c, "res_frac": fw_r})
            lines = [f"  /* layer {i}: dilation {d}; h Q{f_h[i]}, conv weights Q{fw_c}, residual weights Q{fw_r} */", "  {"]
            if span:
                state.append(f"int16_t ring{i}[{span * cp}] __attribute__((aligned(8)));")
                state.append(f"uint32_t pos{i};")
                lines.append(f"    const uint32_t p = s->pos{i};")
                for j in range(k - 1):
                    q = f"(p + {j * d}u) % {span}u" if j else "p"
                    lines.append(f"    memcpy(in + {j * cp}, s->ring{i} + ({q}) * {cp}u, {2 * cp}u);")
                lines += [f"    memcpy(s->ring{i} + p * {cp}u, h, {2 * cp}u);",
                          f"    s->pos{i} = p + 1u == {span}u ? 0u : p + 1u;"]
            lines.append(f"    memcpy(in + {(k - 1) * cp}, h, {2 * cp}u);")
            lines += [f"    for (uint32_t o = 0; o < {c}u; ++o) {{",
                      f"      const int32_t za = vn_q15_dot({sym}_l{i}_cw + o * {k * cp}u, in, {k * cp // 2}u, {sym}_l{i}_cb[o]);",
                      f"      const int32_t zb = vn_q15_dot({sym}_l{i}_cw + (o + {c}u) * {k * cp}u, in, {k * cp // 2}u, {sym}_l{i}_cb[o + {c}u]);",
                      f"      const float gate = vn_tanh((float)za * {_pow2(-a_conv)}) * vn_sigmoid((float)zb * {_pow2(-a_conv)});",
                      "      g[o] = vn_q15_from_float(gate, 32768.0f);",
                      "    }"]
            lines += [f"    for (uint32_t o = 0; o < {c}u; ++o) {{",
                      f"      const int32_t r = vn_q15_dot({sym}_l{i}_rw + o * {cp}u, g, {cp // 2}u, {sym}_l{i}_rb[o]);",
                      f"      skip[{i * cp}u + o] = vn_q15_sat(vn_q_shift(r, {a_res - f_r[i]}));"]
            if i + 1 < n:
                big_f = max(a_res, f_h[i])
                lines.append(f"      h[o] = vn_q15_sat(vn_q_shift(vn_q_shift(r, {a_res - big_f}) + vn_q_shift(h[o], {f_h[i] - big_f}), "
                             f"{big_f - f_h[i + 1]}));")
            lines += ["    }", "  }"]
            body += lines
        body += [f"  const int32_t acc = vn_q15_dot({sym}_out_w, skip, {n * cp // 2}u, {int(bq)});",
                 f"  return (float)acc * {_pow2(-big_k)};"]
        self.formats = {"activations": dict(fr), "input_weights": fw_in, "layers": layers, "output_acc": big_k}
        if not state:
            state.append("uint32_t unused;")
        step = (f"VN_HOT_TEXT static float {sym}_step({sym}_state_t *s, const float x) {{\n"
                + "\n".join(body) + "\n}\n")
        return "\n".join(f"  {line}" for line in state), step

    def generate(self) -> tuple[str, str]:
        sym, meta, cfg = self.sym, self.model.metadata, self.model.config
        fields, step = self.gated_wavenet()
        in_gain, out_gain = c_code._float(meta.get("input_gain", 1.0)), c_code._float(meta.get("output_gain", 1.0))
        guard = f"VALVENET_MODEL_{sym.upper()}_H"
        header = f"""/* Generated by valvenet.export.c_q15 from model "{self.model.name}" (int16 engine). Do not edit. */
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
            "name": f'"{self.model.name}+q15"', "kind": c_code.KIND_ENUM[cfg["kind"]], "precision": "VN_PRECISION_Q15",
            "sample_rate": f"{int(meta['sample_rate'])}u", "parameters": f"{self.model.parameter_count()}u",
            "macs_per_sample": f"{model_config.macs_per_sample(cfg)}u",
            "receptive_field": f"{model_config.receptive_field(cfg)}u",
            "weights_crc32": f"0x{c_code.weights_crc32(self.model):08X}u", "state_size": f"sizeof({sym}_state_t)",
            "input_gain": in_gain, "output_gain": out_gain,
        }
        info_text = "\n".join(f"        .{k} = {v}," for k, v in info.items())
        source = f"""/* Generated by valvenet.export.c_q15 from model "{self.model.name}" (int16 engine). Do not edit.
 * Formats (fractional bits): {self.formats} */
#include "{sym}.h"

#include <math.h>
#include <string.h>

#include "firmware/nn/activations.h"
#include "firmware/nn/placement.h"
#include "firmware/nn/q15.h"

{"".join(self.arrays)}
{step}
void {sym}_reset(void *state) {{ memset(state, 0, sizeof({sym}_state_t)); }}

/* Sample by sample: the output does not depend on the block size; in and out may alias. */
void {sym}_process(void *state, const float *in, float *out, uint32_t n) {{
  {sym}_state_t *s = ({sym}_state_t *)state;
  for (uint32_t i = 0; i < n; ++i) {{
    out[i] = {out_gain} * {sym}_step(s, {in_gain} * in[i]);
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


def generate(model: ModelFile, fracs: dict[str, int], symbol: str | None = None) -> tuple[str, str, str, dict[str, Any]]:
    """(symbol, header, source, formats) for a model and its calibrated activation scales."""
    symbol = symbol or c_code.symbol_for(model.name) + "_q15"
    gen = Q15Generator(model, symbol, fracs)
    header, source = gen.generate()
    return symbol, header, source, gen.formats


def compile_model(model: ModelFile, fracs: dict[str, int], exact_activations: bool = False) -> Path:
    symbol, header, source, _ = generate(model, fracs, "vn_host_model")
    return compile_sources(symbol, header, source, exact_activations, kind="q15")


class Q15Engine(CEngine):
    """The int16 engine on the host (same API as CEngine and the oracle). Scales come from
    `fracs` (calibrate.scales) or are calibrated here on `calibration_audio`."""

    def __init__(self, model: ModelFile, calibration_audio: np.ndarray | None = None,
                 fracs: dict[str, int] | None = None, exact_activations: bool = False) -> None:
        if fracs is None:
            if calibration_audio is None:
                raise ValueError("Q15Engine needs calibration_audio or fracs")
            fracs = calibrate_scales(model, calibration_audio)
        self.fracs = fracs
        self.formats = generate(model, fracs, "vn_host_model")[3]
        self.library = ctypes.CDLL(str(compile_model(model, fracs, exact_activations)))
        self._process = self.library.vn_host_model_process
        self._process.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
        self._reset = self.library.vn_host_model_reset
        self._reset.argtypes = [ctypes.c_void_p]
        self.state = ctypes.create_string_buffer(self._state_size())
        self.reset()


def esr(actual: np.ndarray, reference: np.ndarray) -> float:
    """Error-to-signal ratio: sum (actual - reference)^2 / sum reference^2."""
    reference = np.asarray(reference, np.float64)
    return float(np.sum((np.asarray(actual, np.float64) - reference) ** 2) / np.sum(reference ** 2))
