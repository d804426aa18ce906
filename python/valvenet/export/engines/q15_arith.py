"""The int16 engine's arithmetic: quantising matrices, and the C expressions that rescale,
round and saturate between fixed-point formats; the activation tables.

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

Rescaling is 32-bit (rounding shift, SSAT) wherever it cannot overflow, int64 elsewhere
(left shifts, the NAM head sum).
"""

from __future__ import annotations

import numpy as np

from valvenet.models.calibrate import frac_bits

ACC_LIMIT = 2 ** 31 - 1
MAX_WEIGHT_FRAC = 30


def quantise_columns(weight: np.ndarray, bias: np.ndarray | None,
                     f_cols: np.ndarray | list[int] | int, most: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """(int16 weights, int32 biases, accumulator fractional bits A) for rows x inputs `weight`
    whose input j has f_cols[j] fractional bits: weights of column j at A - f_cols[j] bits,
    A the largest for which no accumulator can overflow (see the module docstring), and at
    most `most` where given."""
    weight = np.asarray(weight, np.float64)
    rows, cols = weight.shape
    f_cols = np.broadcast_to(np.asarray(f_cols, np.int64), (cols,))
    bias = np.zeros(rows) if bias is None else np.asarray(bias, np.float64)
    peaks = np.max(np.abs(weight), axis=0) if rows else np.zeros(cols)
    acc = min((min(MAX_WEIGHT_FRAC, frac_bits(float(p), 1.0)) + int(f) for p, f in zip(peaks, f_cols) if p > 0),
              default=MAX_WEIGHT_FRAC + int(np.max(f_cols, initial=0)))
    acc = acc if most is None else min(acc, most)
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


def to_q15(acc: str, acc_frac: int, frac: int, wide: bool = False) -> str:
    """C: an accumulator at acc_frac bits, rounded and saturated to an int16 at frac bits
    (in 32 bits but when `wide`: an int64 sum, or a left shift that could overflow)."""
    shift = acc_frac - frac
    if wide or not 0 <= shift <= 31:
        return f"vn_q15_sat(vn_q_shift({acc}, {shift}))"
    return f"vn_q15_sat32({f'vn_q_rshift32({acc}, {shift})' if shift else acc})"


def add_residual(r: str, r_frac: int, h: str, h_frac: int, out_frac: int) -> str:
    """C: h + r (an int32 accumulator) to an int16 at out_frac bits. In 32 bits, r and h are
    each rounded to out_frac bits first (two roundings: at most 1 LSB off the exact sum's
    rounding); int64 where 32 bits could overflow (r not shifted down at least one bit, h
    shifted up more than 14) or a shift would reach 32."""
    if not (1 <= r_frac - out_frac <= 31 and out_frac - h_frac <= 14 and h_frac - out_frac <= 31):
        big = max(r_frac, h_frac)
        return (f"vn_q15_sat(vn_q_shift(vn_q_shift({r}, {r_frac - big}) + vn_q_shift({h}, {h_frac - big}), "
                f"{big - out_frac}))")
    return f"vn_q15_sat32(vn_q_rshift32({r}, {r_frac - out_frac}) + {int32_at(h, h_frac, out_frac)})"


def int32_at(h: str, h_frac: int, out_frac: int) -> str:
    """C: the int16 h (h_frac bits) as an int32 at out_frac bits (rounded down-shift, or exact
    up-scaling by a power of two)."""
    if h_frac > out_frac:
        return f"vn_q_rshift32({h}, {h_frac - out_frac})"
    if h_frac < out_frac:
        return f"(int32_t){h} * {2 ** (out_frac - h_frac)}"
    return f"(int32_t){h}"


def to_q20(acc: str, acc_frac: int, halve: bool = False) -> str:
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


def table_index(acc: str, acc_frac: int, step_bits: int, bits: int) -> str:
    """C: the table index of an accumulator at acc_frac bits whose bias holds the rounding
    offset (half a step): floor(acc / 2^(acc_frac - step_bits)), saturated to `bits` bits."""
    shift = acc_frac - step_bits
    if shift >= 1:
        return f"VN_Q_INDEX({acc}, {shift}, {bits})"
    return f"vn_q_index_up({acc}, {-shift}, {bits})"

