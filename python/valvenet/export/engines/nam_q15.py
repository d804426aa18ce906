"""The NAM WaveNet's int16 engine, layer-major (NamBlocks): `process` cuts its input into
sub-blocks of SUB_BLOCK samples and runs each layer over the whole sub-block before the next; the
kernels are firmware/nn/nam_q15.h's, generic over the channel count (one instantiation per
width, the weights and formats in a vn_nam_layer_t per layer), so the hot code stays small.

Arithmetic, per layer array a, layer l, sample t (x: the raw input, Q f_x):
  h_0   = sat16((b + W_in . input) >> s)            (array 0: the input x; later arrays: the
          previous array's output; the rounding in the bias, one rounding)
  z     = b_conv + W_conv . (the k dilated taps of h_l) + w_mix x      (int32, one format)
  p_l   = activation(z): tanh from the gate's table (index = SSAT(z >> s), its rounding in the
          bias; Q15), the others in float, to Q f_p (requantised, as before)
  h_l+1 = sat16(h_l + sat16((b_res + W_res . p_l) >> 14))  (one rounding, in the bias; h
          added exactly, two channels a word: QADD16 on the M7)
  y     = head_scale * 2^-A (b_y + sum over every array and layer of v_a . p_a,l)
The head is folded like the gated WaveNet's skips: array a's head sum reaches y through the
linear maps of its own head and every later array's (their heads are 1x1 products; the next
array's head sum starts at this array's head), so v_a = W_head,last ... W_head,a (a row,
since the last head has one output) and b_y collects the head biases through the same maps.
One int32 accumulator per sample, exact (the fold row is quantised so that no input can
overflow it), no head sum or head product at run time.

Formats: the calibrated ones (model metadata), except that every h of a layer array shares
one (the finest that all the array's calibrated h formats and every residual's overflow
bound allow; never finer than the accumulator it is rounded from), so the residual's shift
is the constant RES_SHIFT, and every tanh conv of an array shares one accumulator format (the
coarsest of their own), so the table index's shift is a constant of the kernel: both are
SSAT immediates on the M7. Layers of up to FUSED_MAX channels (padded to even) run conv and
residual in one pass; wider ones in two (nam_q15.h). Each sample's integer arithmetic does not
depend on the sub-block or tile it falls in, so the output is the same for any block size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from valvenet.export.c_text import (CodegenError, c_float, even, float_array, int_array, knob_defaults, pow2,
                                    set_knobs_function)
from valvenet.export.engines.q15_arith import ACC_LIMIT, GATE_TANH, quantise_columns
from valvenet.export.engines.q15_engine import Q15Generator
from valvenet.models import knobs

HEADER = "firmware/nn/nam_q15.h"
ACTIVATION_ENUM = {"tanh": "VN_NAM_TANH", "hardtanh": "VN_NAM_HARDTANH", "relu": "VN_NAM_RELU",
                   "softsign": "VN_NAM_SOFTSIGN", "fasttanh": "VN_NAM_FASTTANH", "leakyrelu": "VN_NAM_LEAKYRELU"}
FUSED_MAX = 6  # padded channels up to which conv and residual run in one pass, all rows at once
# (8, 12 and 16: sample by sample in 4-row LDM tiles; nam_q15.h vn_nam_layer_groups)
RES_SHIFT = 14  # nam_q15.h's VN_NAM_RES_SHIFT: the residual's accumulator has 14 bits more than h
# Samples per sub-block: the pedal's 1 ms block at 48 kHz. Each layer's setup (its taps, the
# ring mirror, the tile loop's entry) is paid once per sub-block: 48 rather than the float
# engines' 16 cut ~100 instructions per sample (nano), for 64 more ring columns per layer.
SUB_BLOCK = 48


def quantise_at(weight: np.ndarray, bias: np.ndarray, f_cols: list[int],
                acc: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(int16 weights, int32 biases) of a product at accumulator format `acc`, or None where a
    weight does not fit an int16 or some input could overflow the accumulator."""
    scaled = np.asarray(weight, np.float64) * np.exp2(acc - np.asarray(f_cols, np.int64))
    wq = np.floor(scaled + 0.5)
    bq = np.floor(np.asarray(bias, np.float64) * 2.0 ** acc + 0.5)
    if np.any(np.abs(wq) > 32767) or float(np.max(np.sum(np.abs(wq), axis=1) * 32768.0 + np.abs(bq),
                                                  initial=0.0)) >= ACC_LIMIT:
        return None
    return wq.astype(np.int16), bq.astype(np.int64)


def quantise_rounded(weight: np.ndarray, bias: np.ndarray, f_cols: list[int],
                     f_want: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(int16 weights, int32 biases, accumulator bits A, output bits f) for a product whose
    output is rounded once to an int16 at f = min(f_want, A) bits by acc >> (A - f): the
    rounding (half an output LSB) is in the bias. A is the largest for which no input can
    overflow the accumulator, the rounding term included."""
    acc = quantise_columns(weight, bias, f_cols)[2]
    for a in range(acc, acc - 64, -1):
        f_out = min(f_want, a)
        found = quantise_at(weight, np.asarray(bias) + (2.0 ** (-f_out - 1) if a > f_out else 0.0), f_cols, a)
        if found is not None:
            return found[0], found[1], a, f_out
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
    """The matrix in the top left of a rows x cols zero matrix (channels padded to even)."""
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
        self.act_shift: list[int] = []  # per array: the tanh table index's shift
        self.knob_count = knobs.knob_count(cfg)
        self.knob_defaults = knobs.knob_vector(cfg)
        self.knob_layers: list[list[tuple[np.ndarray, np.ndarray]]] = []  # per array, per layer: (bias, knob rows)
        self.conv_acc: list[int] = []  # per array: the convs' accumulator format
        f_in = gen.fracs["x"]
        for a in range(len(self.arrays)):
            f_in = self.array(a, f_in)
        self.fold()
        gen.includes.append(HEADER)

    # ------------------------------------------------------------------ weights
    def array(self, a: int, f_in: int) -> int:
        """Quantises array a (its input at f_in bits); returns its output's format. Every h of
        the array shares one format (the finest that every calibrated h of the array and
        every residual's accumulator allow), so the residual's shift is the constant
        RES_SHIFT; every tanh conv shares one accumulator format, so the table index's shift is
        a constant of the kernel too (both are immediates of an SSAT on the M7)."""
        gen, t, array, cq = self.gen, self.gen.model.tensors, self.arrays[a], self.cqs[a]
        n = len(array["dilations"])
        names = [f"a{a}.h{i}" for i in range(n + (a + 1 < len(self.arrays)))]
        f_h = min(gen.fracs[name] for name in names)
        cin = 1 if a == 0 else self.cqs[a - 1]
        rech = padded(np.asarray(t[f"array{a}.rechannel.weight"], np.float64).T, cq, cin)
        while True:
            wq, bq, acc, f_h = quantise_rounded(rech, np.zeros(cq), [f_in] * cin, f_h)
            f_ps = [15 if array["activation"] == "tanh" else gen.fracs[f"a{a}.p{i}"] for i in range(n)]
            residuals = [self.residual_weights(a, i, f_h, f_ps[i]) for i in range(n)]
            if all(r is not None for r in residuals):
                break
            if f_h < -16:
                raise CodegenError(f"layer_arrays[{a}]: residual weights too large for the int16 engine")
            f_h -= 1  # a residual's weights need a coarser h: retry the array
        name = f"{self.sym}_a{a}_in"
        gen.arrays += [int_array(f"{name}_w", wq, "int16_t"), int_array(f"{name}_b", bq, "int32_t")]
        gen.formats["accumulators"][f"a{a}_in"] = acc
        self.rechannel.append((f"{name}_w", f"{name}_b", acc - f_h))
        self.first_pos.append(self.layer_count)
        convs = [self.conv_matrix(a, i, f_h) for i in range(n)]
        # Knobs (0..1, as Q15 inputs) bound the accumulator like any input; their product is
        # the conv's bias, rewritten by SYM_set_knobs (the const bias: the defaults').
        knob_rows = [self.knob_rows(a, i) for i in range(n)]
        bounds = [(np.concatenate([w, rows.T], axis=1), b, f + [15] * self.knob_count)
                  for (w, b, f), rows in zip(convs, knob_rows)]
        acc_c = min(quantise_columns(*bound)[2] for bound in bounds)
        self.conv_acc.append(acc_c)
        self.knob_layers.append([(conv[1], rows) for conv, rows in zip(convs, knob_rows)])
        convs = [(w, b + self.knob_defaults @ rows, f) for (w, b, f), rows in zip(convs, knob_rows)]
        if array["activation"] == "tanh" and not 1 <= acc_c - GATE_TANH[0] <= 31:
            raise CodegenError(f"layer_arrays[{a}]: conv weights too large for the int16 tanh table")
        self.act_shift.append(acc_c - GATE_TANH[0] if array["activation"] == "tanh" else 0)
        fields = []
        for i, d in enumerate(array["dilations"]):
            cap = (array["kernel_size"] - 1) * d + SUB_BLOCK
            field = {"ring": f"{self.ring_total}u", "dilation": f"{d}u", "capacity": f"{cap}u"}
            self.ring_total += (cap + SUB_BLOCK) * cq
            self.conv(a, i, convs[i], acc_c, f_ps[i], field)
            self.residual(a, i, residuals[i], f_h, field)
            fields.append(field)
        self.layer_count += n
        self.layer_fields.append(fields)
        self.f_p.append(f_ps)
        return f_h

    def conv_matrix(self, a: int, i: int, f_h: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Layer i's conv and input mixer as (weights, bias, input formats) for quantisation."""
        gen, t, array, cq = self.gen, self.gen.model.tensors, self.arrays[a], self.cqs[a]
        c, k, prefix = array["channels"], array["kernel_size"], f"array{a}.layer{i}"
        wc = np.asarray(t[f"{prefix}.conv.weight"], np.float64)  # (k, in, out)
        conv = np.zeros((cq, k * cq + 2))  # the mixer: one more input pair (x, 0)
        for j in range(k):
            conv[:c, j * cq:j * cq + c] = wc[j].T
        conv[:c, k * cq] = np.asarray(t[f"{prefix}.mixer.weight"], np.float64)[0]
        bias = np.zeros(cq)
        bias[:c] = np.asarray(t[f"{prefix}.conv.bias"], np.float64)
        if array["activation"] == "tanh":  # the table's index rounding (half a step); padded rows: tanh(0) = 0
            bias += 2.0 ** (-GATE_TANH[0] - 1)
        return conv, bias, [f_h] * (k * cq) + [gen.fracs["x"]] * 2

    def knob_rows(self, a: int, i: int) -> np.ndarray:
        """Layer i's knob rows of its input mixer, (knobs, CQ) (empty without knobs)."""
        array, cq = self.arrays[a], self.cqs[a]
        rows = np.zeros((self.knob_count, cq))
        mixer = np.asarray(self.gen.model.tensors[f"array{a}.layer{i}.mixer.weight"], np.float64)
        rows[:, :array["channels"]] = mixer[1:]
        return rows

    def knob_code(self) -> None:
        """A conditioned model's knobs: the layer tables copied into the state (their conv
        biases pointing at the state's `kb`), and SYM_set_knobs, which rewrites `kb` as
        round((bias + knob rows . knobs) 2^acc), in double (the same on the host and the M7,
        -ffp-contract=off). Reset ends with the default knobs."""
        gen, sym, count = self.gen, self.sym, self.knob_count
        total = sum(len(layers) * cq for layers, cq in zip(self.knob_layers, self.cqs))
        gen.state.append(f"int32_t kb[{total}];")
        steps, initial, offset = [], [], 0
        for a, layers in enumerate(self.knob_layers):
            n, cq = len(layers), self.cqs[a]
            gen.state.append(f"vn_nam_layer_t a{a}_layers[{n}];")
            gen.arrays.append(float_array(f"{sym}_a{a}_kbias", np.concatenate([b for b, _ in layers]), aligned=False))
            gen.arrays.append(float_array(f"{sym}_a{a}_knob", np.concatenate([r.reshape(-1) for _, r in layers]),
                                          aligned=False))
            initial.append(f"memcpy(s->a{a}_layers, {sym}_a{a}_layers, sizeof s->a{a}_layers);")
            initial += [f"s->a{a}_layers[{i}].conv_b = s->kb + {offset + i * cq}u;" for i in range(n)]
            steps.append(f"""for (uint32_t l = 0; l < {n}u; ++l) {{
    for (uint32_t r = 0; r < {cq}u; ++r) {{
      double b = (double){sym}_a{a}_kbias[l * {cq}u + r];
      for (uint32_t i = 0; i < {count}u; ++i) {{
        b += (double){sym}_a{a}_knob[(l * {count}u + i) * {cq}u + r] * (double)k[i];
      }}
      s->kb[{offset}u + l * {cq}u + r] = (int32_t)floor(b * {float(2.0 ** self.conv_acc[a])!r} + 0.5);
    }}
  }}""")
            offset += n * cq
        array, apply = knob_defaults(sym, gen.model.config, aligned=False)
        gen.arrays.append(array)
        gen.header_includes.append(HEADER)  # the state holds vn_nam_layer_t tables
        gen.initial_state = "\n  ".join(initial + [apply])
        gen.knob_function = set_knobs_function(sym, count, steps)

    def conv(self, a: int, i: int, conv: tuple[np.ndarray, np.ndarray, list[int]], acc: int, f_p: int,
             field: dict[str, str]) -> None:
        """Layer i's conv at accumulator format acc (p at f_p bits)."""
        found = quantise_at(*conv, acc)
        assert found is not None  # acc is at most every conv's own largest
        name = f"{self.sym}_a{a}_l{i}_conv"
        self.gen.arrays += [int_array(f"{name}_w", row_groups(found[0]), "int16_t"),
                            int_array(f"{name}_b", found[1], "int32_t")]
        self.gen.formats["accumulators"][f"a{a}_l{i}_conv"] = acc
        field |= {"conv_w": f"{name}_w", "conv_b": f"{name}_b"}
        if self.arrays[a]["activation"] == "tanh":
            field |= {"act_in": "0.0f", "act_out": "0.0f"}
        else:
            field |= {"act_in": pow2(-acc), "act_out": pow2(f_p)}

    def residual_weights(self, a: int, i: int, f_h: int, f_p: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Layer i's residual at accumulator format f_h + RES_SHIFT, h in and out at f_h bits
        (h * 2^RES_SHIFT kept as a virtual column in the overflow bound: conservative now that
        h is added after the shift, and it keeps the formats of existing models; the
        output's rounding in the bias); None where the weights do not fit that format. A
        layer without residual (the last one) gives empty arrays."""
        t, array, cq = self.gen.model.tensors, self.arrays[a], self.cqs[a]
        c, prefix = array["channels"], f"array{a}.layer{i}"
        if f"{prefix}.residual.weight" not in t:
            return np.zeros(0, np.int16), np.zeros(0, np.int64)
        res = np.zeros((cq, cq + 1))
        res[:c, :c] = np.asarray(t[f"{prefix}.residual.weight"], np.float64).T
        res[:, cq] = 1.0
        bias = np.zeros(cq)
        bias[:c] = np.asarray(t[f"{prefix}.residual.bias"], np.float64)
        found = quantise_at(res, bias + 2.0 ** (-f_h - 1), [f_p] * cq + [f_h], f_h + RES_SHIFT)
        return None if found is None else (found[0][:, :cq], found[1])

    def residual(self, a: int, i: int, weights: tuple[np.ndarray, np.ndarray], f_h: int,
                 field: dict[str, str]) -> None:
        """Layer i's residual arrays into the model (none for a layer without residual)."""
        if not weights[0].size:
            field |= {"res_w": "0", "res_b": "0"}
            return
        name = f"{self.sym}_a{a}_l{i}_res"
        self.gen.arrays += [int_array(f"{name}_w", row_groups(weights[0]), "int16_t"),
                            int_array(f"{name}_b", weights[1], "int32_t")]
        self.gen.formats["accumulators"][f"a{a}_l{i}_res"] = f_h + RES_SHIFT
        field |= {"res_w": f"{name}_w", "res_b": f"{name}_b"}

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
        order = ["conv_w", "conv_b", "res_w", "res_b", "fold_w", "act_in", "act_out", "ring", "dilation", "capacity"]
        for a, fields in enumerate(self.layer_fields):
            entries = ",\n".join("  {" + ", ".join(f".{key} = {f.get(key, '0')}" for key in order) + "}" for f in fields)
            self.tables.append(f"static const vn_nam_layer_t {self.sym}_a{a}_layers[{len(fields)}] VN_HOT_RODATA = {{\n"
                               f"{entries}\n}};\n")

    # ------------------------------------------------------------------ code
    def kernels(self) -> tuple[list[str], dict[tuple[int, int, str, int, bool], str]]:
        """The kernels' instantiations, one per (width, activation, residual or not) in use:
        (their C, the name of each)."""
        code, names = [], {}
        last = len(self.arrays) - 1
        for a, array in enumerate(self.arrays):
            cq, k, act, shift = self.cqs[a], array["kernel_size"], ACTIVATION_ENUM[array["activation"]], self.act_shift[a]
            fused = cq <= FUSED_MAX
            for res in ((True, False) if (a == last and fused) else (True,)):
                key = (cq, k, array["activation"], shift, res)
                if key in names:
                    continue
                name = f"{self.sym}_layer{len(names)}"
                names[key] = name
                if fused:
                    call = f"vn_nam_layer_fused({cq}, {k}, {act}, {shift}, {int(res)}, L, t, x, next, y, m, tm);"
                    params = ""
                else:
                    call = f"vn_nam_layer_split({cq}, {k}, {act}, {shift}, L, t, x, p, next, y, m, tm);"
                    params = "uint32_t *restrict p, "
                code.append(f"/* layers of {array['channels']} channels (padded {cq}), kernel {k}, "
                            f"{array['activation']}{'' if res else ', no residual'} */\n"
                            f"VN_HOT_TEXT static void {name}(const vn_nam_layer_t *L, const int16_t *const *t, "
                            f"const uint32_t *x, {params}int16_t *next, int32_t *y, const uint32_t m, "
                            f"const int16_t *tm) {{\n  {call}\n}}\n")
        return code, names

    def array_function(self, a: int, names: dict[tuple[int, int, str, int, bool], str]) -> str:
        """C: sym_arrayA, every layer of array a over the sub-block (a loop over its table)."""
        array, cq, sym = self.arrays[a], self.cqs[a], self.sym
        k, n, p0 = array["kernel_size"], len(array["dilations"]), self.first_pos[a]
        last_array = a + 1 == len(self.arrays)
        key = (cq, k, array["activation"], self.act_shift[a])
        name = names[key + (True,)]
        scratch = "p, " if cq > FUSED_MAX else ""
        call = f"{name}(L, t, x, {scratch}next, y, m, tm);"
        if last_array and cq <= FUSED_MAX:
            call = f"if (last) {{\n      {names[key + (False,)]}(L, t, x, next, y, m, tm);\n    }} else {{\n      {call}\n    }}"
        return f"""VN_HOT_TEXT static void {sym}_array{a}({sym}_state_t *s, const uint32_t *x, int32_t *y, int16_t *out,
    uint32_t *p, const uint32_t m, const int16_t *tm) {{
  const vn_nam_layer_t *L = {f"s->a{a}_layers" if self.knob_count else f"{sym}_a{a}_layers"};
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
      vn_q15_ring_mirror(s->ring + L[1].ring, s->pos[{p0 + 1}u + l], m, L[1].capacity, {SUB_BLOCK}u, {cq}u);
    }}
    s->pos[{p0}u + l] = pos + m >= L->capacity ? pos + m - L->capacity : pos + m;
  }}
}}
"""

    def text(self, in_gain: str, out_gain: str) -> tuple[str, str]:
        """(the model's tables, kernels and block function, the body of process)."""
        gen, sym, B = self.gen, self.sym, SUB_BLOCK
        gen.state += [f"int16_t ring[{self.ring_total}] __attribute__((aligned(8)));", f"uint32_t pos[{self.layer_count}];"]
        if self.knob_count:
            self.knob_code()
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
