"""The float engine's matrix products: straight-line C for out = bias + W . inputs.

Every size is a compile-time constant, so each product is written as straight-line C (no loop
over channels is left for the compiler to unroll or not) and its weights are laid out in the
exact order that code reads them. The products are tiled: a tile of 4 output rows x 4 samples
(2 x 8 for 2-channel layers) keeps its 16 accumulators in FPU registers, so every weight
loaded feeds 4 samples and every input loaded feeds 4 rows; weights and inputs are loaded two
floats at a time (vn_load_pair: one VLDR.64). Biases are loaded one float at a time, straight
into the accumulators: both halves of a pair would be accumulated into in place, and GCC then
copies halves out of the register pair (one or two VMOVs per pair, more than the second load).

Bit-identical for any block size: each output is accumulated in one fixed order (bias, then
the inputs in order), whatever the tile or the sub-block it falls in.

The activations run in the products' epilogues, on the accumulators: a NAM layer's conv
stores act(z) and adds it to the head sum, a gated layer's conv stores the gate output (its rows
interleave each channel's tanh and gate halves), so no pre-activation goes through memory
(docs/profile.md has the measurements behind these choices).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from valvenet.export.c_text import even

TILE_ROWS = 4  # output rows per register tile (2 where the row count is not a multiple of 4)
TILE_ACCUMULATORS = 16  # rows x samples per tile: 16 accumulators of the FPU's 32 registers

# ------------------------------------------------------------------------------ products
@dataclass
class Source:
    """An input of a product: `width` floats per sample at name[stride * sample + i]."""

    name: str
    stride: int
    width: int


@dataclass
class Product:
    """out = bias + matrix @ (inputs of all sources, concatenated), for m samples.

    epilogue: "store" (out[s * out_stride + row]), "residual" (hn = hc + out, both with
    out_stride), "skip" (y[s] += mix . out), "residual_skip" (both), "activate" (out = act(sum)
    and ha += out, both with out_stride: a NAM layer's activation and head sum, fused so that
    the pre-activations never leave the registers), "gate" (rows 2i, 2i + 1 are a gated
    channel's tanh and half-gate inputs: out[s * out_stride + i] = vn_gate2(...)) or
    "activate_gate" (a gated NAM layer: rows 2i, 2i + 1 are channel i's activation and sigmoid
    inputs, out[s * out_stride + i] = act(a) * vn_sigmoid_f32(b) and ha += it)."""

    name: str
    sources: list[Source]
    matrix: list[np.ndarray]  # one (rows, inputs) matrix per layer sharing this code
    bias: list[np.ndarray] | None = None
    mix: list[np.ndarray] | None = None
    epilogue: str = "store"
    out_stride: int = 1
    activation: str = "vn_tanh_f32({x})"  # the "activate" epilogue's expression
    group: int = 0
    tile: int = 0
    hot: bool = True  # per layer (VN_HOT_TEXT: ITCM) or once per block (VN_NOINLINE: flash)
    units: list[tuple[int, int, int]] = field(default_factory=list)  # (source, first input, 1 or 2)

    def __post_init__(self) -> None:
        rows = self.rows
        self.group = self.group or (TILE_ROWS if even(rows) % TILE_ROWS == 0 else 2)
        self.tile = self.tile or max(1, TILE_ACCUMULATORS // self.group)
        for k, source in enumerate(self.sources):  # pairs of inputs where they are 8-byte aligned
            i = 0
            while i < source.width:
                size = 2 if i + 1 < source.width and source.stride % 2 == 0 else 1
                self.units.append((k, i, size))
                i += size

    @property
    def rows(self) -> int:
        return self.matrix[0].shape[0]

    @property
    def groups(self) -> int:
        return -(-self.rows // self.group)

    @property
    def group_stride(self) -> int:
        """Floats of weights per group: bias pairs, one pair per (unit, row), mix pairs."""
        g = self.group
        return (self.tile * g if self.bias is not None else 0) + 2 * g * len(self.units) + (g if self.mix is not None else 0)

    @property
    def layer_stride(self) -> int:
        return self.groups * self.group_stride

    def _input_index(self, source: int, i: int) -> int:
        return sum(s.width for s in self.sources[:source]) + i

    def weights(self) -> np.ndarray:
        """All layers' weights in the order the generated code reads them."""
        out = []
        g = self.group
        for layer, matrix in enumerate(self.matrix):
            rows = np.zeros((self.groups * g, matrix.shape[1]), np.float32)
            rows[:self.rows] = matrix
            bias = np.zeros(self.groups * g, np.float32)
            mix = np.zeros(self.groups * g, np.float32)
            if self.bias is not None:
                bias[:self.rows] = self.bias[layer]
            if self.mix is not None:
                mix[:self.rows] = self.mix[layer]
            for group in range(self.groups):
                r0 = group * g
                if self.bias is not None:  # one copy per sample of a tile: loaded straight into the accumulators
                    out += [bias[r0:r0 + g]] * self.tile
                for k, i, size in self.units:
                    col = self._input_index(k, i)
                    for o in range(g):
                        pair = [rows[r0 + o, col], rows[r0 + o, col + 1] if size == 2 else 0.0]
                        out.append(np.asarray(pair, np.float32))
                if self.mix is not None:
                    out.append(mix[r0:r0 + g])
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    # -------------------------------------------------------------- code
    def _body(self, samples: int, real: list[bool], indent: str) -> list[str]:
        """Straight-line code for one group of rows and `samples` samples."""
        live = [o for o in range(self.group) if real[o]]
        acc = {(o, s): f"a{o}_{s}" for o in live for s in range(samples)}
        lines, off = self._accumulators(samples, real, live, acc)
        for k, i, size in self.units:
            lines += self._unit(k, i, size, off, samples, live, acc)
            off += 2 * self.group
        lines += self._epilogue(samples, real, live, acc, off)
        return [indent + line for line in lines]

    def _accumulators(self, samples: int, real: list[bool], live: list[int],
                      acc: dict[tuple[int, int], str]) -> tuple[list[str], int]:
        """(C declaring the accumulators, from the bias or zero; the weights' offset after it)."""
        g, lines = self.group, []
        if self.bias is None:
            return [" ".join(f"float {acc[o, s]} = 0.0f;" for s in range(samples)) for o in live], 0
        for s in range(samples):
            for o in range(0, g, 2):
                if real[o] and real[o + 1]:
                    lines.append(f"float {acc[o, s]} = wp[{s * g + o}], {acc[o + 1, s]} = wp[{s * g + o + 1}];")
                elif real[o]:
                    lines.append(f"float {acc[o, s]} = wp[{s * g + o}];")
        return lines, self.tile * g

    def _unit(self, k: int, i: int, size: int, off: int, samples: int, live: list[int],
              acc: dict[tuple[int, int], str]) -> list[str]:
        """C: one input unit (one or two inputs of source k) into every accumulator. With no
        more samples than rows, the samples' inputs stay in registers and each row's weights
        are loaded in turn; else the rows' weights stay and each sample's inputs are loaded."""
        src = self.sources[k]

        def data(s: int) -> list[str]:
            at = f"d{k} + {src.stride * s + i}"
            if size == 2:
                return [f"float x{s}l, x{s}h;", f"vn_load_pair({at}, &x{s}l, &x{s}h);"]
            return [f"const float x{s}l = d{k}[{src.stride * s + i}];"]

        def weight(o: int, name: str) -> list[str]:
            return [f"float {name}l, {name}h;", f"vn_load_pair(wp + {off + 2 * o}, &{name}l, &{name}h);"]

        def fma(o: int, s: int, name: str) -> str:
            text = f"{acc[o, s]} += {name}l * x{s}l;"
            return text + (f" {acc[o, s]} += {name}h * x{s}h;" if size == 2 else "")

        lines = ["{"]
        if samples <= len(live):  # the data resident
            for s in range(samples):
                lines += ["  " + t for t in data(s)]
            for o in live:
                lines.append("  {")
                lines += ["    " + t for t in weight(o, "w")]
                lines += ["    " + fma(o, s, "w") for s in range(samples)]
                lines.append("  }")
        else:
            for o in live:
                lines += ["  " + t for t in weight(o, f"w{o}")]
            for s in range(samples):
                lines.append("  {")
                lines += ["    " + t for t in data(s)]
                lines += ["    " + fma(o, s, f"w{o}") for o in live]
                lines.append("  }")
        return lines + ["}"]

    def _epilogue(self, samples: int, real: list[bool], live: list[int], acc: dict[tuple[int, int], str],
                  off: int) -> list[str]:
        """C: the accumulators to their destination (see the class docstring's epilogues)."""
        g, lines = self.group, []
        if self.mix is not None:
            for o in range(0, g, 2):
                if real[o] or real[o + 1]:
                    lines.append(f"float m{o}, m{o + 1};")
                    lines.append(f"vn_load_pair(wp + {off + o}, &m{o}, &m{o + 1});")
        for s in range(samples):
            lines += self._store(s, real, live, acc)
            if self.epilogue in ("skip", "residual_skip"):
                terms = "".join(f" y{s} += m{o} * {acc[o, s]};" for o in live)
                lines.append(f"{{ float y{s} = yp[{s}];{terms} yp[{s}] = y{s}; }}")
        return lines

    def _store(self, s: int, real: list[bool], live: list[int], acc: dict[tuple[int, int], str]) -> list[str]:
        """C: sample s's accumulators stored by the epilogue (all but the skip sum)."""
        g, stride, lines = self.group, self.out_stride, []
        if self.epilogue in ("residual", "residual_skip"):
            for o in range(0, g, 2):
                if real[o] and real[o + 1]:
                    lines.append(f"{{ float h0, h1; vn_load_pair(hp + {stride * s + o}, &h0, &h1); "
                                 f"op[{stride * s + o}] = h0 + {acc[o, s]}; op[{stride * s + o + 1}] = h1 + {acc[o + 1, s]}; }}")
                elif real[o]:
                    lines.append(f"op[{stride * s + o}] = hp[{stride * s + o}] + {acc[o, s]};")
        elif self.epilogue == "store":
            lines += [f"op[{stride * s + o}] = {acc[o, s]};" for o in live]
        elif self.epilogue == "activate":
            for o in range(0, g, 2):
                at = stride * s + o
                if real[o] and real[o + 1]:
                    lines.append(f"{{ const float v0 = {self.activation.format(x=acc[o, s])}, "
                                 f"v1 = {self.activation.format(x=acc[o + 1, s])}; float h0, h1; "
                                 f"vn_load_pair(hp + {at}, &h0, &h1); op[{at}] = v0; op[{at + 1}] = v1; "
                                 f"hp[{at}] = h0 + v0; hp[{at + 1}] = h1 + v1; }}")
                elif real[o]:
                    lines.append(f"{{ const float v0 = {self.activation.format(x=acc[o, s])}; "
                                 f"op[{at}] = v0; hp[{at}] += v0; }}")
        elif self.epilogue == "gate":
            lines += [f"op[{stride * s + o // 2}] = vn_gate2({acc[o, s]}, {acc[o + 1, s]});"
                      for o in range(0, g, 2) if real[o]]
        elif self.epilogue == "activate_gate":
            lines += [f"{{ const float v = {self.activation.format(x=acc[o, s])} * vn_sigmoid_f32({acc[o + 1, s]}); "
                      f"op[{stride * s + o // 2}] = v; hp[{stride * s + o // 2}] += v; }}"
                      for o in range(0, g, 2) if real[o]]
        return lines

    def _tile(self, samples: int, indent: str) -> list[str]:
        g, full = self.group, self.rows // self.group
        lines = ["const float *wp = w;", "VN_OPAQUE(wp);"]
        if self.epilogue != "skip":
            lines.append(f"float *op = out + j * {self.out_stride}u;")
        if self.epilogue in ("residual", "residual_skip"):
            lines.append(f"const float *hp = hc + j * {self.out_stride}u;")
        if self.epilogue in ("activate", "activate_gate"):
            lines.append(f"float *hp = ha + j * {self.out_stride}u;")
        if self.epilogue in ("skip", "residual_skip"):
            lines.append("float *yp = y + j;")
        pointers = [f"const float *d{k} = {s.name} + j * {s.stride}u;" for k, s in enumerate(self.sources)]
        opaque = [f"VN_OPAQUE(d{k});" for k in range(len(self.sources))]
        halved = self.epilogue in ("gate", "activate_gate")
        advance = [f"wp += {self.group_stride}u;"] + ([f"op += {g // 2 if halved else g}u;"]
                                                      if self.epilogue != "skip" else [])
        advance += [f"hp += {g}u;"] if self.epilogue in ("residual", "residual_skip", "activate") else []
        advance += [f"hp += {g // 2}u;"] if self.epilogue == "activate_gate" else []
        if full:
            body = pointers + opaque + self._body(samples, [True] * g, "") + advance
            if full > 1:  # a loop (an opaque count: GCC would unroll a short one, doubling the code)
                lines += [f"uint32_t groups = {full}u;", "VN_OPAQUE(groups);", "#pragma GCC unroll 1",
                          "for (uint32_t group = 0; group < groups; ++group) {"]
                lines += ["  " + t for t in body] + ["}"]
            else:
                lines += ["{"] + ["  " + t for t in body] + ["}"]
        if self.rows % g:
            real = [o < self.rows % g for o in range(g)]
            lines += ["{"] + ["  " + t for t in pointers + opaque + self._body(samples, real, "")] + ["}"]
        return [indent + line for line in lines]

    def function(self) -> str:
        params = ["const float *restrict w"] + [f"const float *restrict {s.name}" for s in self.sources]
        if self.epilogue in ("residual", "residual_skip"):
            params.append("const float *restrict hc")
        if self.epilogue != "skip":
            params.append("float *restrict out")
        if self.epilogue in ("activate", "activate_gate"):
            params.append("float *restrict ha")
        if self.epilogue in ("skip", "residual_skip"):
            params.append("float *restrict y")
        params.append("const uint32_t m")
        placement = "VN_HOT_TEXT" if self.hot else "VN_NOINLINE"
        lines = [f"{placement} static void {self.name}({', '.join(params)}) {{", "  uint32_t j = 0;"]
        if self.tile > 1:
            lines += ["#pragma GCC unroll 1", f"  for (; j + {self.tile}u <= m; j += {self.tile}u) {{"]
            lines += self._tile(self.tile, "    ") + ["  }"]
        lines += ["#pragma GCC unroll 1", "  for (; j < m; ++j) {"] + self._tile(1, "    ") + ["  }", "}", ""]
        return "\n".join(lines)


