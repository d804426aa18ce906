"""The DSP-instruction helpers of the int16 engine (firmware/nn/q15_dsp.h), host path: each
equals its M7 instruction's definition (SMLABB, SMLATB, SMULWB, QADD, QADD16, PKHBT; the LDM
tiles' SMLAD sums) on extreme and random operands, so the host build gives the M7's bits (the
QEMU suite checks the M7 side against the host build); the recurrent cells' packed tables:
tanh equal to vn_q15_tanh bit for bit, the sigmoid within 1e-4."""

from __future__ import annotations

import ctypes
import functools
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from valvenet.export.c_host import HOST_CFLAGS, repo_root
from valvenet.export.engines import q15_arith, recurrent_q15

SOURCE = r"""
#include "firmware/nn/q15_dsp.h"
int32_t mla_bb(int32_t a, int32_t b, int32_t c) { return vn_q15_mla_bb(a, b, c); }
int32_t mla_tb(int32_t a, int32_t b, int32_t c) { return vn_q15_mla_tb(a, b, c); }
int32_t mul_wb(int32_t a, int32_t b) { return vn_q15_mul_wb(a, b); }
int32_t add_sat(int32_t a, int32_t b) { return vn_q31_add_sat(a, b); }
uint32_t add2_sat(uint32_t a, uint32_t b) { return vn_q15_add2_sat(a, b); }
uint32_t pack_bottom(int32_t a, int32_t b) { return vn_q15_pack_bottom(a, b); }
int32_t lerp(int32_t x, const uint32_t *table) { return vn_q15_lerp(x, table + 256); }
int32_t tanh_q(int32_t x, const int16_t *table) { return vn_q15_tanh(x, table); }
void tile(const int16_t *w, const int16_t *x, uint32_t n, int32_t *out) {
  int32_t a0, a1, a2, a3;
  vn_q15_bias4(&w, &a0, &a1, &a2, &a3);
  vn_q15_mac4(&w, x, n, &a0, &a1, &a2, &a3);
  out[0] = a0; out[1] = a1; out[2] = a2; out[3] = a3;
  out[4] = vn_q15_dot4_words(x, vn_q15_word(w), vn_q15_word(w + 2), vn_q15_word(w + 4), vn_q15_word(w + 6), a0);
}
"""
I32, U32, PTR = ctypes.c_int32, ctypes.c_uint32, ctypes.c_void_p


@functools.cache
def lib() -> ctypes.CDLL:
    tmp = Path(tempfile.mkdtemp())
    (tmp / "d.c").write_text(SOURCE)
    subprocess.run(["gcc", *HOST_CFLAGS, f"-I{repo_root()}", str(tmp / "d.c"), "-o", str(tmp / "d.so")], check=True)
    library = ctypes.CDLL(str(tmp / "d.so"))
    for name, args, result in (("mla_bb", [I32] * 3, I32), ("mla_tb", [I32] * 3, I32), ("mul_wb", [I32] * 2, I32),
                               ("add_sat", [I32] * 2, I32), ("add2_sat", [U32] * 2, U32),
                               ("pack_bottom", [I32] * 2, U32), ("lerp", [I32, PTR], I32), ("tanh_q", [I32, PTR], I32),
                               ("tile", [PTR, PTR, U32, PTR], None)):
        getattr(library, name).argtypes, getattr(library, name).restype = args, result
    return library


def words() -> list[int]:
    rng = np.random.default_rng(21)
    return [-2 ** 31, 2 ** 31 - 1, 0, -1, 1, 0x7FFF8000, -0x8000, 0x8000, 0x12345678] + [
        int(v) for v in rng.integers(-2 ** 31, 2 ** 31, 60)]


def lo(v: int) -> int:
    return ((v & 0xFFFF) ^ 0x8000) - 0x8000


def hi(v: int) -> int:
    return lo(v >> 16)


def wrap(v: int) -> int:
    return ((v + 2 ** 31) % 2 ** 32) - 2 ** 31


def test_portable_helpers_equal_their_instructions() -> None:
    d = lib()
    for a in words():
        for b in words()[:25]:
            c = b ^ 0x5A5A5A5A
            assert d.mla_bb(a, b, wrap(c)) == wrap(wrap(c) + lo(a) * lo(b))
            assert d.mla_tb(a, b, wrap(c)) == wrap(wrap(c) + hi(a) * lo(b))
            assert d.mul_wb(a, b) == (a * lo(b)) >> 16
            assert d.add_sat(a, b) == min(max(a + b, -2 ** 31), 2 ** 31 - 1)
            ua, ub = a & 0xFFFFFFFF, b & 0xFFFFFFFF
            lanes = [min(max(x + y, -32768), 32767) for x, y in ((lo(ua), lo(ub)), (hi(ua), hi(ub)))]
            assert d.add2_sat(ua, ub) == (lanes[0] & 0xFFFF) | ((lanes[1] & 0xFFFF) << 16)
            assert d.pack_bottom(a, b) == (a & 0xFFFF) | ((b & 0xFFFF) << 16)


def test_ldm_tiles_sum_the_same_products() -> None:
    """vn_q15_bias4 + vn_q15_mac4 (4 rows, n input words; weights by pair, 4 row words each)
    and vn_q15_dot4_words: the SMLAD sums, wrapping modulo 2^32, on extreme int16 values."""
    rng = np.random.default_rng(4)
    for n in (2, 4):
        for trial in range(20):
            bias = rng.integers(-2 ** 31, 2 ** 31, 4, dtype=np.int64)
            weights = rng.integers(-32768, 32768, (n + 1) * 8, dtype=np.int64)
            x = np.zeros(8, np.int64)  # n words used by the tile, all four by the dot
            x[:2 * n] = rng.integers(-32768, 32768, 2 * n)
            if trial == 0:
                weights[:], x[:2 * n] = -32768, -32768  # the largest products, wrapping
            w = np.concatenate([bias.astype("<i4").view("<i2"), weights.astype(np.int16)])
            out = np.zeros(5, np.int32)
            xs = x.astype(np.int16)
            lib().tile(w.ctypes.data, xs.ctypes.data, n, out.ctypes.data)
            rows = weights[:8 * n].reshape(n, 4, 2)
            expected = [wrap(int(bias[r] + np.sum(rows[:, r, :] * x[:2 * n].reshape(n, 2)))) for r in range(4)]
            assert list(out[:4]) == expected
            fold = weights[8 * n:8 * n + 8]
            assert out[4] == wrap(expected[0] + int(np.sum(fold * x)))


def test_packed_tanh_table_equals_the_interpolated_one() -> None:
    """The recurrent cells' tanh: one load per value from (value, slope) words, the same bits
    as vn_q15_tanh (q15.h) for every input, extremes included."""
    table = np.ascontiguousarray(q15_arith.tanh_table())
    packed = np.ascontiguousarray(recurrent_q15.lerp_table(table))
    rng = np.random.default_rng(6)
    xs = [-2 ** 31, 2 ** 31 - 1, -(1 << 23), (1 << 23) - 1, 0, -1, 1] + [int(v) for v in rng.integers(-2 ** 24, 2 ** 24, 3000)]
    for x in xs:
        assert lib().lerp(x, packed.ctypes.data) == lib().tanh_q(x, table.ctypes.data), x


def test_packed_sigmoid_is_within_1e4_and_saturates() -> None:
    """sigmoid(x) read with x halved at 20 fractional bits (to_q20's halve): interpolation error
    (1/16)^2 / 8 * max|sigmoid''| = 4.7e-5 plus the entries' rounding; Q15 in [0, 32767]."""
    packed = np.ascontiguousarray(recurrent_q15.lerp_table(recurrent_q15.sigmoid_values()))
    x = np.linspace(-20.0, 20.0, 40001)
    codes = np.floor(x / 2 * 2.0 ** 20).astype(np.int64)
    y = np.array([lib().lerp(int(v), packed.ctypes.data) for v in codes])
    assert np.max(np.abs(y / 32768.0 - 1.0 / (1.0 + np.exp(-codes * 2.0 ** -19)))) <= 1e-4
    assert y.min() >= 0 and y.max() == 32767 and np.all(np.diff(y) >= 0)
