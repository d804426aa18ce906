"""The int16 (Q15-style fixed point) C engine: what its model kinds share (quantised matrices
and their products, the taps of a layer's history, the activation tables, the files). The
formats and the quantisation are in q15_arith.py; the model kinds' own code in
gated_wavenet.py, nam_wavenet.py and recurrent.py, whose docstrings give each kind's
arithmetic.

Activations. The gated WaveNet's gate tanh(a) * sigmoid(b) comes from two tables without
interpolation (q15_arith.gate_tables; gated_wavenet.py). NAM's tanh uses the gate's tanh
table the same way (the index rounding in the conv bias; error <= 9.9e-4 within [-4, 4),
6.7e-4 beyond; Q15 out whatever the calibration says: |tanh| < 1). The LSTM's and GRU's
activations use 513-entry tables on [-8, 8] with linear interpolation (error < 1.25e-4): a
recurrence integrates its errors, so they keep the finer ones; their cell updates are integer
too (recurrent_q15.py).
IN FLOAT: NAM's other activations (hardtanh, relu, softsign), from the dequantised values
(one multiply by a power of two), then requantised (round, saturate).

Matrix-vector products run four rows at a time (vn_q15_dot4, or the gated WaveNet's tiles:
each input word loaded once for four SMLADs; weights stored interleaved for it) and read a
layer's taps where they lie in its ring (no copies of the taps; the new column is stored once).

The gated and NAM WaveNets run layer-major over sub-blocks of BLOCK samples (NAM: generic
kernels per channel count, nam_q15.py); the recurrent engines step sample by sample. Either
way each sample's integer arithmetic is the same whatever the block it falls in, so the
output is the same for any block size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from valvenet.export.c_text import (even, gains, header_file, int_array, model_definition, pow2, process_opening,
                                    reset_function, source_file, state_struct)
from valvenet.export.engines.q15_arith import GATE_TANH, gate_tables, quantise_columns, tanh_table, to_q20
from valvenet.models import config as model_config
from valvenet.models.model_file import INT16_SUFFIX, ModelFile

SOURCE_INCLUDES = ["firmware/nn/activations.h", "firmware/nn/placement.h", "firmware/nn/q15.h"]


class Q15Generator:
    """Collects one model's int16 C: its arrays, state fields and formats. A model kind's
    engine (its `int16(gen)`) adds to them and returns (code, body of process, comment)."""

    def __init__(self, model: ModelFile, symbol: str, fracs: dict[str, int]) -> None:
        self.model, self.sym, self.fracs = model, symbol, fracs
        self.arrays: list[str] = []
        self.state: list[str] = []
        self.formats: dict[str, Any] = {"activations": {k: int(v) for k, v in fracs.items()}, "accumulators": {}}
        self.shapes: dict[str, tuple[int, int, int]] = {}  # matrix -> (rows, rows padded, row length)
        self.includes = list(SOURCE_INCLUDES)  # a kind's engine may add its kernels' header
        self.initial_state = ""  # C statements of SYM_reset on `s` after the zeroing
        self.knob_function = ""  # SYM_set_knobs (firmware/nn/model.h), for a conditioned model
        self.header_includes = ["firmware/nn/model.h"]  # a kind's state may need its kernels' types

    def matrix(self, name: str, weight: np.ndarray, bias: np.ndarray | None, f_cols: list[int],
               bound: tuple[np.ndarray, list[int]] | None = None) -> int:
        """Quantise `weight` (rows x inputs, inputs padded to even here) into the arrays
        {sym}_{name}_w / _b; returns the accumulator's fractional bits. A one-row matrix is
        stored as it is; larger ones in groups of four rows interleaved by input pair (rows
        padded to a multiple of four), the layout vn_q15_dot4 reads. `bound`: more columns
        (rows x extra, their formats) the accumulator must also hold, not stored (a model's
        knobs, which enter as a bias)."""
        weight = np.asarray(weight, np.float64)
        rows, width = weight.shape[0], even(weight.shape[1])
        groups = 1 if rows == 1 else -(-rows // 4)
        padded = np.zeros((1 if rows == 1 else 4 * groups, width))
        padded[:rows, :weight.shape[1]] = weight
        full_bias = np.zeros(padded.shape[0])
        if bias is not None:
            full_bias[:rows] = np.asarray(bias, np.float64)
        f_cols = list(f_cols) + [f_cols[-1]] * (width - len(f_cols))
        most = None
        if bound is not None and bound[0].size:
            extra = np.zeros((padded.shape[0], bound[0].shape[1]))
            extra[:rows] = bound[0]
            most = quantise_columns(np.concatenate([padded, extra], axis=1), full_bias, f_cols + list(bound[1]))[2]
        wq, bq, acc = quantise_columns(padded, full_bias, f_cols, most)
        if rows > 1:  # (groups, 4 rows, pairs, 2) -> (groups, pairs, 4 rows, 2)
            wq = wq.reshape(groups, 4, width // 2, 2).transpose(0, 2, 1, 3)
        self.arrays += [int_array(f"{self.sym}_{name}_w", wq, "int16_t"),
                        int_array(f"{self.sym}_{name}_b", bq, "int32_t")]
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
            self.arrays.append(int_array(name, tanh_table(), "int16_t"))
        return name

    def lookup_tanh(self) -> str:
        """C: the middle of the gate's tanh table (gate_tables: no interpolation; index
        _table_index), written into the model's source once."""
        name = f"{self.sym}_gate_tanh"
        if not any(f" {name}[" in array for array in self.arrays):
            self.arrays.append(int_array(name, gate_tables()[0], "int16_t"))
        return f"({name} + {2 ** (GATE_TANH[1] - 1)})"

    def sigmoid(self, acc: str, acc_frac: int) -> str:
        """C: sigmoid of an accumulator, Q15 in [0, 32767]: (1 + tanh(x/2)) / 2 from the table."""
        return f"((32768 + vn_q15_tanh({to_q20(acc, acc_frac, halve=True)}, {self.tanh_table()})) >> 1)"

    def input_q15(self, pair: bool = True) -> list[str]:
        """C: the input x at Q f_x (xq) and, with `pair`, as the pair xv = {x, 0} (the input of
        a one-column matrix)."""
        lines = [f"const int16_t xq = vn_q15_from_float(x, {pow2(self.fracs['x'])});"]
        return lines + (["const int16_t xv[2] __attribute__((aligned(4))) = {xq, 0};"] if pair else [])


    # ------------------------------------------------------------------- files
    def sample_steps(self, body: list[str]) -> tuple[str, str, str]:
        """(code, body of process, comment) for an engine that steps sample by sample: `body`
        is the C of SYM_step (x in, the output returned)."""
        sym = self.sym
        in_gain, out_gain = gains(self.model)
        step = (f"VN_HOT_TEXT static float {sym}_step({sym}_state_t *s, const float x) {{\n"
                + ("  (void)s;\n" if not self.state else "")
                + "\n".join(f"  {line}" for line in body) + "\n}\n")
        loop = (f"  for (uint32_t i = 0; i < n; ++i) {{\n"
                f"    out[i] = {out_gain} * {sym}_step(s, {in_gain} * in[i]);\n  }}")
        return step, loop, "Sample by sample: the output does not depend on the block size; in and out may alias."

    def files(self, code: str, loop: str, comment: str) -> tuple[str, str]:
        """(SYM.h, SYM.c): the kind's code, then reset and process (its body `loop`)."""
        sym, name = self.sym, self.model.name
        types = state_struct(self.state or ["uint32_t unused;"], f"{sym}_state_t")
        # The banner names the module that generated the int16 engine before the engines were
        # split by model kind: kept, so that the generated files stay byte-identical.
        banner = f'/* Generated by valvenet.export.c_q15 from model "{name}" (int16 engine). Do not edit. */'
        header = header_file(sym, banner, self.header_includes, types)
        if self.knob_function:
            declaration = f"void {sym}_process(void *state, const float *in, float *out, uint32_t n);"
            header = header.replace(declaration, f"{declaration}\nvoid {sym}_set_knobs(void *state, const float *knobs);")
        banner = (f'/* Generated by valvenet.export.c_q15 from model "{name}" (int16 engine). Do not edit.\n'
                  f" * Formats (fractional bits): {self.formats} */")
        code = f"""{code}{self.knob_function}
{reset_function(sym, self.initial_state)}

/* {comment} */
{process_opening(sym)}
{loop}
}}"""
        definition = model_definition(self.model, sym, name + INT16_SUFFIX, "VN_PRECISION_Q15",
                                      model_config.macs_per_sample(self.model.config),
                                      f"{sym}_set_knobs" if self.knob_function else None)
        return header, source_file(sym, banner, self.includes, self.arrays, code, definition)
