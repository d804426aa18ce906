"""The recurrent models (LSTM and GRU, one layer, a dense output and the input skip): their
float32 and int16 engines. Both step sample by sample.

A stacked LSTM (layers > 1, NAM's LSTM) has a plainer float32 engine (_float_stacked: loops
over the rows of each layer); a learned initial state (NAM's) is what SYM_reset copies into
the state. The int16 engine has neither and refuses them.

Float32: the recurrent product (hidden state held in registers, weights in the order read)
computes a unit's gate pre-activations, and the same loop iteration applies the activations
and the cell update of that unit (beyond 16 units, where the hidden state is reloaded, the
pre-activations go through a z array and a second loop). The sigmoid gates are scaled by 0.5
(see vn_sigmoid_half; exact).

Int16: recurrent_q15.py (its `int16` emitter is imported here, where the registry looks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from valvenet.export.c_text import CodegenError, c_float, even
from valvenet.export.engines.float_engine import FloatGenerator
from valvenet.export.engines.recurrent_q15 import int16  # noqa: F401 (the registry's interface)
from valvenet.models import recurrent

KINDS = ("lstm", "gru")
FULL_RECOMPUTE = False  # no receptive field: the baseline does not apply
FLOAT32_KNOBS = True  # one-layer models: the knobs' input rows are folded into the gate biases
INT16_KNOBS = True
RESIDENT_UNITS = 16  # up to this many units the hidden state stays in registers through the product


def int16_scales(config: dict[str, Any]) -> list[str]:
    """The calibrated tensors (calibrate.py's names) the int16 engine needs."""
    return ["x", "c"] if config["kind"] == "lstm" else ["x"]


def check_int16(config: dict[str, Any]) -> None:
    """Every one-layer LSTM and GRU from a zero state has an int16 engine."""
    if config.get("layers", 1) > 1:
        raise CodegenError(f"the int16 engine has no stacked LSTM (layers: {config['layers']}); "
                           "use the float32 engine")
    if config.get("initial_state", False):
        raise CodegenError("the int16 engine has no learned LSTM initial state (NAM's LSTM); "
                           "use the float32 engine")


# ------------------------------------------------------------------------------ float32
def float32(gen: FloatGenerator) -> str:
    """One step per sample: z = bias + kernel x + R h for every gate row (the hidden state in
    registers, the rows of one unit together, their weights in the order read), then the
    activations and the state update, unit by unit. With the hidden state resident in
    registers (h <= 16) the update of unit u follows its gate sums in the same loop (the
    product reads the old h from registers, so writing s->h[u] there is safe): no z array."""
    cfg, t, sym = gen.config, gen.t, gen.sym
    if cfg.get("layers", 1) > 1:
        if cfg.get("knobs"):
            raise CodegenError("the float32 engine has no knobs for a stacked LSTM")
        return _float_stacked(gen)
    h, lstm = cfg["hidden"], cfg["kind"] == "lstm"
    _initial_state(gen, [("s->h", "h_initial", "rnn.initial_h"), ("s->c", "c_initial", "rnn.initial_c")])
    w, unit_stride, with_input, units = _float_weights(gen)
    dense_w = gen.array("dense_w", t["dense.weight"][:, 0])
    dense_b = c_float(t["dense.bias"][0])
    skip = " + xj" if cfg.get("skip", True) else ""
    gen.state_fields += [f"float h[{even(h)}] VN_ALIGNED8;"] + ([f"float c[{even(h)}];"] if lstm else [])
    resident = h <= RESIDENT_UNITS
    loads = [line for i, size in units for line in _load_h(i, size)] if resident else []
    lines = loads + ["const float *wp = " + w + ";", "VN_OPAQUE(wp);", "#pragma GCC unroll 1",
                     f"for (uint32_t u = 0; u < {h}u; ++u) {{"]
    body = _gate_sums(with_input, units, resident)
    if resident:  # the update fused into the product loop: the old state is in registers
        body += _fused_update(gen, lstm)
        body += ["s->h[u] = hn;", f"y_acc += {dense_w}[u] * hn;", f"wp += {unit_stride}u;"]
        lines = [f"float y_acc = {dense_b};"] + lines + ["  " + b for b in body] + ["}"]
        update = ""
    else:
        body += [f"z[4u * u + {g}u] = a{g};" for g in range(len(with_input))] + [f"wp += {unit_stride}u;"]
        lines += ["  " + b for b in body] + ["}"]
        update = _update_loop(gen, lstm, dense_w, dense_b)
    product = "\n".join("    " + line for line in lines)
    return f"""
VN_HOT_TEXT static void {sym}_block({gen.stream_type} *s, const float *x, float *y, const uint32_t m) {{
#pragma GCC unroll 1
  for (uint32_t j = 0; j < m; ++j) {{
    const float xj = x[j];
{"" if resident else f"    float z[{4 * h}] VN_ALIGNED8;{chr(10)}"}
{product}
{update}
    y[j] = y_acc{skip};
  }}
}}
"""


def _initial_state(gen: FloatGenerator, fields: list[tuple[str, str, str]]) -> None:
    """With a learned initial state, SYM_reset copies each tensor into the state: fields are
    (destination pointer on s, weight array name, tensor name)."""
    if not gen.config.get("initial_state", False):
        return
    lines = []
    for destination, name, tensor in fields:
        values = np.asarray(gen.t[tensor], np.float32)
        lines.append(f"memcpy({destination}, {gen.array(name, values)}, {4 * values.size}u);")
    gen.initial_state = "\n  ".join(lines)


def _float_stacked(gen: FloatGenerator) -> str:
    """A stacked LSTM, sample by sample: per layer z = b + W [input, h] (rows in gate order
    i, f, g, o), then the cell and hidden updates; the dense output reads the last layer."""
    cfg, t, sym = gen.config, gen.t, gen.sym
    h, count = cfg["hidden"], cfg["layers"]
    hp = even(h)
    gen.state_fields += [f"float h[{count * hp}] VN_ALIGNED8;", f"float c[{count * hp}];"]
    fields = []
    steps = []
    for layer in range(count):
        p, width = recurrent.layer_prefix(layer), 1 if layer == 0 else h
        weight = np.concatenate([t[f"{p}.kernel"], t[f"{p}.recurrent_kernel"]], axis=0).T  # (4h, width + h)
        w = gen.array(f"l{layer}_w", np.asarray(weight, np.float32))
        b = gen.array(f"l{layer}_b", np.asarray(t[f"{p}.bias"], np.float32))
        fields += [(f"s->h + {layer * hp}u", f"l{layer}_h_initial", f"{p}.initial_h"),
                   (f"s->c + {layer * hp}u", f"l{layer}_c_initial", f"{p}.initial_c")]
        source = "&xj" if layer == 0 else f"s->h + {(layer - 1) * hp}u"
        steps.append(f"""    {{ /* layer {layer} */
      const float *in = {source};
      float *hl = s->h + {layer * hp}u, *cl = s->c + {layer * hp}u;
      float z[{4 * h}];
      for (uint32_t r = 0; r < {4 * h}u; ++r) {{
        const float *wr = {w} + r * {width + h}u;
        float acc = {b}[r];
        for (uint32_t i = 0; i < {width}u; ++i) acc += wr[i] * in[i];
        for (uint32_t i = 0; i < {h}u; ++i) acc += wr[{width}u + i] * hl[i];
        z[r] = acc;
      }}
      for (uint32_t u = 0; u < {h}u; ++u) {{
        const float c = vn_sigmoid(z[{h}u + u]) * cl[u] + vn_sigmoid(z[u]) * vn_tanh(z[{2 * h}u + u]);
        cl[u] = c;
        hl[u] = vn_sigmoid(z[{3 * h}u + u]) * vn_tanh(c);
      }}
    }}""")
    _initial_state(gen, fields)
    dense_w = gen.array("dense_w", np.asarray(t["dense.weight"][:, 0], np.float32))
    last = (count - 1) * hp
    skip = " + xj" if cfg.get("skip", True) else ""
    nl = "\n"
    return f"""
VN_HOT_TEXT static void {sym}_block({gen.stream_type} *s, const float *x, float *y, const uint32_t m) {{
  for (uint32_t j = 0; j < m; ++j) {{
    const float xj = x[j];
{nl.join(steps)}
    float y_acc = {c_float(t["dense.bias"][0])};
    for (uint32_t u = 0; u < {h}u; ++u) y_acc += {dense_w}[u] * s->h[{last}u + u];
    y[j] = y_acc{skip};
  }}
}}
"""


def _float_weights(gen: FloatGenerator) -> tuple[str, int, list[bool], list[tuple[int, int]]]:
    """The recurrent product's weights, unit by unit in the order read: (array, floats per
    unit, whether each gate adds the input, the hidden state's units (first, 1 or 2))."""
    cfg, t = gen.config, gen.t
    h, lstm = cfg["hidden"], cfg["kind"] == "lstm"
    gates = 4 if lstm else 3
    kernel, rec = t["rnn.kernel"][0], t["rnn.recurrent_kernel"]
    sigmoid = [True, True, False, True] if lstm else [True, True, False]
    if lstm:
        bias = [t["rnn.bias"][g * h:(g + 1) * h] for g in range(4)]
        with_input = [True] * 4
    else:
        b_in, b_rec = t["rnn.bias"][0], t["rnn.bias"][1]
        bias = [b_in[:h] + b_rec[:h], b_in[h:2 * h] + b_rec[h:2 * h], b_rec[2 * h:]]
        with_input = [True, True, False]  # the candidate's input part is added after the reset gate
    units = [(i, 2 if i + 1 < h else 1) for i in range(0, h, 2)]
    weights = []
    for u in range(h):
        for g in range(gates):
            scale = np.float32(0.5 if sigmoid[g] else 1.0)
            weights.append([bias[g][u] * scale, kernel[g * h + u] * scale if with_input[g] else 0.0])
        for i, size in units:
            for g in range(gates):
                scale = np.float32(0.5 if sigmoid[g] else 1.0)
                weights.append([rec[i, g * h + u] * scale, rec[i + 1, g * h + u] * scale if size == 2 else 0.0])
    w = gen.array("rnn_w", np.asarray(weights, np.float32))
    stride = 2 * gates * (1 + len(units))
    knob_rows = np.asarray(t["rnn.kernel"][1:], np.float64)  # (knobs, gates x h): their input rows
    if knob_rows.size:  # each gate's (halved) bias follows the knobs; the GRU candidate's is _candidate_in's
        entries = [(u * stride + 2 * g, float(np.asarray(weights[u * (gates * (1 + len(units))) + g][0])),
                    knob_rows[:, g * h + u] * (0.5 if sigmoid[g] else 1.0))
                   for u in range(h) for g in range(gates) if with_input[g]]
        w = gen.knob_entries("rnn_w", w, h * stride, entries)
    return w, stride, with_input, units


def _load_h(i: int, size: int) -> list[str]:
    """C: hidden state unit(s) i (and i + 1) into registers."""
    if size == 2:
        return [f"float h{i}, h{i + 1};", f"vn_load_pair(s->h + {i}, &h{i}, &h{i + 1});"]
    return [f"const float h{i} = s->h[{i}];"]


def _gate_sums(with_input: list[bool], units: list[tuple[int, int]], resident: bool) -> list[str]:
    """C: unit u's gate sums a{g} = bias + k x + R h (the loop body's product)."""
    gates = len(with_input)
    body = []
    for g in range(gates):  # (bias, input weight) pairs
        body += [f"float a{g}, k{g};", f"vn_load_pair(wp + {2 * g}, &a{g}, &k{g});"]
        body.append(f"a{g} += k{g} * xj;" if with_input[g] else f"(void)k{g};")
    off = 2 * gates
    for i, size in units:
        if not resident:
            body += _load_h(i, size)
        for g in range(gates):
            body.append(f"{{ float wl, wh; vn_load_pair(wp + {off + 2 * g}, &wl, &wh); a{g} += wl * h{i};"
                        + (f" a{g} += wh * h{i + 1}; }}" if size == 2 else " (void)wh; }"))
        off += 2 * gates
    return body


def _candidate_in(gen: FloatGenerator) -> str:
    """The GRU candidate's input weights and biases, (k, b) pairs by unit (a conditioned
    model's biases follow the knobs, FloatGenerator.knob_entries)."""
    h, t = gen.config["hidden"], gen.t
    kernel, b_in = t["rnn.kernel"][0], t["rnn.bias"][0]
    table = gen.array("candidate_in", np.stack([kernel[2 * h:], b_in[2 * h:]], axis=1))
    knob_rows = np.asarray(t["rnn.kernel"][1:], np.float64)
    if not knob_rows.size:
        return table
    entries = [(2 * u + 1, float(b_in[2 * h + u]), knob_rows[:, 2 * h + u]) for u in range(h)]
    return gen.knob_entries("candidate_in", table, 2 * h, entries)


def _fused_update(gen: FloatGenerator, lstm: bool) -> list[str]:
    """C: unit u's activations and state update, in the product loop; leaves hn."""
    if lstm:
        # sigmoid(2 z) = (1 + tanh(z)) / 2 (a0, a1, a3 are halved): c = f c' + i g and
        # h = o tanh(c) become two FMAs with a variable addend and one halving each.
        return ["const float ti = vn_tanh_f32(a0), tf = vn_tanh_f32(a1), tg = vn_tanh_f32(a2), to = vn_tanh_f32(a3);",
                "const float c_old = s->c[u];",
                "const float c = 0.5f * (fmaf(tf, c_old, c_old) + fmaf(ti, tg, tg));",
                "s->c[u] = c;",
                "const float tc = vn_tanh_f32(c);",
                "const float hn = 0.5f * fmaf(to, tc, tc);"]
    return ["float k, b;", f"vn_load_pair({_candidate_in(gen)} + 2u * u, &k, &b);",
            "const float update = vn_sigmoid_half(a0), reset = vn_sigmoid_half(a1);",
            "const float candidate = vn_tanh_f32(k * xj + b + reset * a2);",
            "const float hn = update * s->h[u] + (1.0f - update) * candidate;"]


def _update_loop(gen: FloatGenerator, lstm: bool, dense_w: str, dense_b: str) -> str:
    """C: the activations and state updates from the z array (hidden state not resident),
    and the dense output y_acc."""
    h = gen.config["hidden"]
    if lstm:
        return f"""    float y_acc = {dense_b};
#pragma GCC unroll 1
    for (uint32_t u = 0; u < {h}u; ++u) {{
      float zi, zf, zg, zo;
      vn_load_pair(z + 4u * u, &zi, &zf);
      vn_load_pair(z + 4u * u + 2u, &zg, &zo);
      const float in_gate = vn_sigmoid_half(zi), forget = vn_sigmoid_half(zf);
      const float cell = vn_tanh_f32(zg), out_gate = vn_sigmoid_half(zo);
      const float c = forget * s->c[u] + in_gate * cell;
      s->c[u] = c;
      const float hn = out_gate * vn_tanh_f32(c);
      s->h[u] = hn;
      y_acc += {dense_w}[u] * hn;
    }}"""
    return f"""#pragma GCC unroll 1
    for (uint32_t u = 0; u < {h}u; ++u) {{
      float zu, zr, k, b;
      vn_load_pair(z + 4u * u, &zu, &zr);
      vn_load_pair({_candidate_in(gen)} + 2u * u, &k, &b);
      const float update = vn_sigmoid_half(zu), reset = vn_sigmoid_half(zr);
      const float candidate = vn_tanh_f32(k * xj + b + reset * z[4u * u + 2u]);
      s->h[u] = update * s->h[u] + (1.0f - update) * candidate;
    }}
    float y_acc = {dense_b};
    for (uint32_t u = 0; u < {h}u; ++u) {{
      y_acc += {dense_w}[u] * s->h[u];
    }}"""
