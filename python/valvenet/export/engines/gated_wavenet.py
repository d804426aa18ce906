"""The gated WaveNet (WaveNet with tanh x sigmoid gates, ValveNet's own): its float32 and
int16 engines.

Float32 (float_engine.py has the schedule): per layer, one product for the dilated conv
whose epilogue is the gate (rows [a0, b0, a1, b1, ...]: the tanh and gate halves of each
channel side by side, the gate half scaled by 0.5 for vn_gate2), one for the residual whose
epilogue also adds the skip mix into y.

Int16, IN FIXED POINT: the gate tanh(a) * sigmoid(b) from two tables without interpolation
(q15_arith.gate_tables: tanh in Q15, 4,096 entries on [-4, 4); sigmoid in Q16, 2,048 on
[-8, 8)), the Q31 product's top half is the gate in Q15; within 1.31e-3 of the exact gate.
Five instructions a gate on the M7 (two SSATs with a shift give the indices, two loads, a
multiply) and half a PKHTB. It was 30 with the interpolated vn_q15_tanh, the engine's
hottest non-MAC work (2C activations per layer per sample); docs/int16.md has the steps.
Per layer l (GatedBlocks: layer-major sub-blocks, 4-row tiles fed by LDM):
  acc  = bias + W_conv . (the k taps of h_l, Q f_h[l])           (int32; the bias holds the
         tables' index rounding)
  gate = tanh(acc_a) * sigmoid(acc_b) from the tables (above), Q15
  h_{l+1} = h_l + (bias + W_res . gate) to Q f_h[l+1]            (the rounding in the bias)
  y    = (b_out + sum_l W_out_l b_res_l) + sum_l (W_out_l W_res_l) . gate_l   (the skips folded
         into one output row over every layer's gates, one accumulator; no skip is stored)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from valvenet.export.c_text import BLOCK, CodegenError, c_float, even, gains, int_array, pow2
from valvenet.export.engines.float_engine import FloatGenerator
from valvenet.export.engines.float_products import Product, Source
from valvenet.export.engines.q15_arith import (GATE_SIGMOID, GATE_TANH, add_residual, gate_tables, int32_at,
                                               quantise_columns, table_index, to_q15)
from valvenet.export.engines.q15_engine import Q15Generator

KINDS = ("gated_wavenet",)
FULL_RECOMPUTE = True  # a WaveNet has a receptive field: the baseline applies


def int16_scales(config: dict[str, Any]) -> list[str]:
    """The calibrated tensors (calibrate.py's names) the int16 engine needs."""
    n = len(config["dilations"])
    return ["x"] + [f"h{i}" for i in range(n)] + [f"r{i}" for i in range(n)]


def check_int16(config: dict[str, Any]) -> None:
    """Refuses what the int16 engine cannot express."""
    if config.get("activation", "tanh") != "tanh":
        raise CodegenError("the int16 gated WaveNet supports tanh x sigmoid gates only")


def int16(gen: Q15Generator) -> tuple[str, str, str]:
    """Layer-major sub-blocks (GatedBlocks)."""
    gen.includes.append("firmware/nn/q15_dsp.h")
    step, loop = GatedBlocks(gen).text(*gains(gen.model))
    return step, loop, ("Layer-major sub-blocks, each sample's integer arithmetic the same in any of them: the\n"
                        " * output does not depend on the block size; in and out may alias.")


def float32(gen: FloatGenerator) -> str:
    """The block function: the input product into the first ring, then every layer over the
    sub-block (conv with the gate epilogue, residual with the skip mix into y)."""
    cfg, t, sym = gen.config, gen.t, gen.sym
    c, dilations = cfg["channels"], cfg["dilations"]
    n, cp = len(dilations), even(cfg["channels"])
    if cfg["kernel_size"] != 3:
        raise CodegenError("the C engine implements kernel size 3 (every ValveNet/NAM WaveNet uses it)")
    for d in dilations:
        gen.ring(d, c)
    gen.ring_tables()
    w_in, _ = gen.product(Product("input", [Source("x", 1, 1)], [t["input.weight"][0][:, None]],
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
    conv_w, conv_stride = gen.product(Product("conv", taps, conv, bias=conv_bias, epilogue="gate", out_stride=cp))
    residual = [0.5 * t[f"layer{i}.residual.weight"].T for i in range(n)]
    residual_bias = [t[f"layer{i}.residual.bias"] for i in range(n)]
    mix = [t["output.weight"][i * c:(i + 1) * c, 0] for i in range(n)]
    gates = [Source("g", cp, c)]
    res_w, res_stride = gen.product(Product("residual", gates, residual, bias=residual_bias, mix=mix,
                                            epilogue="residual_skip", out_stride=cp))
    last_w, _ = gen.product(Product("last", gates, residual[-1:], bias=residual_bias[-1:], mix=mix[-1:],
                                    epilogue="skip"))
    write0, mirror0 = gen.write_ring("0", cp)
    write1, mirror1 = gen.write_ring("l + 1u", cp)
    return f"""
VN_HOT_TEXT static void {sym}_block({gen.stream_type} *s, const float *x, float *y, const uint32_t m) {{
  float g[{BLOCK * cp}] VN_ALIGNED8;
  {sym}_input({w_in}, x, {write0}, m);
  {mirror0}
  for (uint32_t j = 0; j < m; ++j) {{ /* after the last read of x: y may be x (in place) */
    y[j] = {c_float(t["output.bias"][0])};
  }}
  for (uint32_t l = 0; l < {n}u; ++l) {{
{gen.taps("l", cp)}    {sym}_conv({conv_w} + l * {conv_stride}u, old, mid, cur, g, m);
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


# -------------------------------------------------------------------------------- int16
class GatedBlocks:
    """The gated WaveNet's int16 engine, layer-major: `process` cuts its input into sub-blocks
    of BLOCK samples and runs each layer over the whole sub-block before the next.

    - Every layer input lives in a mirrored ring (firmware/nn/q15.h, vn_q15_ring_mirror):
      the k taps of a sub-block are k contiguous arrays of columns (cq int16 per sample, the
      channels padded to a multiple of 4).
    - Products in tiles of 4 rows x 1 sample (vn_q15_mac4, firmware/nn/q15_dsp.h): on the M7
      one LDM loads four input words, one LDM each word's four row weights, so 16 SMLADs
      take 5 load instructions (the 4 x 2 tiles of LDRD and LDR before took 8; an LDM of n
      words still moves n words: cycles fall less than instructions). The group's biases
      sit in front of its weights and come by one LDM into the accumulators; w walks every
      group of a layer, sample by sample, the groups unrolled.
    - The gate from two tables without interpolation (gate_tables): tanh(a) (Q15) times
      sigmoid(b) (Q16) is a Q31 product whose top half is the gate in Q15 (truncated); two
      channels' gates packed into one word (PKHTB). The tables' index rounding is folded into
      the convolution's bias (half a step), so the index is one SSAT with a shift.
    - The skips are folded into the output: y = b_out + sum_l W_out_l (W_res_l g_l + b_res_l)
      = (b_out + sum_l W_out_l b_res_l) + sum_l (W_out_l W_res_l) g_l, one int32 accumulator
      per sample over every layer's gates (one row, one format). The last layer needs no
      residual at all.
    - The residual's rounding (half an LSB of h) is folded into its bias too: h_{l+1} =
      SSAT((r >> s) + h_l), the same value as the rounded shift; where h_l and h_{l+1}
      share a format, two channels a word: QADD16(PKHBT(SSAT(r0 >> s), SSAT(r1 >> s)), h)
      (r saturated to an int16 before the add: a difference only where |r| alone overflows).

    Each sample's integer arithmetic does not depend on the sub-block or the tile it falls in
    (integer sums: exact, in any order), so the output is the same for any block size."""

    def __init__(self, gen: Q15Generator) -> None:
        self.gen = gen
        cfg, t, fr = gen.model.config, gen.model.tensors, gen.fracs
        c, k, dils = cfg["channels"], cfg["kernel_size"], list(cfg["dilations"])
        n = len(dils)
        cq = -(-c // 4) * 4
        gw = cq // 2  # gate words per sample
        self.c, self.k, self.dils, self.n, self.cq, self.gw = c, k, dils, n, cq, gw
        sym, B = gen.sym, BLOCK
        f_x = fr["x"]
        f_h = [fr[f"h{i}"] for i in range(n)]
        self.functions: list[str] = []
        # rings
        self.offsets, self.caps, total = [], [], 0
        for d in dils:
            cap = (k - 1) * d + B
            self.offsets.append(total)
            self.caps.append(cap)
            total += (cap + B) * cq
        gen.state += [f"int16_t ring[{total}] __attribute__((aligned(8)));", f"uint32_t pos[{n}];"]
        # tables
        sig = gate_tables()[1]
        kt, nt = GATE_TANH
        ks, ns = GATE_SIGMOID
        gen.arrays.append(int_array(f"{sym}_gate_sigmoid", sig, "uint16_t"))
        self.tanh_mid = gen.lookup_tanh()
        self.sig_mid = f"({sym}_gate_sigmoid + {2 ** (ns - 1)})"
        # input 1x1
        w_in = np.zeros((cq, 1))
        w_in[:c, 0] = np.asarray(t["input.weight"], np.float64).reshape(-1)
        b_in = np.zeros(cq)
        b_in[:c] = np.asarray(t["input.bias"], np.float64)
        wq, bq, a_in = quantise_columns(w_in, b_in + 2.0 ** (-f_h[0] - 1), [f_x])  # the rounding in the bias
        if 1 <= a_in - f_h[0] <= 31:
            def to_h(acc: str) -> str:
                return f"vn_q15_sat32({acc} >> {a_in - f_h[0]})"
        else:
            wq, bq, a_in = quantise_columns(w_in, b_in, [f_x])

            def to_h(acc: str) -> str:
                return to_q15(acc, a_in, f_h[0])
        gen.formats["accumulators"]["in"] = a_in
        self.input_lines = [f"h[{ch}] = {to_h(f'({int(bq[ch])} + {int(wq[ch, 0])} * (int32_t)xq)')};"
                            if ch < c else f"h[{ch}] = 0;" for ch in range(cq)]
        # output: every layer's gates through W_out_l W_res_l, one accumulator
        w_out = np.asarray(t["output.weight"], np.float64).reshape(-1)
        fold = np.zeros((1, n * cq))
        y_bias = float(np.asarray(t["output.bias"], np.float64).reshape(-1)[0])
        for i in range(n):
            res_w = np.asarray(t[f"layer{i}.residual.weight"], np.float64)  # (in, out)
            out_l = w_out[i * c:(i + 1) * c]
            fold[0, i * cq:i * cq + c] = res_w @ out_l
            y_bias += float(out_l @ np.asarray(t[f"layer{i}.residual.bias"], np.float64))
        fq, fb, self.a_out = quantise_columns(fold, np.array([y_bias]), [15])
        self.y_bias = int(fb[0])
        gen.arrays.append(int_array(f"{sym}_fold_w", fq, "int16_t"))
        gen.formats["accumulators"]["out"] = self.a_out
        for i in range(n):
            self.conv(i, f_h[i])
            self.mix(i)
            if i + 1 < n:
                self.residual(i, f_h[i], f_h[i + 1])

    @staticmethod
    def tile(inputs: list[tuple[str, int]]) -> list[str]:
        """C: accumulators a0..a3 = bias + W . input for one sample and one group of 4 rows, the
        input the concatenation of `inputs` (int16 pointer, words); w walks the group's 4 int32
        biases (one LDM: vn_q15_bias4) then its weights interleaved by pair (4 row words per
        pair: group_weights), each run of up to 4 input words one vn_q15_mac4 (an LDM of the
        inputs, one of each pair's four weights)."""
        lines = ["int32_t a0, a1, a2, a3;", "vn_q15_bias4(&w, &a0, &a1, &a2, &a3);"]
        for pointer, words in inputs:
            lines += [f"vn_q15_mac4(&w, {pointer} + {2 * c}u, {min(4, words - c)}u, &a0, &a1, &a2, &a3);"
                      for c in range(0, words, 4)]
        return lines

    @staticmethod
    def group_weights(wq: np.ndarray, bq: np.ndarray) -> np.ndarray:
        """The weights (groups, pairs, 4 rows, 2) with each group's 4 int32 biases in front of
        its weights (as 8 int16, little-endian): one pointer walks both."""
        groups = wq.shape[0]
        bias = np.asarray(bq, np.int64).astype("<i4").view("<i2").reshape(groups, 8)
        return np.concatenate([bias, np.asarray(wq, np.int16).reshape(groups, -1)], axis=1)

    @staticmethod
    def loops(groups: int, weights: str, setup: list[str], body: list[str]) -> list[str]:
        """C: sample by sample, the groups of 4 rows in turn (q), w walking all of them."""
        return [*setup, "#pragma GCC unroll 1", "for (uint32_t j = 0; j < m; ++j) {",
                f"  const int16_t *w = {weights};", "  VN_Q15_OPAQUE(w);",
                f"#pragma GCC unroll {groups}", f"  for (uint32_t q = 0; q < {groups}u; ++q) {{",
                *("    " + x for x in body), "  }", "}"]

    def conv(self, i: int, f_in: int) -> None:
        gen, t, c, k, cq, gw, d = self.gen, self.gen.model.tensors, self.c, self.k, self.cq, self.gw, self.dils[i]
        sym = gen.sym
        kt, nt = GATE_TANH
        ks, ns = GATE_SIGMOID
        wc = np.asarray(t[f"layer{i}.conv.weight"], np.float64)  # (k, in, 2c)
        bc = np.asarray(t[f"layer{i}.conv.bias"], np.float64)
        conv = np.zeros((2 * cq, k * cq))
        bias = np.zeros(2 * cq)
        for q in range(gw):  # rows: tanh halves of channels 2q, 2q + 1, then their gate halves
            for half, ch in enumerate((2 * q, 2 * q + 1)):
                if ch < c:
                    for j in range(k):
                        conv[4 * q + half, j * cq:j * cq + c] = wc[j][:, ch]
                        conv[4 * q + 2 + half, j * cq:j * cq + c] = wc[j][:, c + ch]
                    bias[4 * q + half], bias[4 * q + 2 + half] = bc[ch], bc[c + ch]
                bias[4 * q + half] += 2.0 ** (-kt - 1)  # the tables' index rounding
                bias[4 * q + 2 + half] += 2.0 ** (-ks - 1)
        wq, bq, acc = quantise_columns(conv, bias, [f_in] * (k * cq))
        wq = self.group_weights(wq.reshape(gw, 4, k * cq // 2, 2).transpose(0, 2, 1, 3), bq)
        gen.arrays.append(int_array(f"{sym}_l{i}_conv_w", wq, "int16_t"))
        gen.formats["accumulators"][f"l{i}_conv"] = acc
        ta = [table_index(f"a{r}", acc, kt, nt) for r in range(2)]
        sb = [table_index(f"b{r}", acc, ks, ns) for r in range(2)]
        self.functions.append(
            f"__attribute__((always_inline)) static inline uint32_t {sym}_gate{i}(const int16_t *tanh_mid,\n"
            "                                  const uint16_t *sig_mid,\n"
            "                                  const int32_t a0, const int32_t a1, const int32_t b0, const int32_t b1) {\n"
            f"  const int32_t p0 = (int32_t)tanh_mid[{ta[0]}] * (int32_t)sig_mid[{sb[0]}];\n"
            f"  const int32_t p1 = (int32_t)tanh_mid[{ta[1]}] * (int32_t)sig_mid[{sb[1]}];\n"
            "  return vn_q15_pack_top(p1, p0);\n}\n")
        taps = ", ".join(f"const int16_t *const t{j}" for j in range(k))

        body = self.tile([(f"t{j} + j * {cq}u", cq // 2) for j in range(k)])
        body.append(f"g[j * {gw}u + q] = {sym}_gate{i}(tm, sm, a0, a1, a2, a3);")
        setup = [f"const int16_t *tm = {self.tanh_mid};",  # opaque: the offset stays in the base
                 f"const uint16_t *sm = {self.sig_mid};",
                 "VN_Q15_OPAQUE(tm);", "VN_Q15_OPAQUE(sm);"]
        lines = self.loops(gw, f"{sym}_l{i}_conv_w", setup, body)
        self.functions.append(f"VN_HOT_TEXT static void {sym}_conv{i}({taps}, uint32_t *restrict g, const uint32_t m) {{\n"
                              + "\n".join("  " + x for x in lines) + "\n}\n")

    def mix(self, i: int) -> None:
        """C: y[j] += (W_out_i W_res_i) . g[j], the layer's share of the output row (the fold
        weights in registers; with four gate words a sample, one LDM)."""
        sym, cq, gw = self.gen.sym, self.cq, self.gw
        lines = [f"VN_HOT_TEXT static void {sym}_mix{i}(const uint32_t *restrict g, int32_t *restrict y, const uint32_t m) {{"]
        lines += [f"  const uint32_t f{p} = vn_q15_word({sym}_fold_w + {i * cq + 2 * p}u);" for p in range(gw)]
        lines += ["#pragma GCC unroll 1", f"  for (uint32_t j = 0; j < m; ++j, g += {gw}u) {{", "    int32_t a = y[j];"]
        if gw == 4:  # more fold words than four would not leave the LDM its registers
            lines.append("    a = vn_q15_dot4_words((const int16_t *)g, f0, f1, f2, f3, a);")
        else:
            lines += [f"    a = vn_q15_smlad(f{p}, g[{p}], a);" for p in range(gw)]
        lines += ["    y[j] = a;", "  }", "}", ""]
        self.functions.append("\n".join(lines))

    def residual(self, i: int, f_h: int, f_out: int) -> None:
        gen, t, c, cq, gw = self.gen, self.gen.model.tensors, self.c, self.cq, self.gw
        sym = gen.sym
        weight = np.zeros((cq, cq))
        weight[:c, :c] = np.asarray(t[f"layer{i}.residual.weight"], np.float64).T
        bias = np.zeros(cq)
        bias[:c] = np.asarray(t[f"layer{i}.residual.bias"], np.float64)
        wq, bq, acc = quantise_columns(weight, bias + 2.0 ** (-f_out - 1), [15])  # the rounding in the bias
        shift = acc - f_out
        fast = 1 <= shift <= 31 and f_out - f_h <= 14 and f_h - f_out <= 31
        if not fast:
            wq, bq, acc = quantise_columns(weight, bias, [15])
        wq = self.group_weights(wq.reshape(cq // 4, 4, gw, 2).transpose(0, 2, 1, 3), bq)
        gen.arrays.append(int_array(f"{sym}_l{i}_res_w", wq, "int16_t"))
        gen.formats["accumulators"][f"l{i}_res"] = acc

        def update(r: str, h: str) -> str:
            if not fast:
                return add_residual(r, acc, h, f_h, f_out)
            return f"vn_q15_sat32(({r} >> {shift}) + {int32_at(h, f_h, f_out)})"

        body = self.tile([(f"(const int16_t *)(g + j * {gw}u)", gw)])
        at = [f"j * {cq}u + 4u * q + {r}u" for r in range(4)]
        if fast and f_h == f_out:  # two channels a word: SSAT each, PKHBT, QADD16 with h
            for r in range(0, 4, 2):
                pair = f"vn_q15_pack_bottom(vn_q15_sat32(a{r} >> {shift}), vn_q15_sat32(a{r + 1} >> {shift}))"
                body.append(f"vn_q15_store_word(out + {at[r]}, vn_q15_add2_sat({pair}, vn_q15_word(h + {at[r]})));")
        else:
            body += [f"out[{at[r]}] = {update(f'a{r}', f'h[{at[r]}]')};" for r in range(4)]
        lines = self.loops(cq // 4, f"{sym}_l{i}_res_w", [], body)
        self.functions.append(
            f"VN_HOT_TEXT static void {sym}_res{i}(const uint32_t *restrict g, const int16_t *h, int16_t *out, const uint32_t m) {{\n"
            + "\n".join("  " + x for x in lines) + "\n}\n")

    def text(self, in_gain: str, out_gain: str) -> tuple[str, str]:
        """(the model's functions and its block function, the body of process)."""
        gen, sym, B, cq, gw, k, n = self.gen, self.gen.sym, BLOCK, self.cq, self.gw, self.k, self.n
        lines = [f"VN_HOT_TEXT static void {sym}_block({sym}_state_t *s, const float *x, float *y, const uint32_t m) {{",
                 f"  uint32_t g[{B * gw}] __attribute__((aligned(8)));",
                 f"  int32_t acc[{B}];",
                 "  {",
                 f"    int16_t *h = s->ring + s->pos[0] * {cq}u;",
                 f"    for (uint32_t j = 0; j < m; ++j, h += {cq}u) {{",
                 f"      const int16_t xq = vn_q15_from_float({in_gain} * x[j], {pow2(gen.fracs['x'])});",
                 *("      " + x for x in self.input_lines),
                 "    }",
                 f"    vn_q15_ring_mirror(s->ring, s->pos[0], m, {self.caps[0]}u, {B}u, {cq}u);",
                 "  }",
                 f"  for (uint32_t j = 0; j < m; ++j) acc[j] = {self.y_bias};"]
        for i, d in enumerate(self.dils):
            cap = self.caps[i]
            lines += [f"  {{ /* layer {i}: dilation {d} */",
                      f"    int16_t *const base = s->ring + {self.offsets[i]}u;",
                      f"    const uint32_t p = s->pos[{i}];"]
            taps = [f"base + vn_q15_ring_back(p, {(k - 1 - j) * d}u, {cap}u) * {cq}u" if j < k - 1 else f"base + p * {cq}u"
                    for j in range(k)]
            lines.append(f"    {sym}_conv{i}({', '.join(taps)}, g, m);")
            lines.append(f"    {sym}_mix{i}(g, acc, m);")
            if i + 1 < n:
                nxt = f"s->ring + {self.offsets[i + 1]}u"
                lines += [f"    {sym}_res{i}(g, base + p * {cq}u, {nxt} + s->pos[{i + 1}] * {cq}u, m);",
                          f"    vn_q15_ring_mirror({nxt}, s->pos[{i + 1}], m, {self.caps[i + 1]}u, {B}u, {cq}u);"]
            lines += [f"    s->pos[{i}] = p + m >= {cap}u ? p + m - {cap}u : p + m;", "  }"]
        lines += [f"  for (uint32_t j = 0; j < m; ++j) y[j] = {out_gain} * ((float)acc[j] * {pow2(-self.a_out)});", "}", ""]
        process = [f"  while (n > 0u) {{ /* in and out may alias: a sub-block reads all its input first */",
                   f"    const uint32_t m = n < {B}u ? n : {B}u;",
                   f"    {sym}_block(s, in, out, m);",
                   "    in += m;", "    out += m;", "    n -= m;", "  }"]
        return "\n".join(self.functions + lines), "\n".join(process)

