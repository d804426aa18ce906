"""The NAM WaveNet's int16 engine, layer-major (NamBlocks): `process` cuts its input into
sub-blocks of BLOCK samples and runs each layer over the whole sub-block before the next; the
kernels are firmware/nn/nam_q15.h's, generic over the channel count (one instantiation per
width, the weights and formats in a vn_nam_layer_t per layer), so the hot code stays small.

Arithmetic, per layer array a, layer l, sample t (x: the raw input, Q f_x):
  h_0   = sat16((b + W_in . input) >> s)            (array 0: the input x; later arrays: the
          previous array's output; the rounding in the bias, one rounding)
  z     = b_conv + W_conv . (the k dilated taps of h_l) + w_mix x      (int32, one format)
  p_l   = activation(z): tanh from the gate's table (index = SSAT(z >> s), its rounding in the
          bias; Q15), the others in float, to Q f_p (requantised, as before)
  h_l+1 = sat16((b_res + W_res . p_l + h_l * 2^e) >> s)    (the residual's identity path
          folded into its product: one rounding, in the bias)
  y     = head_scale * 2^-A (b_y + sum over every array and layer of v_a . p_a,l)
The head is folded like the gated WaveNet's skips: array a's head sum reaches y through the
linear maps of its own head and every later array's (their heads are 1x1 products; the next
array's head sum starts at this array's head), so v_a = W_head,last ... W_head,a (a row,
since the last head has one output) and b_y collects the head biases through the same maps.
One int32 accumulator per sample, exact (the fold row is quantised so that no input can
overflow it), no head sum or head product at run time.

Formats: the calibrated ones (model metadata), except that an int16 is never kept finer than
the accumulator it is rounded from (its extra bits would be zeros): h_{l+1} gets
min(calibrated, A). Each layer of CQ <= 4 channels (padded to even) runs conv and residual
in one pass; wider ones in two (nam_q15.h). Each sample's integer arithmetic does not depend
on the sub-block or tile it falls in, so the output is the same for any block size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from valvenet.export.c_text import BLOCK, CodegenError, c_float, even, int_array, pow2
from valvenet.export.engines.q15_arith import ACC_LIMIT, GATE_TANH, quantise_columns
from valvenet.export.engines.q15_engine import Q15Generator

HEADER = "firmware/nn/nam_q15.h"
ACTIVATION_ENUM = {"tanh": "VN_NAM_TANH", "hardtanh": "VN_NAM_HARDTANH", "relu": "VN_NAM_RELU",
                   "softsign": "VN_NAM_SOFTSIGN"}
FUSED_MAX = 8  # padded channels up to which conv and residual run in one pass, all rows at once


def quantise_rounded(weight: np.ndarray, bias: np.ndarray, f_cols: list[int],
                     f_want: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(int16 weights, int32 biases, accumulator bits A, output bits f) for a product whose
    output is rounded once to an int16 at f = min(f_want, A) bits by acc >> (A - f): the
    rounding (half an output LSB) is in the bias. A is the largest for which no input can
    overflow the accumulator, the rounding term included."""
    weight, bias = np.asarray(weight, np.float64), np.asarray(bias, np.float64)
    f = np.asarray(f_cols, np.int64)
    acc = quantise_columns(weight, bias, f_cols)[2]
    for a in range(acc, acc - 64, -1):
        f_out = min(f_want, a)
        full = bias + (2.0 ** (-f_out - 1) if a > f_out else 0.0)
        wq = np.clip(np.floor(weight * np.exp2(a - f) + 0.5), -32768, 32767)
        bq = np.floor(full * 2.0 ** a + 0.5)
        if float(np.max(np.sum(np.abs(wq), axis=1) * 32768.0 + np.abs(bq), initial=0.0)) < ACC_LIMIT:
            return wq.astype(np.int16), bq.astype(np.int64), a, f_out
    raise CodegenError("no accumulator format fits these weights")


def row_groups(wq: np.ndarray) -> np.ndarray:
    """Rows x inputs (both even) in nam_q15.h's tile order, each group [input pairs][rows][2]:
    one group of all rows up to FUSED_MAX, else groups of 4 rows (the last of 2 when rows =
    2 mod 4)."""
    rows, width = wq.shape
    step = rows if rows <= FUSED_MAX else 4
    groups = []
    for r0 in range(0, rows, step):
        g = wq[r0:r0 + step]
        groups.append(g.reshape(g.shape[0], width // 2, 2).transpose(1, 0, 2).reshape(-1))
    return np.concatenate(groups)


def padded(matrix: np.ndarray, rows: int, cols: int) -> np.ndarray:
    out = np.zeros((rows, cols))
    m = np.asarray(matrix, np.float64)
    out[:m.shape[0], :m.shape[1]] = m
    return out


class NamBlocks:
    """Collects the model's arrays (gen.arrays), state (gen.state) and C text."""

    def __init__(self, gen: Q15Generator) -> None:
        self.gen, self.sym = gen, gen.sym
        cfg = gen.model.config
        self.arrays = cfg["layer_arrays"]
        self.cqs = [even(a["channels"]) for a in self.arrays]
        self.tables: list[str] = []  # C: the layer tables
        self.layer_fields: list[list[dict[str, str]]] = []
        self.f_p: list[list[int]] = []
        self.rechannel: list[tuple[str, str, int]] = []  # per array: (w, b, shift)
        self.ring_total, self.layer_count = 0, 0
        self.first_pos: list[int] = []
        f_in = gen.fracs["x"]
        for a in range(len(self.arrays)):
            f_in = self.array(a, f_in)
        self.fold()
        gen.includes.append(HEADER)

    # ------------------------------------------------------------------ weights
    def array(self, a: int, f_in: int) -> int:
        """Quantises array a (its input at f_in bits); returns its output's format."""
        gen, t, array, cq = self.gen, self.gen.model.tensors, self.arrays[a], self.cqs[a]
        fr = gen.fracs
        cin = 1 if a == 0 else self.cqs[a - 1]
        rech = padded(np.asarray(t[f"array{a}.rechannel.weight"], np.float64).T, cq, cin)
        wq, bq, acc, f_h = quantise_rounded(rech, np.zeros(cq), [f_in] * cin, fr[f"a{a}.h0"])
        name = f"{self.sym}_a{a}_in"
        gen.arrays += [int_array(f"{name}_w", wq, "int16_t"), int_array(f"{name}_b", bq, "int32_t")]
        gen.formats["accumulators"][f"a{a}_in"] = acc
        self.rechannel.append((f"{name}_w", f"{name}_b", acc - f_h))
        self.first_pos.append(self.layer_count)
        fields, f_ps = [], []
        n = len(array["dilations"])
        for i, d in enumerate(array["dilations"]):
            cap = (array["kernel_size"] - 1) * d + BLOCK
            field = {"ring": f"{self.ring_total}u", "dilation": f"{d}u", "capacity": f"{cap}u"}
            self.ring_total += (cap + BLOCK) * cq
            f_p = self.conv(a, i, f_h, field)
            if f"array{a}.layer{i}.residual.weight" in t:
                f_h = self.residual(a, i, f_h, f_p, fr[f"a{a}.h{i + 1}"], field)
            else:
                field |= {"res_w": "0", "res_b": "0"}
            fields.append(field)
            f_ps.append(f_p)
        self.layer_count += n
        self.layer_fields.append(fields)
        self.f_p.append(f_ps)
        return f_h

    def conv(self, a: int, i: int, f_h: int, field: dict[str, str]) -> int:
        """Layer i's conv and input mixer; returns its activation's format."""
        gen, t, array, cq = self.gen, self.gen.model.tensors, self.arrays[a], self.cqs[a]
        c, k, prefix = array["channels"], array["kernel_size"], f"array{a}.layer{i}"
        wc = np.asarray(t[f"{prefix}.conv.weight"], np.float64)  # (k, in, out)
        conv = np.zeros((cq, k * cq + 2))  # the mixer: one more input pair (x, 0)
        for j in range(k):
            conv[:c, j * cq:j * cq + c] = wc[j].T
        conv[:c, k * cq] = np.asarray(t[f"{prefix}.mixer.weight"], np.float64)[0]
        bias = np.zeros(cq)
        bias[:c] = np.asarray(t[f"{prefix}.conv.bias"], np.float64)
        tanh = array["activation"] == "tanh"
        if tanh:  # the table's index rounding (half a step), padded rows too (they give tanh(0) = 0)
            bias += 2.0 ** (-GATE_TANH[0] - 1)
        wq, bq, acc = quantise_columns(conv, bias, [f_h] * (k * cq) + [gen.fracs["x"]] * 2)
        name = f"{self.sym}_a{a}_l{i}_conv"
        gen.arrays += [int_array(f"{name}_w", row_groups(wq), "int16_t"), int_array(f"{name}_b", bq, "int32_t")]
        gen.formats["accumulators"][f"a{a}_l{i}_conv"] = acc
        field |= {"conv_w": f"{name}_w", "conv_b": f"{name}_b"}
        if tanh:
            if not 1 <= acc - GATE_TANH[0] <= 31:
                raise CodegenError(f"layer_arrays[{a}] layer {i}: conv weights too large for the int16 tanh table")
            field |= {"act_shift": str(acc - GATE_TANH[0]), "act_in": "0.0f", "act_out": "0.0f"}
            return 15
        f_p = gen.fracs[f"a{a}.p{i}"]
        field |= {"act_shift": "0", "act_in": pow2(-acc), "act_out": pow2(f_p)}
        return f_p

    def residual(self, a: int, i: int, f_h: int, f_p: int, f_want: int, field: dict[str, str]) -> int:
        """Layer i's residual with its identity path as one more (virtual) column; returns
        the format of its output."""
        gen, t, array, cq = self.gen, self.gen.model.tensors, self.arrays[a], self.cqs[a]
        c, prefix = array["channels"], f"array{a}.layer{i}"
        res = np.zeros((cq, cq + 1))
        res[:c, :c] = np.asarray(t[f"{prefix}.residual.weight"], np.float64).T
        res[:, cq] = 1.0  # h_l itself, at h_l's format
        bias = np.zeros(cq)
        bias[:c] = np.asarray(t[f"{prefix}.residual.bias"], np.float64)
        wq, bq, acc, f_out = quantise_rounded(res, bias, [f_p] * cq + [f_h], f_want)
        if not 0 <= acc - f_h <= 14:
            raise CodegenError(f"layer_arrays[{a}] layer {i}: residual weights too large for the int16 engine")
        name = f"{self.sym}_a{a}_l{i}_res"
        gen.arrays += [int_array(f"{name}_w", row_groups(wq[:, :cq]), "int16_t"), int_array(f"{name}_b", bq, "int32_t")]
        gen.formats["accumulators"][f"a{a}_l{i}_res"] = acc
        field |= {"res_w": f"{name}_w", "res_b": f"{name}_b", "res_up": f"{2 ** (acc - f_h)}",
                  "res_shift": f"{acc - f_out}"}
        return f_out

    def fold(self) -> None:
        """The folded head: one row over every layer's activations, one bias."""
        t, last = self.gen.model.tensors, len(self.arrays) - 1
        row = np.asarray(t[f"array{last}.head.weight"], np.float64).T  # (1, c)
        y_bias = float(np.asarray(t.get(f"array{last}.head.bias", [0.0]), np.float64).reshape(-1)[0])
        rows = [row]
        for a in range(last - 1, -1, -1):
            if f"array{a}.head.bias" in t:
                y_bias += float((row @ np.asarray(t[f"array{a}.head.bias"], np.float64))[0])
            row = row @ np.asarray(t[f"array{a}.head.weight"], np.float64).T
            rows.insert(0, row)
        columns, f_cols = [], []
        for a, row in enumerate(rows):
            for f_p in self.f_p[a]:
                columns.append(padded(row, 1, self.cqs[a])[0])
                f_cols += [f_p] * self.cqs[a]
        wq, bq, self.a_out = quantise_columns(np.concatenate(columns)[None, :], np.array([y_bias]), f_cols)
        self.y_bias = int(bq[0])
        self.gen.arrays.append(int_array(f"{self.sym}_fold_w", wq, "int16_t"))
        self.gen.formats["accumulators"]["out"] = self.a_out
        offset = 0
        for a, fields in enumerate(self.layer_fields):
            for field in fields:
                field["fold_w"] = f"{self.sym}_fold_w + {offset}"
                offset += self.cqs[a]
        order = ["conv_w", "conv_b", "res_w", "res_b", "fold_w", "act_shift", "act_in", "act_out",
                 "res_up", "res_shift", "ring", "dilation", "capacity"]
        for a, fields in enumerate(self.layer_fields):
            entries = ",\n".join("  {" + ", ".join(f".{key} = {f.get(key, '0')}" for key in order) + "}" for f in fields)
            self.tables.append(f"static const vn_nam_layer_t {self.sym}_a{a}_layers[{len(fields)}] VN_HOT_RODATA = {{\n"
                               f"{entries}\n}};\n")

    # ------------------------------------------------------------------ code
    def kernels(self) -> tuple[list[str], dict[tuple[int, str, bool], str]]:
        """The kernels' instantiations, one per (width, activation, residual or not) in use:
        (their C, the name of each)."""
        code, names = [], {}
        last = len(self.arrays) - 1
        for a, array in enumerate(self.arrays):
            cq, k, act = self.cqs[a], array["kernel_size"], ACTIVATION_ENUM[array["activation"]]
            fused = cq <= FUSED_MAX
            for res in ((True, False) if (a == last and fused) else (True,)):
                key = (cq, k, array["activation"], res)
                if key in names:
                    continue
                name = f"{self.sym}_layer{len(names)}"
                names[key] = name
                if fused:
                    call = f"vn_nam_layer_fused({cq}, {k}, {act}, {int(res)}, L, t, x, next, y, m, tm);"
                    params = ""
                else:
                    call = f"vn_nam_layer_split({cq}, {k}, {act}, L, t, x, p, next, y, m, tm);"
                    params = "uint32_t *restrict p, "
                code.append(f"/* layers of {array['channels']} channels (padded {cq}), kernel {k}, "
                            f"{array['activation']}{'' if res else ', no residual'} */\n"
                            f"VN_HOT_TEXT static void {name}(const vn_nam_layer_t *L, const int16_t *const *t, "
                            f"const uint32_t *x, {params}int16_t *next, int32_t *y, const uint32_t m, "
                            f"const int16_t *tm) {{\n  {call}\n}}\n")
        return code, names

    def array_function(self, a: int, names: dict[tuple[int, str, bool], str]) -> str:
        """C: sym_arrayA, every layer of array a over the sub-block (a loop over its table)."""
        array, cq, sym = self.arrays[a], self.cqs[a], self.sym
        k, n, p0 = array["kernel_size"], len(array["dilations"]), self.first_pos[a]
        last_array = a + 1 == len(self.arrays)
        key = (cq, k, array["activation"])
        name = names[key + (True,)]
        scratch = "p, " if cq > FUSED_MAX else ""
        call = f"{name}(L, t, x, {scratch}next, y, m, tm);"
        if last_array and cq <= FUSED_MAX:
            call = f"if (last) {{\n      {names[key + (False,)]}(L, t, x, next, y, m, tm);\n    }} else {{\n      {call}\n    }}"
        return f"""VN_HOT_TEXT static void {sym}_array{a}({sym}_state_t *s, const uint32_t *x, int32_t *y, int16_t *out,
    uint32_t *p, const uint32_t m, const int16_t *tm) {{
  const vn_nam_layer_t *L = {sym}_a{a}_layers;
  VN_Q15_OPAQUE(L); /* the table is read, not folded into the code */
  (void)p;
#pragma GCC unroll 1
  for (uint32_t l = 0; l < {n}u; ++l, ++L) {{
    const uint32_t pos = s->pos[{p0}u + l];
    int16_t *const base = s->ring + L->ring;
    const int16_t *t[{k}];
    for (uint32_t j = 0; j + 1u < {k}u; ++j) {{
      t[j] = base + vn_ring_back(pos, ({k - 1}u - j) * L->dilation, L->capacity) * {cq}u;
    }}
    t[{k - 1}] = base + pos * {cq}u;
    const int last = l + 1u == {n}u;
    int16_t *next = last ? out : s->ring + L[1].ring + s->pos[{p0 + 1}u + l] * {cq}u;
    {call}
    if (!last) {{
      vn_q15_ring_mirror(s->ring + L[1].ring, s->pos[{p0 + 1}u + l], m, L[1].capacity, {BLOCK}u, {cq}u);
    }}
    s->pos[{p0}u + l] = pos + m >= L->capacity ? pos + m - L->capacity : pos + m;
  }}
}}
"""

    def text(self, in_gain: str, out_gain: str) -> tuple[str, str]:
        """(the model's tables, kernels and block function, the body of process)."""
        gen, sym, B = self.gen, self.sym, BLOCK
        gen.state += [f"int16_t ring[{self.ring_total}] __attribute__((aligned(8)));", f"uint32_t pos[{self.layer_count}];"]
        kernels, names = self.kernels()
        functions = self.tables + kernels + [self.array_function(a, names) for a in range(len(self.arrays))]
        widest = max(self.cqs)
        split = max((cq for cq in self.cqs if cq > FUSED_MAX), default=0)
        scale = c_float(float(gen.model.config["head_scale"]) * 2.0 ** -self.a_out)
        tm = gen.lookup_tanh() if any(a["activation"] == "tanh" for a in self.arrays) else "0"
        lines = [f"VN_HOT_TEXT static void {sym}_block({sym}_state_t *s, const float *x, float *y, const uint32_t m) {{",
                 f"  uint32_t xw[{B}] __attribute__((aligned(8))); /* (x, 0): the mixers' input pair */",
                 f"  int32_t acc[{B}] __attribute__((aligned(8)));",
                 f"  int16_t out[{B * widest}] __attribute__((aligned(8)));",
                 f"  uint32_t p[{B * max(split, 2) // 2}] __attribute__((aligned(8)));",
                 f"  const int16_t *tm = {tm};",
                 "  VN_Q15_OPAQUE(tm);",
                 "  for (uint32_t j = 0; j < m; ++j) {",
                 f"    xw[j] = (uint16_t)vn_q15_from_float({in_gain} * x[j], {pow2(gen.fracs['x'])});",
                 f"    acc[j] = {self.y_bias};",
                 "  }"]
        for a, array in enumerate(self.arrays):
            cq, first = self.cqs[a], self.layer_fields[a][0]
            w, b, shift = self.rechannel[a]
            ring, p0 = f"s->ring + {first['ring']}", self.first_pos[a]
            column = f"{ring} + s->pos[{p0}] * {cq}u"
            if a == 0:
                lines.append(f"  vn_nam_input({cq}, {w}, {b}, {shift}, xw, {column}, m);")
            else:
                lines.append(f"  vn_nam_rechannel({self.cqs[a - 1]}, {cq}, {w}, {b}, {shift}, out, {column}, m);")
            lines += [f"  vn_q15_ring_mirror({ring}, s->pos[{p0}], m, {first['capacity']}, {B}u, {cq}u);",
                      f"  {sym}_array{a}(s, xw, acc, {'0' if a + 1 == len(self.arrays) else 'out'}, p, m, tm);"]
        lines += [f"  for (uint32_t j = 0; j < m; ++j) {{",
                  f"    y[j] = {out_gain} * ((float)acc[j] * {scale});", "  }", "}", ""]
        process = ["  while (n > 0u) { /* in and out may alias: a sub-block reads all its input first */",
                   f"    const uint32_t m = n < {B}u ? n : {B}u;",
                   f"    {sym}_block(s, in, out, m);",
                   "    in += m;", "    out += m;", "    n -= m;", "  }"]
        return "\n".join(functions + lines), "\n".join(process)
