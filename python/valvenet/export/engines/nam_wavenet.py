"""The NAM WaveNet (Neural Amp Modeler's layer arrays): its float32 and int16 engines.

Float32 (float_engine.py has the schedule): per layer array, a rechannel product into the
first layer's ring; per layer, one product for the dilated conv and the input mixer whose
epilogue is the activation and the head sum (p = act(z), ha += p), one for the residual;
the head product at the end of the array feeds the next array's head sum (or y). Knobs
(models/knobs.py): the mixer's knob rows are constant over a block, so they are folded into
the conv's bias by SYM_set_knobs (FloatGenerator.knob_bias), not multiplied per sample.

Int16: layer-major sub-blocks, generic kernels per channel count (nam_q15.py has the
arithmetic; firmware/nn/nam_q15.h the kernels).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from valvenet.export.c_text import BLOCK, CodegenError, c_float, even, gains
from valvenet.export.engines.float_engine import FloatGenerator
from valvenet.export.engines.float_products import Product, Source
from valvenet.export.engines.nam_q15 import NamBlocks
from valvenet.export.engines.q15_engine import Q15Generator

KINDS = ("nam_wavenet",)
FULL_RECOMPUTE = True  # a WaveNet has a receptive field: the baseline applies
FLOAT32_KNOBS = True
INT16_KNOBS = True

ACTIVATION_EXPRESSION = {"tanh": "vn_tanh({x})", "hardtanh": "fminf(fmaxf({x}, -1.0f), 1.0f)",
                         "relu": "fmaxf({x}, 0.0f)", "softsign": "{x} / (1.0f + fabsf({x}))",
                         "fasttanh": "vn_nam_fast_tanh({x})", "leakyrelu": "({x} > 0.0f ? {x} : 0.01f * {x})"}


def int16_scales(config: dict[str, Any]) -> list[str]:
    """The calibrated tensors (calibrate.py's names) the int16 engine needs."""
    names = ["x"]
    arrays = config["layer_arrays"]
    for a, array in enumerate(arrays):
        n = len(array["dilations"])
        names += [f"a{a}.h{i}" for i in range(n + (a + 1 < len(arrays)))]
        names += [f"a{a}.p{i}" for i in range(n)] + [f"a{a}.s"]
    return names


def check_int16(config: dict[str, Any]) -> None:
    """Refuses what the int16 engine cannot express."""
    for a, array in enumerate(config["layer_arrays"]):
        if array.get("gated", False):
            raise CodegenError(f"layer_arrays[{a}]: the int16 engine has no gated NAM layers "
                               "(act x sigmoid); use the float32 engine")
        if array["activation"] not in ACTIVATION_EXPRESSION:
            raise CodegenError(f"layer_arrays[{a}]: no int16 engine for activation {array['activation']!r}")


# ------------------------------------------------------------------------------ float32
def float32(gen: FloatGenerator) -> str:
    """The block function: every layer array in turn over the sub-block."""
    arrays, sym = gen.config["layer_arrays"], gen.sym
    if any(a["kernel_size"] != 3 for a in arrays):
        raise CodegenError("the C engine implements kernel size 3 (every ValveNet/NAM WaveNet uses it)")
    first = []
    for a in arrays:
        first.append(len(gen.rings))
        for d in a["dilations"]:
            gen.ring(d, a["channels"])
    gen.ring_tables()
    scratch: list[str] = []
    code = [_float_array(gen, ai, first[ai], scratch) for ai in range(len(arrays))]
    widest = max(even(a["channels"]) for a in arrays)
    scale = c_float(gen.config["head_scale"])
    return f"""
VN_HOT_TEXT static void {sym}_block({gen.stream_type} *s, const float *x, float *y, const uint32_t m) {{
  float pz[{BLOCK * widest}] VN_ALIGNED8;
  {chr(10).join("  " + line for line in scratch).strip()}
{"".join(code)}  for (uint32_t j = 0; j < m; ++j) {{
    y[j] = {scale} * y[j];
  }}
}}
"""


def _float_activation(name: str) -> str:
    """The float32 engine's expression for an activation: tanh is the float engine's spline
    (vn_tanh_f32, firmware/nn/activations.h); the int16 engine's float steps keep vn_tanh."""
    return "vn_tanh_f32({x})" if name == "tanh" else ACTIVATION_EXPRESSION[name]


def _float_array(gen: FloatGenerator, ai: int, k0: int, scratch: list[str]) -> str:
    """The block function's code for layer array ai (its first ring: k0); its scratch
    buffers go into `scratch`."""
    arrays, t, sym = gen.config["layer_arrays"], gen.t, gen.sym
    a = arrays[ai]
    c, cp, n, prefix = a["channels"], even(a["channels"]), len(a["dilations"]), f"array{ai}"
    last_array = ai == len(arrays) - 1
    if ai == 0:
        rech_source, rech_in = Source("x", 1, a["input_size"]), "x"
    else:
        prev = even(arrays[ai - 1]["channels"])
        rech_source, rech_in = Source("hf", prev, a["input_size"]), f"hf{ai - 1}"
    rech_w, _ = gen.product(Product(f"a{ai}_rechannel", [rech_source], [t[f"{prefix}.rechannel.weight"].T],
                                    out_stride=cp, hot=False))
    mixers = [t[f"{prefix}.layer{i}.mixer.weight"] for i in range(n)]  # (1 + knobs, z): the audio's row first
    convs = [np.concatenate([t[f"{prefix}.layer{i}.conv.weight"][j] for j in range(3)] + [mixers[i][:1]], axis=0).T
             for i in range(n)]
    biases = [t[f"{prefix}.layer{i}.conv.bias"] for i in range(n)]
    knob_rows = [m[1:] for m in mixers]  # (knobs, z)
    gated = a.get("gated", False)
    if gated:  # rows [a0, b0, a1, b1, ...]: each channel's activation and sigmoid rows side by side
        order = np.arange(2 * c).reshape(2, c).T.reshape(-1)
        convs, biases, knob_rows = [w[order] for w in convs], [b[order] for b in biases], [k[:, order] for k in knob_rows]
    taps = [Source("old", cp, c), Source("mid", cp, c), Source("cur", cp, c), Source("x", 1, 1)]
    # The activation and the head sum are the product's epilogue (p = act(z), ha += p; gated:
    # p = act(a) * sigmoid(b)).
    conv = Product(f"a{ai}_conv", taps, convs, bias=biases, epilogue="activate_gate" if gated else "activate",
                   out_stride=cp, activation=_float_activation(a["activation"]))
    conv_w, conv_stride = gen.product(conv)
    if knob_rows[0].size:
        conv_w = gen.knob_bias(f"a{ai}_conv_w", conv, biases, knob_rows)
    n_res = sum(f"{prefix}.layer{i}.residual.weight" in t for i in range(n))
    res_w, res_stride = "0", 0
    if n_res:
        res_w, res_stride = gen.product(Product(
            f"a{ai}_residual", [Source("p", cp, c)],
            [t[f"{prefix}.layer{i}.residual.weight"].T for i in range(n_res)],
            bias=[t[f"{prefix}.layer{i}.residual.bias"] for i in range(n_res)],
            epilogue="residual", out_stride=cp))
    head_bias = [t[f"{prefix}.head.bias"]] if a["head_bias"] else None
    next_cp = 1 if last_array else even(arrays[ai + 1]["channels"])
    head_w, _ = gen.product(Product(f"a{ai}_head", [Source("ha", cp, c)], [t[f"{prefix}.head.weight"].T],
                                    bias=head_bias, out_stride=next_cp, hot=False))
    scratch.append(f"float ha{ai}[{BLOCK * cp}] VN_ALIGNED8;")
    if not last_array:
        scratch.append(f"float hf{ai}[{BLOCK * cp}] VN_ALIGNED8;")
    write_first, mirror_first = gen.write_ring(str(k0), cp)
    write_next, mirror_next = gen.write_ring("k + 1u", cp)
    init = (f"  for (uint32_t i = 0; i < {BLOCK * cp}u; ++i) {{\n    ha0[i] = 0.0f;\n  }}\n" if ai == 0 else "")
    after_last = (f"      {sym}_a{ai}_residual({res_w} + l * {res_stride}u, pz, cur, hf{ai}, m);\n"
                  if not last_array else "")
    residual = (f"{sym}_a{ai}_residual({res_w} + l * {res_stride}u, pz, cur, {write_next}, m);\n      {mirror_next}"
                if n_res else "(void)0; /* no residual: the last layer of the last array */")
    head_out = f"ha{ai + 1}" if not last_array else "y"
    return f"""{init}  /* layer array {ai}: {n} layers of {c} channels */
  {sym}_a{ai}_rechannel({rech_w}, {rech_in}, {write_first}, m);
  {mirror_first}
  for (uint32_t l = 0; l < {n}u; ++l) {{
    const uint32_t k = {k0}u + l;
{gen.taps("k", cp)}    {sym}_a{ai}_conv({conv_w} + l * {conv_stride}u, old, mid, cur, x, pz, ha{ai}, m);
    if (l + 1u < {n}u) {{
      {residual}
    }} else {{
{after_last}    }}
    s->pos[k] = p + m >= capacity ? p + m - capacity : p + m;
  }}
  {sym}_a{ai}_head({head_w}, ha{ai}, {head_out}, m);
"""


# -------------------------------------------------------------------------------- int16
def int16(gen: Q15Generator) -> tuple[str, str, str]:
    """Layer-major sub-blocks (nam_q15.NamBlocks: its docstring has the arithmetic)."""
    code, loop = NamBlocks(gen).text(*gains(gen.model))
    return code, loop, ("Layer-major sub-blocks, each sample's integer arithmetic the same in any of them: the\n"
                        " * output does not depend on the block size; in and out may alias.")
