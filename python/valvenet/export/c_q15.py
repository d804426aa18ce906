"""The int16 (Q15-style fixed point) C engine: generator and host wrapper.

Formats: every tensor has a power-of-two scale, stored as its number of fractional bits f
(value = int16 / 2^f). Weights get theirs from their own range, activations from
calibration data (valvenet.models.calibrate: the float oracle run on calibration audio;
the model file's metadata["int16_scales"] holds them once calibrated). Products are
int16 x int16 -> int32, two per instruction (SMLAD on the Cortex-M7, the bit-identical
portable path elsewhere: firmware/nn/q15.h); weights and inputs are laid out as int16 pairs,
input vectors padded to even length.

Matrices: one int32 accumulator format per matrix, A fractional bits. An input vector may
mix formats (the NAM conv reads h and the raw input x; the LSTM reads h and x): column j,
whose input has f_j fractional bits, holds its weights at A - f_j bits, so every product
lands at A bits. A is the largest for which every weight fits an int16 and, for every row,
sum |w_q| * 32768 + |bias_q| < 2^31: no input whatever can overflow the accumulator.

Gate of the gated WaveNet IN FIXED POINT: tanh(a) * sigmoid(b) from two tables without
interpolation (gate_tables: tanh in Q15, 4,096 entries on [-4, 4); sigmoid in Q16, 2,048 on
[-8, 8)), the Q31 product's top half is the gate in Q15; within 1.31e-3 of the exact gate.
Five instructions a gate on the M7 (two SSATs with a shift give the indices, two loads, a
multiply) and half a PKHTB. It was 30 with the interpolated vn_q15_tanh (below), the engine's
hottest non-MAC work (2C activations per layer per sample); docs/int16.md has the steps.

NAM's tanh uses the gate's tanh table the same way (the index rounding in the conv bias; error
<= 9.9e-4 within [-4, 4), 6.7e-4 beyond; Q15 out whatever the calibration says: |tanh| < 1).
The LSTM's gates and tanh(c) and the GRU's z and r gates use vn_q15_tanh, a 513-entry int16
table of tanh on [-8, 8] with linear interpolation (firmware/nn/q15.h; error < 1.25e-4): a
recurrence integrates its errors, so they keep the finer one.
IN FLOAT: NAM's other activations (hardtanh, relu, softsign), the LSTM cell update
c = f c + i g and the GRU's candidate tanh and mix, from the dequantised values (one multiply
by a power of two; vn_tanh from firmware/nn/activations.h), then requantised (round,
saturate). Float keeps the cells' recurrences free of fixed-point drift; they are H per
sample against the matrices' 4H^2.

Matrix-vector products run four rows at a time (vn_q15_dot4, or the gated WaveNet's tiles:
each input word loaded once for four SMLADs; weights stored interleaved for it) and read a
layer's taps where they lie in its ring (no copies of the taps; the new column is stored once). Rescaling is 32-bit (rounding shift, SSAT) wherever it cannot
overflow, int64 elsewhere (left shifts, the NAM head sum).

Gated WaveNet (GatedBlocks: layer-major sub-blocks, 4 x 2 register tiles), per layer l:
  acc  = bias + W_conv . (the k taps of h_l, Q f_h[l])           (int32; the bias holds the
         tables' index rounding)
  gate = tanh(acc_a) * sigmoid(acc_b) from the tables (above), Q15
  h_{l+1} = h_l + (bias + W_res . gate) to Q f_h[l+1]            (the rounding in the bias)
  y    = (b_out + sum_l W_out_l b_res_l) + sum_l (W_out_l W_res_l) . gate_l   (the skips folded
         into one output row over every layer's gates, one accumulator; no skip is stored)
NAM WaveNet, per layer array a, per layer l (x: the raw input, Q f_x):
  acc  = bias + W_conv . [taps of h_l, x]    (the input mixer is one more column)
  p_l  = activation(acc) (tanh: the table lookup, Q15; others in float, to Q f_p[l]);  sum += p_l (int64, exact)
  h_{l+1} = h_l + (bias + W_res . p_l) to Q f_h[l+1]
  head = bias + W_head . (sum to Q f_s); the next array's sum starts at this head (exact),
  the last array's head times head_scale is the output.
LSTM: acc = bias + [R | k] . [h, x] (4H rows); gates from the table; the cell c is kept as an
  int32 with 16 more fractional bits than an int16 would have (calibrated range): it
  integrates over many samples, so its rounding is kept far below the output's; h is Q15
  (|o * tanh(c)| < 1, both Q15). y = dense . h (+ x: the skip adds the float input itself).
GRU: acc = [R_zr | k_zr] . [h, x] + biases for z and r, R_h . h + b_h for the recurrent
  candidate part, k_h * x + b_h' for its input part (separate: the reset gate multiplies
  only the recurrent part); h is Q15 (a convex mix of itself and a tanh).

The gated WaveNet runs layer-major over sub-blocks of SUB_BLOCK samples; the other engines
step sample by sample. Either way each sample's integer arithmetic is the same whatever the
block it falls in, so the output is the same for any block size. Not yet: the layer-major
schedule for the NAM WaveNet.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any

import numpy as np

from valvenet.export import c_code
from valvenet.export.c_host import CEngine, compile_sources
from valvenet.models.calibrate import frac_bits, scales as calibrate_scales, stored_scales
from valvenet.models.model_file import INT16_SUFFIX, ModelFile
from valvenet.models import config as model_config

ACC_LIMIT = 2 ** 31 - 1
MAX_WEIGHT_FRAC = 30
KINDS = ("gated_wavenet", "nam_wavenet", "lstm", "gru")


def _even(n: int) -> int:
    return n + (n & 1)


def quantise_columns(weight: np.ndarray, bias: np.ndarray | None,
                     f_cols: np.ndarray | list[int] | int) -> tuple[np.ndarray, np.ndarray, int]:
    """(int16 weights, int32 biases, accumulator fractional bits A) for rows x inputs `weight`
    whose input j has f_cols[j] fractional bits: weights of column j at A - f_cols[j] bits,
    A the largest for which no accumulator can overflow (see the module docstring)."""
    weight = np.asarray(weight, np.float64)
    rows, cols = weight.shape
    f_cols = np.broadcast_to(np.asarray(f_cols, np.int64), (cols,))
    bias = np.zeros(rows) if bias is None else np.asarray(bias, np.float64)
    peaks = np.max(np.abs(weight), axis=0) if rows else np.zeros(cols)
    acc = min((min(MAX_WEIGHT_FRAC, frac_bits(float(p), 1.0)) + int(f) for p, f in zip(peaks, f_cols) if p > 0),
              default=MAX_WEIGHT_FRAC + int(np.max(f_cols, initial=0)))
    while True:
        wq = np.clip(np.floor(weight * np.exp2(acc - f_cols) + 0.5), -32768, 32767)
        bq = np.floor(bias * 2.0 ** acc + 0.5)
        worst = np.sum(np.abs(wq), axis=1) * 32768.0 + np.abs(bq)
        if worst.size == 0 or float(np.max(worst)) < ACC_LIMIT:
            return wq.astype(np.int16), bq.astype(np.int64), acc
        acc -= 1


def quantise_matrix(weight: np.ndarray, bias: np.ndarray | None, f_in: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(int16 weights, int32 biases, weight fractional bits) when every input has f_in bits."""
    wq, bq, acc = quantise_columns(weight, bias, f_in)
    return wq, bq, acc - f_in


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


def _to_q15(acc: str, acc_frac: int, frac: int, wide: bool = False) -> str:
    """C: an accumulator at acc_frac bits, rounded and saturated to an int16 at frac bits
    (in 32 bits but when `wide`: an int64 sum, or a left shift that could overflow)."""
    shift = acc_frac - frac
    if wide or not 0 <= shift <= 31:
        return f"vn_q15_sat(vn_q_shift({acc}, {shift}))"
    return f"vn_q15_sat32({f'vn_q_rshift32({acc}, {shift})' if shift else acc})"


def _add_residual(r: str, r_frac: int, h: str, h_frac: int, out_frac: int) -> str:
    """C: h + r (an int32 accumulator) to an int16 at out_frac bits. In 32 bits, r and h are
    each rounded to out_frac bits first (two roundings: at most 1 LSB off the exact sum's
    rounding); int64 where 32 bits could overflow (r not shifted down at least one bit, h
    shifted up more than 14) or a shift would reach 32."""
    if not (1 <= r_frac - out_frac <= 31 and out_frac - h_frac <= 14 and h_frac - out_frac <= 31):
        big = max(r_frac, h_frac)
        return (f"vn_q15_sat(vn_q_shift(vn_q_shift({r}, {r_frac - big}) + vn_q_shift({h}, {h_frac - big}), "
                f"{big - out_frac}))")
    return f"vn_q15_sat32(vn_q_rshift32({r}, {r_frac - out_frac}) + {_int32_at(h, h_frac, out_frac)})"


def _int32_at(h: str, h_frac: int, out_frac: int) -> str:
    """C: the int16 h (h_frac bits) as an int32 at out_frac bits (rounded down-shift, or exact
    up-scaling by a power of two)."""
    if h_frac > out_frac:
        return f"vn_q_rshift32({h}, {h_frac - out_frac})"
    if h_frac < out_frac:
        return f"(int32_t){h} * {2 ** (out_frac - h_frac)}"
    return f"(int32_t){h}"


def _to_q20(acc: str, acc_frac: int, halve: bool = False) -> str:
    """C: an accumulator at acc_frac bits as vn_q15_tanh's input (20 fractional bits; with
    `halve`, half the value: tanh(x/2) gives the sigmoid). Truncated, not rounded: 2^-20 is
    far below the table's own error, and it saves two instructions per activation."""
    shift = acc_frac - 20 + int(halve)
    if shift > 0:  # beyond 31, floor(acc / 2^shift) is 0 or -1: acc >> 31 (|acc| < 2^31)
        return f"({acc} >> {min(shift, 31)})"
    if shift == 0:
        return acc
    return f"vn_q_sat24((int64_t){acc} * {2 ** -shift})"


def tanh_table() -> np.ndarray:
    """vn_q15_tanh's table (firmware/nn/q15.h): round(tanh(-8 + i/32) * 2^15), saturated."""
    x = -8.0 + np.arange(513) / 32.0
    return np.clip(np.floor(np.tanh(x) * 32768.0 + 0.5), -32768, 32767).astype(np.int16)


def required_scales(config: dict[str, Any]) -> list[str]:
    """The calibrated tensors (calibrate.py's names) the int16 engine of this config needs."""
    kind = config["kind"]
    if kind == "gated_wavenet":
        n = len(config["dilations"])
        return ["x"] + [f"h{i}" for i in range(n)] + [f"r{i}" for i in range(n)]
    if kind == "nam_wavenet":
        names = ["x"]
        arrays = config["layer_arrays"]
        for a, array in enumerate(arrays):
            n = len(array["dilations"])
            names += [f"a{a}.h{i}" for i in range(n + (a + 1 < len(arrays)))]
            names += [f"a{a}.p{i}" for i in range(n)] + [f"a{a}.s"]
        return names
    if kind == "lstm":
        return ["x", "c"]
    return ["x"]



SUB_BLOCK = 16  # samples per sub-block of the gated WaveNet (layer-major, as the float engine)
GATE_TANH = (9, 12)  # tanh table: index round(a * 2^9) saturated to 12 bits (4,096 entries, [-4, 4))
GATE_SIGMOID = (7, 11)  # sigmoid table: index round(b * 2^7), 11 bits (2,048 entries, [-8, 8))


def gate_tables() -> tuple[np.ndarray, np.ndarray]:
    """The gated WaveNet's gate tables, no interpolation: tanh(i / 2^k) in Q15 (int16) and
    sigmoid(i / 2^k) in Q16 (uint16: sigmoid < 1), i from -2^(n-1) to 2^(n-1) - 1, rounded and
    saturated. The index rounds the value to the table's step, so each table's error is at
    most half a step times its slope (tanh: 2^-10 * 1, sigmoid: 2^-8 / 4: both 9.8e-4) plus the
    entry's rounding (2^-16, 2^-17); beyond the ranges, the saturation's (1 - tanh(4) = 6.7e-4,
    1 - sigmoid(8) = 3.4e-4). The gate tanh(a) * sigmoid(b) from them, truncated to Q15: within
    1.31e-3 of the exact gate (tests/python/test_c_q15.py), against 1.25e-4 per activation for
    the interpolated vn_q15_tanh; wavenet-10x8's ESR against the float oracle went from about
    1e-6 to 2e-5 (the bound: 1e-3)."""
    kt, nt = GATE_TANH
    i = np.arange(-2 ** (nt - 1), 2 ** (nt - 1), dtype=np.float64)
    tanh = np.clip(np.floor(np.tanh(i * 2.0 ** -kt) * 32768.0 + 0.5), -32768, 32767).astype(np.int16)
    ks, ns = GATE_SIGMOID
    i = np.arange(-2 ** (ns - 1), 2 ** (ns - 1), dtype=np.float64)
    sig = np.clip(np.floor(65536.0 / (1.0 + np.exp(-i * 2.0 ** -ks)) + 0.5), 0, 65535).astype(np.uint16)
    return tanh, sig


def _table_index(acc: str, acc_frac: int, step_bits: int, bits: int) -> str:
    """C: the table index of an accumulator at acc_frac bits whose bias holds the rounding
    offset (half a step): floor(acc / 2^(acc_frac - step_bits)), saturated to `bits` bits."""
    shift = acc_frac - step_bits
    if shift >= 1:
        return f"VN_Q_INDEX({acc}, {shift}, {bits})"
    return f"vn_q_index_up({acc}, {-shift}, {bits})"


class GatedBlocks:
    """The gated WaveNet's int16 engine, layer-major: `process` cuts its input into sub-blocks
    of SUB_BLOCK samples and runs each layer over the whole sub-block before the next.

    - Every layer input lives in a mirrored ring (firmware/nn/q15.h, vn_q15_ring_mirror):
      the k taps of a sub-block are k contiguous arrays of columns (cq int16 per sample, the
      channels padded to a multiple of 4).
    - Products in register tiles of 4 rows x 2 samples: each weight word loaded feeds two
      samples' SMLADs, each input word four rows'.
    - The gate from two tables without interpolation (gate_tables): tanh(a) (Q15) times
      sigmoid(b) (Q16) is a Q31 product whose top half is the gate in Q15 (truncated); two
      channels' gates packed into one word (PKHTB). The tables' index rounding is folded into
      the convolution's bias (half a step), so the index is one SSAT with a shift.
    - The skips are folded into the output: y = b_out + sum_l W_out_l (W_res_l g_l + b_res_l)
      = (b_out + sum_l W_out_l b_res_l) + sum_l (W_out_l W_res_l) g_l, one int32 accumulator
      per sample over every layer's gates (one row, one format). The last layer needs no
      residual at all.
    - The residual's rounding (half an LSB of h) is folded into its bias too: h_{l+1} =
      SSAT((r >> s) + h_l), the same value as the rounded shift.

    Each sample's integer arithmetic does not depend on the sub-block or the tile it falls in
    (integer sums: exact, in any order), so the output is the same for any block size."""

    def __init__(self, gen: Any) -> None:
        self.gen = gen
        cfg, t, fr = gen.model.config, gen.model.tensors, gen.fracs
        c, k, dils = cfg["channels"], cfg["kernel_size"], list(cfg["dilations"])
        n = len(dils)
        cq = -(-c // 4) * 4
        gw = cq // 2  # gate words per sample
        self.c, self.k, self.dils, self.n, self.cq, self.gw = c, k, dils, n, cq, gw
        sym, B = gen.sym, SUB_BLOCK
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
        gen.arrays.append(_int_array(f"{sym}_gate_sigmoid", sig, "uint16_t"))
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
                return _to_q15(acc, a_in, f_h[0])
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
        gen.arrays.append(_int_array(f"{sym}_fold_w", fq, "int16_t"))
        gen.formats["accumulators"]["out"] = self.a_out
        for i in range(n):
            self.conv(i, f_h[i])
            self.mix(i)
            if i + 1 < n:
                self.residual(i, f_h[i], f_h[i + 1])

    def tile(self, samples: int, words: int, weight: str, word: Any, bias: str) -> list[str]:
        """C: accumulators a{s}_{r} (4 rows r, `samples` samples s) = bias + W . input, where
        word(s, p) is the C expression of sample s's input pair p; weights interleaved by pair
        (4 row words per pair) from `weight`."""
        lines = [f"int32_t a{s}_{r} = {bias}[{r}];" for s in range(samples) for r in range(4)]
        for p in range(words):
            lines += [f"{{ const uint32_t x{s} = {word(s, p)};" if s == 0 else f"  const uint32_t x{s} = {word(s, p)};"
                      for s in range(samples)]
            for r in range(0, 4, 2):
                lines.append(f"  uint32_t w{r}, w{r + 1};")
                lines.append(f"  vn_q15_words2({weight} + {8 * p + 2 * r}u, &w{r}, &w{r + 1});")
                lines += [f"  a{s}_{r + h} = vn_q15_smlad(w{r + h}, x{s}, a{s}_{r + h});" for h in range(2) for s in range(samples)]
            lines[-1] += " }"
        return lines

    def loops(self, groups: int, setup: list[str], body: Any) -> list[str]:
        """C: for each group of 4 rows, pairs of samples, then the odd last sample."""
        lines = [f"for (uint32_t q = 0; q < {groups}u; ++q) {{", *("  " + x for x in setup),
                 "  uint32_t j = 0;", "#pragma GCC unroll 1", "  for (; j + 2u <= m; j += 2u) {", "    VN_Q15_OPAQUE(w);"]
        lines += ["    " + x for x in body(2)] + ["  }", "  if (j < m) {"] + ["    " + x for x in body(1)] + ["  }", "}"]
        return lines

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
        wq = wq.reshape(gw, 4, k * cq // 2, 2).transpose(0, 2, 1, 3)
        gen.arrays += [_int_array(f"{sym}_l{i}_conv_w", wq, "int16_t"), _int_array(f"{sym}_l{i}_conv_b", bq, "int32_t")]
        gen.formats["accumulators"][f"l{i}_conv"] = acc
        ta = [_table_index(f"a{r}", acc, kt, nt) for r in range(2)]
        sb = [_table_index(f"b{r}", acc, ks, ns) for r in range(2)]
        self.functions.append(
            f"static inline uint32_t {sym}_gate{i}(const int16_t *tanh_mid, const uint16_t *sig_mid,\n"
            "                                  const int32_t a0, const int32_t a1, const int32_t b0, const int32_t b1) {\n"
            f"  const int32_t p0 = (int32_t)tanh_mid[{ta[0]}] * (int32_t)sig_mid[{sb[0]}];\n"
            f"  const int32_t p1 = (int32_t)tanh_mid[{ta[1]}] * (int32_t)sig_mid[{sb[1]}];\n"
            "  return vn_q15_pack_top(p1, p0);\n}\n")
        words = k * cq // 2
        taps = ", ".join(f"const int16_t *const t{j}" for j in range(k))

        def word(s: int, p: int) -> str:
            j, pp = divmod(p, cq // 2)
            return f"vn_q15_word(t{j} + (j + {s}u) * {cq}u + {2 * pp}u)"

        def body(samples: int) -> list[str]:
            lines = self.tile(samples, words, "w", word, "b")
            return lines + [f"g[(j + {s}u) * {gw}u + q] = {sym}_gate{i}(tm, sm, a{s}_0, a{s}_1, a{s}_2, a{s}_3);"
                            for s in range(samples)]

        setup = [f"const int16_t *w = {sym}_l{i}_conv_w + q * {4 * k * cq}u;",
                 f"const int32_t *const b = {sym}_l{i}_conv_b + 4u * q;",
                 f"const int16_t *tm = {self.tanh_mid};",  # opaque: the offset stays in the base
                 f"const uint16_t *sm = {self.sig_mid};",
                 "VN_Q15_OPAQUE(tm);", "VN_Q15_OPAQUE(sm);"]
        self.functions.append(f"VN_HOT_TEXT static void {sym}_conv{i}({taps}, uint32_t *restrict g, const uint32_t m) {{\n"
                              + "\n".join("  " + x for x in self.loops(gw, setup, body)) + "\n}\n")

    def mix(self, i: int) -> None:
        sym, cq, gw = self.gen.sym, self.cq, self.gw
        lines = [f"VN_HOT_TEXT static void {sym}_mix{i}(const uint32_t *restrict g, int32_t *restrict y, const uint32_t m) {{"]
        lines += [f"  const uint32_t f{p} = vn_q15_word({sym}_fold_w + {i * cq + 2 * p}u);" for p in range(gw)]
        lines += ["#pragma GCC unroll 1", f"  for (uint32_t j = 0; j < m; ++j, g += {gw}u) {{", "    int32_t a = y[j];"]
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
        wq = wq.reshape(cq // 4, 4, gw, 2).transpose(0, 2, 1, 3)
        gen.arrays += [_int_array(f"{sym}_l{i}_res_w", wq, "int16_t"), _int_array(f"{sym}_l{i}_res_b", bq, "int32_t")]
        gen.formats["accumulators"][f"l{i}_res"] = acc

        def update(r: str, h: str) -> str:
            if not fast:
                return _add_residual(r, acc, h, f_h, f_out)
            return f"vn_q15_sat32(({r} >> {shift}) + {_int32_at(h, f_h, f_out)})"

        def body(samples: int) -> list[str]:
            lines = self.tile(samples, gw, "w", lambda s, p: f"g[(j + {s}u) * {gw}u + {p}u]", "b")
            for s in range(samples):
                for r in range(4):
                    at = f"(j + {s}u) * {cq}u + 4u * q + {r}u"
                    lines.append(f"out[{at}] = {update(f'a{s}_{r}', f'h[{at}]')};")
            return lines

        setup = [f"const int16_t *w = {sym}_l{i}_res_w + q * {4 * cq}u;",
                 f"const int32_t *const b = {sym}_l{i}_res_b + 4u * q;"]
        self.functions.append(
            f"VN_HOT_TEXT static void {sym}_res{i}(const uint32_t *restrict g, const int16_t *h, int16_t *out, const uint32_t m) {{\n"
            + "\n".join("  " + x for x in self.loops(cq // 4, setup, body)) + "\n}\n")

    def text(self, in_gain: str, out_gain: str) -> tuple[str, str]:
        """(the model's functions and its block function, the body of process)."""
        gen, sym, B, cq, gw, k, n = self.gen, self.gen.sym, SUB_BLOCK, self.cq, self.gw, self.k, self.n
        lines = [f"VN_HOT_TEXT static void {sym}_block({sym}_state_t *s, const float *x, float *y, const uint32_t m) {{",
                 f"  uint32_t g[{B * gw}] __attribute__((aligned(8)));",
                 f"  int32_t acc[{B}];",
                 "  {",
                 f"    int16_t *h = s->ring + s->pos[0] * {cq}u;",
                 f"    for (uint32_t j = 0; j < m; ++j, h += {cq}u) {{",
                 f"      const int16_t xq = vn_q15_from_float({in_gain} * x[j], {_pow2(gen.fracs['x'])});",
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
        lines += [f"  for (uint32_t j = 0; j < m; ++j) y[j] = {out_gain} * ((float)acc[j] * {_pow2(-self.a_out)});", "}", ""]
        process = [f"  while (n > 0u) {{ /* in and out may alias: a sub-block reads all its input first */",
                   f"    const uint32_t m = n < {B}u ? n : {B}u;",
                   f"    {sym}_block(s, in, out, m);",
                   "    in += m;", "    out += m;", "    n -= m;", "  }"]
        return "\n".join(self.functions + lines), "\n".join(process)


class Q15Generator:
    def __init__(self, model: ModelFile, symbol: str, fracs: dict[str, int]) -> None:
        kind = model.config["kind"]
        if kind not in KINDS:
            raise c_code.CodegenError(f"the int16 engine does not support {kind} models")
        if kind == "gated_wavenet" and model.config.get("activation", "tanh") != "tanh":
            raise c_code.CodegenError("the int16 gated WaveNet supports tanh x sigmoid gates only")
        if kind == "nam_wavenet":
            for a, array in enumerate(model.config["layer_arrays"]):
                if array["activation"] not in c_code.ACTIVATION_EXPRESSION:
                    raise c_code.CodegenError(f"layer_arrays[{a}]: no int16 engine for activation {array['activation']!r}")
        missing = [name for name in required_scales(model.config) if name not in fracs]
        if missing:
            raise c_code.CodegenError(f"model {model.name!r}: int16 scales lack {', '.join(missing[:6])}"
                                      " (calibrate again: valvenet.models.calibrate)")
        self.model, self.sym, self.fracs = model, symbol, fracs
        self.arrays: list[str] = []
        self.state: list[str] = []
        self.formats: dict[str, Any] = {"activations": {k: int(v) for k, v in fracs.items()}, "accumulators": {}}
        self.shapes: dict[str, tuple[int, int, int]] = {}  # matrix -> (rows, rows padded, row length)
        self.blocks: GatedBlocks | None = None

    def matrix(self, name: str, weight: np.ndarray, bias: np.ndarray | None, f_cols: list[int]) -> int:
        """Quantise `weight` (rows x inputs, inputs padded to even here) into the arrays
        {sym}_{name}_w / _b; returns the accumulator's fractional bits. A one-row matrix is
        stored as it is; larger ones in groups of four rows interleaved by input pair (rows
        padded to a multiple of four), the layout vn_q15_dot4 reads."""
        weight = np.asarray(weight, np.float64)
        rows, width = weight.shape[0], _even(weight.shape[1])
        groups = 1 if rows == 1 else -(-rows // 4)
        padded = np.zeros((1 if rows == 1 else 4 * groups, width))
        padded[:rows, :weight.shape[1]] = weight
        full_bias = np.zeros(padded.shape[0])
        if bias is not None:
            full_bias[:rows] = np.asarray(bias, np.float64)
        f_cols = list(f_cols) + [f_cols[-1]] * (width - len(f_cols))
        wq, bq, acc = quantise_columns(padded, full_bias, f_cols)
        if rows > 1:  # (groups, 4 rows, pairs, 2) -> (groups, pairs, 4 rows, 2)
            wq = wq.reshape(groups, 4, width // 2, 2).transpose(0, 2, 1, 3)
        self.arrays += [_int_array(f"{self.sym}_{name}_w", wq, "int16_t"),
                        _int_array(f"{self.sym}_{name}_b", bq, "int32_t")]
        self.formats["accumulators"][name] = acc
        self.shapes[name] = (rows, padded.shape[0], width)
        return acc

    def product(self, name: str, out: str, segments: list[tuple[str, int]]) -> list[str]:
        """C: declares int32_t out[rows, padded to 4] = bias + W . v, where the input v is the
        concatenation of `segments` (vector, length: even): each segment is read where it
        lies (a layer's taps in its ring, say), never copied into one vector."""
        rows, padded, width = self.shapes[name]
        w, b = f"{self.sym}_{name}_w", f"{self.sym}_{name}_b"
        lines = [f"int32_t {out}[{padded}] __attribute__((aligned(8)));",
                 f"memcpy({out}, {b}, {4 * padded}u);",
                 f"for (uint32_t grp = 0; grp < {padded // 4}u; ++grp) {{"]
        offset = 0
        for vector, length in segments:
            lines.append(f"  vn_q15_dot4({w} + grp * {4 * width}u + {4 * offset}u, {vector}, {length // 2}u, {out} + 4u * grp);")
            offset += length
        assert offset == width, (name, offset, width)
        return lines + ["}"]

    def dot(self, name: str, segments: list[tuple[str, int]]) -> str:
        """C: the int32 bias + W . v of a one-row matrix (v: the concatenated segments)."""
        rows, _, width = self.shapes[name]
        assert rows == 1
        expression, offset = f"{self.sym}_{name}_b[0]", 0
        for vector, length in segments:
            expression = f"vn_q15_dot({self.sym}_{name}_w + {offset}u, {vector}, {length // 2}u, {expression})"
            offset += length
        assert offset == width, (name, offset, width)
        return expression

    def taps(self, ring: str, k: int, d: int, cp: int, src: str) -> tuple[list[str], list[str], list[str]]:
        """The k taps (dilation d) of a layer input src[cp]: (C lines that find them, the k
        tap pointers, C lines to run once they are read, which store src as the newest column
        in place of the oldest). The layer's ring holds the (k-1)*d past columns."""
        span = (k - 1) * d
        if not span:
            return [], [src], []
        self.state += [f"int16_t {ring}[{span * cp}] __attribute__((aligned(8)));", f"uint32_t {ring}_pos;"]
        find = [f"const uint32_t {ring}_p = s->{ring}_pos;"]
        pointers = []
        for j in range(k - 1):
            if j:
                find += [f"uint32_t {ring}_q{j} = {ring}_p + {j * d}u;",
                         f"if ({ring}_q{j} >= {span}u) {ring}_q{j} -= {span}u;"]
            pointers.append(f"s->{ring} + {f'{ring}_q{j}' if j else f'{ring}_p'} * {cp}u")
        commit = [f"memcpy(s->{ring} + {ring}_p * {cp}u, {src}, {2 * cp}u);",
                  f"s->{ring}_pos = {ring}_p + 1u == {span}u ? 0u : {ring}_p + 1u;"]
        return find, pointers + [src], commit

    def tanh_table(self) -> str:
        """The name of vn_q15_tanh's table, written into the model's source once."""
        name = f"{self.sym}_tanh_table"
        if not any(f" {name}[" in array for array in self.arrays):
            self.arrays.append(_int_array(name, tanh_table(), "int16_t"))
        return name

    def lookup_tanh(self) -> str:
        """C: the middle of the gate's tanh table (gate_tables: no interpolation; index
        _table_index), written into the model's source once."""
        name = f"{self.sym}_gate_tanh"
        if not any(f" {name}[" in array for array in self.arrays):
            self.arrays.append(_int_array(name, gate_tables()[0], "int16_t"))
        return f"({name} + {2 ** (GATE_TANH[1] - 1)})"

    def sigmoid(self, acc: str, acc_frac: int) -> str:
        """C: sigmoid of an accumulator, Q15 in [0, 32767]: (1 + tanh(x/2)) / 2 from the table."""
        return f"((32768 + vn_q15_tanh({_to_q20(acc, acc_frac, halve=True)}, {self.tanh_table()})) >> 1)"

    def input_q15(self, pair: bool = True) -> list[str]:
        """C: the input x at Q f_x (xq) and, with `pair`, as the pair xv = {x, 0} (the input of
        a one-column matrix)."""
        lines = [f"const int16_t xq = vn_q15_from_float(x, {_pow2(self.fracs['x'])});"]
        return lines + (["const int16_t xv[2] __attribute__((aligned(4))) = {xq, 0};"] if pair else [])

    def gated_wavenet(self) -> list[str]:
        """Layer-major sub-blocks (see GatedBlocks): the step function is not used."""
        self.blocks = GatedBlocks(self)
        return []

    def nam_wavenet(self) -> list[str]:
        cfg, t, fr = self.model.config, self.model.tensors, self.fracs
        arrays = cfg["layer_arrays"]
        f_x = fr["x"]
        body = self.input_q15()
        previous: dict[str, Any] = {}
        for a, array in enumerate(arrays):
            c, k, dils, head_size = array["channels"], array["kernel_size"], array["dilations"], array["head_size"]
            n, cp, last = len(dils), _even(c), a + 1 == len(arrays)
            f_h = [fr[f"a{a}.h{i}"] for i in range(n + (not last))]
            fixed_tanh = array["activation"] == "tanh"  # the table (Q15 out), else float
            f_p = [15 if fixed_tanh else fr[f"a{a}.p{i}"] for i in range(n)]
            f_s = fr[f"a{a}.s"]
            act = c_code.ACTIVATION_EXPRESSION[array["activation"]]
            rechannel = np.asarray(t[f"array{a}.rechannel.weight"], np.float64).T  # (c, in)
            body += [f"/* layer array {a}: {c} channels, {array['activation']} */",
                     f"int16_t h{a}[{cp}] __attribute__((aligned(8))) = {{0}};",
                     f"int16_t p{a}[{cp}] __attribute__((aligned(8))) = {{0}};",
                     f"int16_t hs{a}[{cp}] __attribute__((aligned(8))) = {{0}};",
                     f"int64_t sum{a}[{c}];"]
            if a == 0:
                a_re = self.matrix(f"a{a}_rechannel", rechannel, None, [f_x])
                source = [("xv", 2)]
            else:
                a_re = self.matrix(f"a{a}_rechannel", rechannel, None, [previous["f_out"]])
                source = [(f"h{a - 1}", _even(arrays[a - 1]["channels"]))]
            body += ["{", *("  " + line for line in self.product(f"a{a}_rechannel", "z", source)),
                     f"  for (uint32_t o = 0; o < {c}u; ++o) h{a}[o] = {_to_q15('z[o]', a_re, f_h[0])};", "}"]
            # the head sum, exact in int64 at big_f >= every term's fractional bits
            big_f = max(f_p + ([previous["a_head"]] if a else []))
            if a == 0:
                body.append(f"for (uint32_t o = 0; o < {c}u; ++o) sum{a}[o] = 0;")
            else:
                body.append(f"for (uint32_t o = 0; o < {c}u; ++o) sum{a}[o] = "
                            f"vn_q_shift(head{a - 1}[o], {previous['a_head'] - big_f});")
            for i, d in enumerate(dils):
                prefix = f"array{a}.layer{i}"
                conv = np.zeros((c, k * cp + 1))
                wc = np.asarray(t[f"{prefix}.conv.weight"], np.float64)  # (k, in, out)
                for j in range(k):
                    conv[:, j * cp:j * cp + c] = wc[j].T
                conv[:, k * cp] = np.asarray(t[f"{prefix}.mixer.weight"], np.float64)[0]  # the input mixer
                conv_bias = np.asarray(t[f"{prefix}.conv.bias"], np.float64)
                if fixed_tanh:  # the tanh table's index rounding (half a step) in the bias
                    conv_bias = conv_bias + 2.0 ** (-GATE_TANH[0] - 1)
                a_conv = self.matrix(f"a{a}_l{i}_conv", conv, conv_bias, [f_h[i]] * (k * cp) + [f_x])
                find, pointers, commit = self.taps(f"ring{a}_{i}", k, d, cp, f"h{a}")
                segments = [(q, cp) for q in pointers] + [("xv", 2)]
                body += [f"/* array {a} layer {i}: dilation {d} */", "{"]
                body += ["  " + line for line in find + self.product(f"a{a}_l{i}_conv", "z", segments) + commit]
                body.append(f"  for (uint32_t o = 0; o < {c}u; ++o) {{")
                if fixed_tanh:
                    body.append(f"    p{a}[o] = {self.lookup_tanh()}[{_table_index('z[o]', a_conv, *GATE_TANH)}];")
                else:
                    body += [f"    const float v = (float)z[o] * {_pow2(-a_conv)};",
                             f"    p{a}[o] = vn_q15_from_float({act.format(x='v')}, {_pow2(f_p[i])});"]
                body += [f"    sum{a}[o] += vn_q_shift(p{a}[o], {f_p[i] - big_f});", "  }"]
                if f"{prefix}.residual.weight" in t:
                    a_res = self.matrix(f"a{a}_l{i}_res", np.asarray(t[f"{prefix}.residual.weight"]).T,
                                        t[f"{prefix}.residual.bias"], [f_p[i]])
                    body += ["  " + line for line in self.product(f"a{a}_l{i}_res", "r", [(f"p{a}", cp)])]
                    body += [f"  for (uint32_t o = 0; o < {c}u; ++o) "
                             f"h{a}[o] = {_add_residual('r[o]', a_res, f'h{a}[o]', f_h[i], f_h[i + 1])};"]
                body.append("}")
            head_bias = t.get(f"array{a}.head.bias")
            a_head = self.matrix(f"a{a}_head", np.asarray(t[f"array{a}.head.weight"]).T, head_bias, [f_s])
            body += [f"for (uint32_t o = 0; o < {c}u; ++o) hs{a}[o] = {_to_q15(f'sum{a}[o]', big_f, f_s, wide=True)};"]
            if last:
                scale = c_code._float(float(cfg["head_scale"]) * 2.0 ** -a_head)
                body += [f"return (float)({self.dot(f'a{a}_head', [(f'hs{a}', cp)])}) * {scale};"]
            else:
                body += [f"int32_t head{a}[{head_size}];",
                         "{", *("  " + line for line in self.product(f"a{a}_head", "z", [(f"hs{a}", cp)])),
                         f"  memcpy(head{a}, z, {4 * head_size}u);", "}"]
                previous = {"a_head": a_head, "f_out": f_h[n]}
        return body

    def recurrent_matrix(self, hidden: int) -> tuple[int, int, int]:
        """Quantises the recurrent matrix over [h (Q15, padded to hp), x]; returns (hp, its
        accumulator's fractional bits, the input's length)."""
        cfg, t, fr = self.model.config, self.model.tensors, self.fracs
        hp = _even(hidden)
        kernel = np.asarray(t["rnn.kernel"], np.float64)[0]
        recurrent = np.asarray(t["rnn.recurrent_kernel"], np.float64)
        rows = kernel.size if cfg["kind"] == "lstm" else 3 * hidden
        weight = np.zeros((rows, hp + 1))
        weight[:, :hidden] = recurrent.T
        if cfg["kind"] == "lstm":
            weight[:, hp] = kernel
            bias = np.asarray(t["rnn.bias"], np.float64)
        else:  # GRU: the candidate's input part is separate (the reset gate scales only R_h . h)
            b = np.asarray(t["rnn.bias"], np.float64)
            weight[:2 * hidden, hp] = kernel[:2 * hidden]
            bias = np.concatenate([b[0, :2 * hidden] + b[1, :2 * hidden], b[1, 2 * hidden:]])
        acc = self.matrix("rnn", weight, bias, [15] * hp + [fr["x"]])
        return hp, acc, hp + 2

    def recurrent_output(self, hp: int) -> list[str]:
        t = self.model.tensors
        acc = self.matrix("dense", np.asarray(t["dense.weight"]).T, t["dense.bias"], [15] * hp)
        y = f"(float)({self.dot('dense', [('s->v', hp)])}) * {_pow2(-acc)}"
        return [f"return {y}{' + x' if self.model.config.get('skip', True) else ''};"]

    def lstm(self) -> list[str]:
        n = self.model.config["hidden"]
        hp, acc, width = self.recurrent_matrix(n)
        f_c = min(self.fracs["c"] + 16, 30)
        self.state += [f"int16_t v[{width}] __attribute__((aligned(8)));  /* [h (Q15), x] */",
                       f"int32_t c[{n}];  /* the cell, Q{f_c} */"]
        self.formats["cell"] = f_c
        s = _pow2(-acc)
        return [*self.input_q15(pair=False),
                f"int16_t h[{n}];",
                f"s->v[{hp}] = xq;",
                *self.product("rnn", "z", [("s->v", width)]),
                f"for (uint32_t o = 0; o < {n}u; ++o) {{",
                f"  const int32_t i = {self.sigmoid('z[o]', acc)};",
                f"  const int32_t f = {self.sigmoid(f'z[o + {n}u]', acc)};",
                f"  const int32_t g = vn_q15_tanh({_to_q20(f'z[o + {2 * n}u]', acc)}, {self.tanh_table()});",
                f"  const int32_t og = {self.sigmoid(f'z[o + {3 * n}u]', acc)};",
                f"  const float c = (float)f * ((float)s->c[o] * {_pow2(-f_c - 15)}) + (float)(i * g) * {_pow2(-30)};",
                f"  s->c[o] = vn_q31_from_float(c, {_pow2(f_c)});",
                f"  h[o] = (int16_t)((og * vn_q15_tanh({_to_q20('s->c[o]', f_c)}, {self.tanh_table()}) + 16384) >> 15);",
                "}",
                f"memcpy(s->v, h, {2 * n}u);",
                *self.recurrent_output(hp)]

    def gru(self) -> list[str]:
        n, t = self.model.config["hidden"], self.model.tensors
        hp, acc, width = self.recurrent_matrix(n)
        kernel = np.asarray(t["rnn.kernel"], np.float64)[0, 2 * n:]
        a_in = self.matrix("rnn_in", kernel[:, None], np.asarray(t["rnn.bias"], np.float64)[0, 2 * n:],
                           [self.fracs["x"]])
        self.state.append(f"int16_t v[{width}] __attribute__((aligned(8)));  /* [h (Q15), x] */")
        s = _pow2(-acc)
        return [*self.input_q15(),
                f"int16_t h[{n}];",
                f"s->v[{hp}] = xq;",
                *self.product("rnn", "z", [("s->v", width)]),
                *self.product("rnn_in", "u", [("xv", 2)]),
                f"for (uint32_t o = 0; o < {n}u; ++o) {{",
                f"  const float z_ = (float){self.sigmoid('z[o]', acc)} * {_pow2(-15)};",
                f"  const float r = (float){self.sigmoid(f'z[o + {n}u]', acc)} * {_pow2(-15)};",
                f"  const float inner = (float)z[o + {2 * n}u] * {s};",
                f"  const float outer = (float)u[o] * {_pow2(-a_in)};",
                "  const float candidate = vn_tanh(outer + r * inner);",
                f"  const float previous = (float)s->v[o] * {_pow2(-15)};",
                "  h[o] = vn_q15_from_float(z_ * previous + (1.0f - z_) * candidate, 32768.0f);",
                "}",
                f"memcpy(s->v, h, {2 * n}u);",
                *self.recurrent_output(hp)]

    def generate(self) -> tuple[str, str]:
        sym, meta, cfg = self.sym, self.model.metadata, self.model.config
        body = getattr(self, cfg["kind"])()
        fields = "\n".join(f"  {line}" for line in (self.state or ["uint32_t unused;"]))
        in_gain, out_gain = c_code._float(meta.get("input_gain", 1.0)), c_code._float(meta.get("output_gain", 1.0))
        if self.blocks is not None:  # layer-major sub-blocks
            step, loop = self.blocks.text(in_gain, out_gain)
            process_comment = ("Layer-major sub-blocks, each sample's integer arithmetic the same in any of them: the\n"
                               " * output does not depend on the block size; in and out may alias.")
        else:
            step = (f"VN_HOT_TEXT static float {sym}_step({sym}_state_t *s, const float x) {{\n"
                    + ("  (void)s;\n" if not self.state else "")
                    + "\n".join(f"  {line}" for line in body) + "\n}\n")
            loop = (f"  for (uint32_t i = 0; i < n; ++i) {{\n"
                    f"    out[i] = {out_gain} * {sym}_step(s, {in_gain} * in[i]);\n  }}")
            process_comment = "Sample by sample: the output does not depend on the block size; in and out may alias."
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

/* {process_comment} */
void {sym}_process(void *state, const float *in, float *out, uint32_t n) {{
  {sym}_state_t *s = ({sym}_state_t *)state;
{loop}
}}

{c_code.model_definition(self.model, sym, self.model.name + INT16_SUFFIX, "VN_PRECISION_Q15",
                          model_config.macs_per_sample(cfg))}"""
        return header, source


def generate(model: ModelFile, fracs: dict[str, int], symbol: str | None = None) -> tuple[str, str, str, dict[str, Any]]:
    """(symbol, header, source, formats) for a model and its calibrated activation scales."""
    symbol = symbol or c_code.symbol_for(model.name) + "_q15"
    gen = Q15Generator(model, symbol, fracs)
    header, source = gen.generate()
    return symbol, header, source, gen.formats


def write(model: ModelFile, fracs: dict[str, int], out: Path, symbol: str | None = None) -> tuple[Path, Path]:
    """Write SYMBOL.h and SYMBOL.c (the int16 engine) into out; return their paths."""
    symbol, header, source, _ = generate(model, fracs, symbol)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{symbol}.h").write_text(header)
    (out / f"{symbol}.c").write_text(source)
    return out / f"{symbol}.h", out / f"{symbol}.c"


def compile_model(model: ModelFile, fracs: dict[str, int], exact_activations: bool = False) -> Path:
    symbol, header, source, _ = generate(model, fracs, "vn_host_model")
    return compile_sources(symbol, header, source, exact_activations, kind="q15")


class Q15Engine(CEngine):
    """The int16 engine on the host (same API as CEngine and the oracle). Scales come from
    `fracs` (calibrate.scales), else are calibrated here on `calibration_audio`, else come
    from the model file (metadata["int16_scales"])."""

    def __init__(self, model: ModelFile, calibration_audio: np.ndarray | None = None,
                 fracs: dict[str, int] | None = None, exact_activations: bool = False) -> None:
        if fracs is None:
            if calibration_audio is not None:
                fracs = calibrate_scales(model, calibration_audio)
            else:
                fracs = stored_scales(model)
            if fracs is None:
                raise ValueError(f"model {model.name!r} has no int16 scales: give Q15Engine calibration_audio or fracs")
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
