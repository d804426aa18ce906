"""The int16 engine of the recurrent models (LSTM and GRU; their float32 engine and the
registry's interface are in recurrent.py).

Int16 (all integer; helpers in firmware/nn/q15_dsp.h): one loop over the units; unit u's
gate rows are one group of four (the weights interleaved by input pair, [h (Q15), x] read two
words per LDRD, each word for four SMLADs) and its update follows in the same iteration, so no
gate sums are stored. Activations from 513-entry tables on [-8, 8] with linear interpolation,
each entry packed with its slope (one load and one SMLATB a value: vn_q15_lerp; tanh the same
bits as vn_q15_tanh, sigmoid its own table; error < 1.25e-4: a recurrence integrates its
errors). The dense output sums over the units in the loop (SMLABB).
LSTM: rows i, f, g, o; the cell c is an int32 with 16 more fractional bits than an int16 of
  its calibrated range would have (it integrates over many samples): c = 2 SMULWB(c, f) +
  (i g >> s), saturated (QADD); h = o tanh(c) rounded, Q15.
GRU: rows z, r, the candidate's recurrent part R_h h + b_h and its input part k_h x + b_h'
  (the reset gate multiplies only the recurrent part): n = tanh(part_x / 2 + SMULWB(part_h,
  r)) at one bit fewer than the accumulator; h = n + z (h - n) rounded, Q15 (a convex mix).
"""

from __future__ import annotations

import numpy as np

from valvenet.export.c_text import even, float_array, int_array, knob_defaults, pow2, set_knobs_function
from valvenet.export.engines.q15_arith import quantise_columns, tanh_table, to_q20
from valvenet.export.engines.q15_engine import Q15Generator
from valvenet.models import knobs


def int16(gen: Q15Generator) -> tuple[str, str, str]:
    """Sample by sample; one loop over the units does each unit's gate rows (a 4-row tile)
    and its update."""
    gen.includes.append("firmware/nn/q15_dsp.h")
    return gen.sample_steps(_lstm(gen) if gen.model.config["kind"] == "lstm" else _gru(gen))


def lerp_table(values: np.ndarray) -> np.ndarray:
    """vn_q15_lerp's packed table (firmware/nn/q15_dsp.h) from 513 int16 values on [-8, 8]:
    entry i holds values[i] (low half) and values[i + 1] - values[i] (high half)."""
    v = np.asarray(values, np.int64)
    slope = v[1:] - v[:-1]
    assert np.all(np.abs(slope) < 32768)
    return ((v[:-1] & 0xFFFF) | ((slope & 0xFFFF) << 16)).astype(np.uint32)


def sigmoid_values() -> np.ndarray:
    """sigmoid(2 t) in Q15 at t = -8 + i/32 (i = 0..512), rounded and saturated: read with the
    input halved (to_q20's halve), as vn_q15_tanh's table is read for tanh."""
    t = -8.0 + np.arange(513) / 32.0
    return np.clip(np.floor(32768.0 / (1.0 + np.exp(-2.0 * t)) + 0.5), 0, 32767).astype(np.int64)


def _tables(gen: Q15Generator) -> tuple[str, str]:
    """C: the middles of the packed tanh and sigmoid tables (written once)."""
    for name, values in (("tanh_lerp", tanh_table()), ("sigmoid_lerp", sigmoid_values())):
        gen.arrays.append(int_array(f"{gen.sym}_{name}", lerp_table(values), "uint32_t"))
    return f"({gen.sym}_tanh_lerp + 256)", f"({gen.sym}_sigmoid_lerp + 256)"


def _unit_matrix(gen: Q15Generator) -> tuple[int, int]:
    """Quantises the recurrent matrix over [h (Q15, padded to hp), x] with the rows of unit u
    in group u (4 rows: the LSTM's i, f, g, o; the GRU's z, r, the candidate's recurrent part
    R_h h + b_h and its input part k_h x + b_h'); returns (hp, the accumulator's bits)."""
    cfg, t = gen.model.config, gen.model.tensors
    n, hp = cfg["hidden"], even(cfg["hidden"])
    kernel = np.asarray(t["rnn.kernel"], np.float64)[0]
    rec = np.asarray(t["rnn.recurrent_kernel"], np.float64)
    b = np.asarray(t["rnn.bias"], np.float64)
    weight, bias = np.zeros((4 * n, hp + 1)), np.zeros(4 * n)
    for u in range(n):
        if cfg["kind"] == "lstm":
            for g in range(4):
                weight[4 * u + g, :n], weight[4 * u + g, hp] = rec[:, g * n + u], kernel[g * n + u]
                bias[4 * u + g] = b[g * n + u]
        else:
            for g in range(2):
                weight[4 * u + g, :n], weight[4 * u + g, hp] = rec[:, g * n + u], kernel[g * n + u]
                bias[4 * u + g] = b[0, g * n + u] + b[1, g * n + u]
            weight[4 * u + 2, :n], bias[4 * u + 2] = rec[:, 2 * n + u], b[1, 2 * n + u]
            weight[4 * u + 3, hp], bias[4 * u + 3] = kernel[2 * n + u], b[0, 2 * n + u]
    knob_rows = _knob_rows(gen)
    acc = gen.matrix("rnn", weight, bias + knob_rows @ knobs.knob_vector(cfg), [15] * hp + [gen.fracs["x"]],
                     (knob_rows, [15] * knob_rows.shape[1]))
    if knob_rows.size:
        _knob_code(gen, bias, knob_rows, acc)
    return hp, acc


def _knob_rows(gen: Q15Generator) -> np.ndarray:
    """The knobs' input weights of each gate row (4 per unit, as _unit_matrix orders them):
    (4 hidden, knobs); the GRU's candidate recurrent row has none."""
    cfg, n = gen.model.config, gen.model.config["hidden"]
    rows = np.asarray(gen.model.tensors["rnn.kernel"], np.float64)[1:]  # (knobs, gates x n)
    out = np.zeros((4 * n, rows.shape[0]))
    for u in range(n):
        for g, column in enumerate([0, 1, 2, 3] if cfg["kind"] == "lstm" else [0, 1, None, 2]):
            if column is not None:
                out[4 * u + g] = rows[:, column * n + u]
    return out


def _knob_code(gen: Q15Generator, bias: np.ndarray, knob_rows: np.ndarray, acc: int) -> None:
    """The gate biases in the state (`s->rnn_b`), rewritten by SYM_set_knobs as round((bias +
    knob rows . knobs) 2^acc) in double; reset ends with the default knobs."""
    sym, rows, count = gen.sym, bias.size, knob_rows.shape[1]
    gen.state.append(f"int32_t rnn_b[{rows}];")
    defaults, apply = knob_defaults(sym, gen.model.config, aligned=False)
    gen.arrays += [float_array(f"{sym}_kbias", bias, aligned=False),
                   float_array(f"{sym}_knob", knob_rows.reshape(-1), aligned=False), defaults]
    # the const biases are the defaults' (what a build without set_knobs would run)
    gen.initial_state = (f"memcpy(s->rnn_b, {sym}_rnn_b, sizeof s->rnn_b);\n  "
                         f"{apply}")
    gen.knob_function = set_knobs_function(sym, count, [f"""for (uint32_t r = 0; r < {rows}u; ++r) {{
    double b = (double){sym}_kbias[r];
    for (uint32_t i = 0; i < {count}u; ++i) {{
      b += (double){sym}_knob[r * {count}u + i] * (double)k[i];
    }}
    s->rnn_b[r] = (int32_t)floor(b * {float(2.0 ** acc)!r} + 0.5);
  }}"""])


def _unit_tile(gen: Q15Generator, hp: int) -> list[str]:
    """C: a0..a3 = bias + W . [h, x] for unit u's four rows (w, b: its weights and biases):
    input words two per LDRD, each for four rows' SMLADs (the GRU: three, the candidate's
    rows skipping the zero half of their columns)."""
    gru = gen.model.config["kind"] == "gru"
    words = hp // 2 + 1
    lines = ["int32_t a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3];"]
    for p in range(0, words, 2):
        pair = p + 1 < words
        lines.append(f"{{ uint32_t x0, x1; vn_q15_words2(v + {2 * p}u, &x0, &x1);" if pair
                     else f"{{ const uint32_t x0 = vn_q15_word(v + {2 * p}u);")
        for q in range(p, p + 2 if pair else p + 1):
            x, o = f"x{q - p}", 8 * q
            last = q == words - 1
            lines += [f"  {{ uint32_t w0, w1; vn_q15_words2(w + {o}u, &w0, &w1);",
                      f"    a0 = vn_q15_smlad(w0, {x}, a0); a1 = vn_q15_smlad(w1, {x}, a1);"]
            if not gru:
                lines += [f"    vn_q15_words2(w + {o + 4}u, &w0, &w1);",
                          f"    a2 = vn_q15_smlad(w0, {x}, a2); a3 = vn_q15_smlad(w1, {x}, a3); }}"]
            elif last:
                lines.append(f"    a3 = vn_q15_smlad(vn_q15_word(w + {o + 6}u), {x}, a3); }}")
            else:
                lines.append(f"    a2 = vn_q15_smlad(vn_q15_word(w + {o + 4}u), {x}, a2); }}")
        lines[-1] += " }"
    return lines


def _units(gen: Q15Generator, update: list[str]) -> list[str]:
    """C: the step around the unit loop: input, the loop (tile, `update` leaving hn), the new
    h into the state, the dense output (its sum over the units in the loop) and the skip."""
    cfg, t, sym = gen.model.config, gen.model.tensors, gen.sym
    n, hp = cfg["hidden"], even(cfg["hidden"])
    dq, db, a_out = quantise_columns(np.asarray(t["dense.weight"], np.float64).T, np.asarray(t["dense.bias"]), [15])
    gen.arrays.append(int_array(f"{sym}_dense_w", dq, "int16_t"))
    gen.formats["accumulators"]["dense"] = a_out
    gen.state.insert(0, f"int16_t v[{hp + 2}] __attribute__((aligned(8)));  /* [h (Q15), x] */")
    loop = [f"for (uint32_t u = 0; u < {n}u; ++u, w += {4 * (hp + 2)}u, b += 4) {{",
            "  VN_Q15_OPAQUE(w);", "  VN_Q15_OPAQUE(v);"]
    loop += ["  " + line for line in _unit_tile(gen, hp) + update]
    loop += ["  h[u] = (int16_t)hn;", f"  y = vn_q15_mla_bb({sym}_dense_w[u], hn, y);", "}"]
    return [*gen.input_q15(pair=False),
            f"s->v[{hp}] = xq;",
            f"int16_t h[{hp}] __attribute__((aligned(8)));",
            *([f"h[{n}] = 0;"] if hp > n else []),
            f"int32_t y = {int(db[0])};",
            f"const int16_t *w = {sym}_rnn_w;",
            f"const int32_t *b = {'s->rnn_b' if cfg.get('knobs') else f'{sym}_rnn_b'};",
            "const int16_t *v = s->v;",
            *loop,
            f"memcpy(s->v, h, {2 * hp}u);",
            f"return (float)y * {pow2(-a_out)}{' + x' if cfg.get('skip', True) else ''};"]


def _lstm(gen: Q15Generator) -> list[str]:
    """LSTM: i, f, o from the sigmoid table, g and tanh(c) from the tanh table; the cell
    c = f c + i g in int32 (Q f_c: 16 bits finer than an int16 of its calibrated range), f c
    as a 32 x 16 product (SMULWB, truncated), i g a Q30 product shifted to Q f_c, the sum
    saturated; h = o tanh(c) rounded."""
    n = gen.model.config["hidden"]
    hp, acc = _unit_matrix(gen)
    f_c = min(gen.fracs["c"] + 16, 30)
    gen.state.append(f"int32_t c[{n}];  /* the cell, Q{f_c} */")
    gen.formats["cell"] = f_c
    tt, st = _tables(gen)
    ig = "ig * gg" + (f" >> {30 - f_c}" if f_c < 30 else "")
    update = [f"const int32_t ig = vn_q15_lerp({to_q20('a0', acc, halve=True)}, {st});",
              f"const int32_t fg = vn_q15_lerp({to_q20('a1', acc, halve=True)}, {st});",
              f"const int32_t gg = vn_q15_lerp({to_q20('a2', acc)}, {tt});",
              f"const int32_t og = vn_q15_lerp({to_q20('a3', acc, halve=True)}, {st});",
              f"const int32_t cn = vn_q31_add_sat(2 * vn_q15_mul_wb(s->c[u], fg), {ig});",
              "s->c[u] = cn;",
              f"const int32_t hn = vn_q15_mla_bb(og, vn_q15_lerp({to_q20('cn', f_c)}, {tt}), 1 << 14) >> 15;"]
    return _units(gen, update)


def _gru(gen: Q15Generator) -> list[str]:
    """GRU: z, r from the sigmoid table; the candidate tanh(k_h x + b_h' + r (R_h h + b_h))
    with r times the recurrent part as a 32 x 16 product (SMULWB, at one bit fewer: the
    input part halved to match); h = n + z (h - n) rounded (a convex mix: no saturation)."""
    hp, acc = _unit_matrix(gen)
    tt, st = _tables(gen)
    update = [f"const int32_t zg = vn_q15_lerp({to_q20('a0', acc, halve=True)}, {st});",
              f"const int32_t rg = vn_q15_lerp({to_q20('a1', acc, halve=True)}, {st});",
              "const int32_t pre = (a3 >> 1) + vn_q15_mul_wb(a2, rg);",
              f"const int32_t ng = vn_q15_lerp({to_q20('pre', acc - 1)}, {tt});",
              "const int32_t hn = ng + ((zg * ((int32_t)v[u] - ng) + (1 << 14)) >> 15);"]
    return _units(gen, update)
