"""The int16 engine (export/engines/: q15_engine.py, q15_arith.py and the kinds' int16
emitters; firmware/nn/q15.h) against the float oracle, every model kind.

Scales calibrated on one guitar-like signal (seed 99), tested on another (seed 4): ESR <= 1e-3
for zoo-sized models (wavenet-10x8, nam-nano, nam-feather, lstm-12, gru-12) and the small test
configs, with trained-like random weights; output bit-identical for any block size and in
place; loud input saturates (the output stays near the float model fed the clipped input)
instead of wrapping; the portable dual MAC equals SMLAD's definition (modulo-2^32 sum of two
exact int16 products) on extreme and random words; scales travel in the model file.
"""

from __future__ import annotations

import ctypes
import functools
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared helpers of test_oracle.py
from test_oracle import SMALL, guitar_like, random_keras  # noqa: E402
from valvenet.export.c_text import CodegenError  # noqa: E402
from valvenet.export.engines import q15_arith, registry  # noqa: E402
from valvenet.models import calibrate  # noqa: E402
from valvenet.export.c_host import HOST_CFLAGS, Q15Engine, repo_root  # noqa: E402
from valvenet.losses import esr  # noqa: E402
from valvenet.export.engines.q15_arith import quantise_columns, quantise_matrix  # noqa: E402
from valvenet.models.model_file import ModelFile  # noqa: E402
from valvenet.models import config, keras_models  # noqa: E402
from valvenet.models.oracle import Oracle  # noqa: E402



def nam_array(inputs: int, channels: int, head: int, kernel: int, dilations: list[int], activation: str = "tanh",
              head_bias: bool = False) -> dict:
    """One NAM layer array (config.nam_wavenet makes the standard two-array layout only)."""
    return {"input_size": inputs, "condition_size": 1, "channels": channels, "head_size": head, "kernel_size": kernel,
            "dilations": dilations, "activation": activation, "head_bias": head_bias}


# NAM shapes beyond the presets: three arrays of 3, 2 and 6 channels (the int16 engine's fused
# 4- and 2-row layers, padding, a two-pass 6-channel layer with a 2-row tail, head biases
# folded through later heads); kernel sizes 2 and 4, a 5- and a 1-channel array; the Fasttanh and
# LeakyReLU activations of imported captures.
NAM_SHAPES = {
    "nam-mixed": {"kind": "nam_wavenet", "head_scale": 0.02, "layer_arrays": [
        nam_array(1, 3, 2, 3, [1, 2, 4, 8]), nam_array(3, 2, 6, 3, [16, 1, 2], head_bias=True),
        nam_array(2, 6, 1, 3, [4, 32, 1], head_bias=True)]},
    "nam-odd-kernels": {"kind": "nam_wavenet", "head_scale": 0.05, "layer_arrays": [
        nam_array(1, 5, 1, 2, [1, 3, 9], "softsign"), nam_array(5, 1, 1, 4, [2, 5], "hardtanh", head_bias=True)]},
    # The activations imported captures name besides tanh: NAM's Fasttanh rational and LeakyReLU.
    "nam-fasttanh-leakyrelu": {"kind": "nam_wavenet", "head_scale": 0.05, "layer_arrays": [
        nam_array(1, 4, 2, 3, [1, 2, 4], "fasttanh"), nam_array(4, 2, 1, 3, [4, 1], "leakyrelu", head_bias=True)]},
}
MODELS = {**SMALL, "wavenet-10x8": config.PRESETS["wavenet-10x8"], "gated-odd-channels": config.gated_wavenet(4, 3),
          "nam-feather": config.PRESETS["nam-feather"], "lstm-12": config.PRESETS["lstm-12"],
          "gru-12": config.PRESETS["gru-12"], **NAM_SHAPES}
RECURRENT = ("lstm", "gru", "lstm-12", "gru-12")
ESR_BOUND = 1e-3


def seconds(kind: str) -> float:
    """Test audio length: the recurrent oracles step in Python (about 10 us a sample); the
    extra NAM shapes check the engine's layouts, for which 4 s is plenty."""
    return 4.0 if kind in RECURRENT or kind in NAM_SHAPES else 10.0


@functools.cache
def model_file(kind: str) -> ModelFile:
    cfg = MODELS[kind]
    weights = keras_models.export_weights(random_keras(cfg, seed=11))
    return ModelFile(cfg, weights, {"name": kind, "sample_rate": 48000, "input_gain": 1.0, "output_gain": 1.0})


@functools.cache
def engine(kind: str) -> Q15Engine:
    return Q15Engine(model_file(kind), calibration_audio=guitar_like(seconds(kind) / 2, seed=99))


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    return guitar_like(10.0, seed=4)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_q15_engine_esr_against_the_oracle(kind: str, audio: np.ndarray) -> None:
    x = audio[:int(seconds(kind) * 48000)]
    reference = Oracle(model_file(kind)).process_all(x)
    q = engine(kind)
    q.reset()
    actual = q.process_all(x)
    assert np.std(reference) > 1e-3
    assert esr(reference, actual) <= ESR_BOUND


@pytest.mark.parametrize("kind", ["gated_wavenet", "wavenet-10x8", "nam_wavenet", "nam_wavenet_relu", "lstm", "gru",
                                  *NAM_SHAPES])
def test_output_does_not_depend_on_block_size(kind: str, audio: np.ndarray) -> None:
    x = audio[:20000]
    q = engine(kind)
    q.reset()
    reference = q.process_all(x, block_size=4096)
    for block in (1, 7, 16, 48, 333):
        q.reset()
        np.testing.assert_array_equal(q.process_all(x, block_size=block), reference)
    q.reset()  # in place
    buffer = np.ascontiguousarray(x, np.float32).copy()
    q._process(q.state, buffer.ctypes.data, buffer.ctypes.data, buffer.size)
    np.testing.assert_array_equal(buffer, reference)


@pytest.mark.parametrize("kind", ["gated_wavenet", "lstm"])
def test_state_carries_across_calls_and_reset_clears_it(kind: str, audio: np.ndarray) -> None:
    q = engine(kind)
    q.reset()
    first = q.process_all(audio[:5000])
    q.process_all(audio[5000:9000])
    q.reset()
    np.testing.assert_array_equal(q.process_all(audio[:5000]), first)


@pytest.mark.parametrize("kind", ["wavenet-10x8", "nam_wavenet", "nam_wavenet_relu", "lstm", "gru"])
def test_loud_input_saturates_instead_of_wrapping(kind: str, audio: np.ndarray) -> None:
    """20x the calibration level: the input saturates at the largest int16 of its format and
    internal tensors beyond their headroom saturate too; a wrap (sign flip) anywhere would
    take the output far from the float model fed the clipped input."""
    q = engine(kind)
    q.reset()
    x = 20.0 * audio[:int(1.5 * 48000)].astype(np.float64)
    limit = 32767 / 2.0 ** q.fracs["x"]
    clipped = np.clip(x, -limit, limit)
    reference = Oracle(model_file(kind)).process_all(clipped)
    if MODELS[kind].get("skip", False):
        reference += x - clipped  # the skip connection adds the float input itself
    actual = q.process_all(x)
    assert np.all(np.isfinite(actual))
    assert esr(reference, actual) <= 0.1


def test_weight_scales_cannot_overflow_the_accumulator() -> None:
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((16, 24)) * 3.0
    bias = rng.standard_normal(16)
    wq, bq, f_w = quantise_matrix(weight, bias, 14)
    assert np.max(np.sum(np.abs(wq.astype(np.int64)), axis=1) * 32768 + np.abs(bq)) < 2 ** 31
    assert np.max(np.abs(wq / 2.0 ** f_w - weight)) <= 2.0 ** -(f_w + 1) + 1e-12


def test_mixed_input_formats_share_one_accumulator() -> None:
    """Columns whose inputs have different fractional bits: every product lands at the
    accumulator's A bits, so the integer dot product, scaled by 2^-A, is the float one."""
    rng = np.random.default_rng(2)
    weight = rng.standard_normal((6, 5))
    bias = rng.standard_normal(6)
    f_cols = np.array([15, 15, 10, 10, 4])
    wq, bq, acc = quantise_columns(weight, bias, f_cols)
    assert np.max(np.sum(np.abs(wq.astype(np.int64)), axis=1) * 32768 + np.abs(bq)) < 2 ** 31
    step = 2.0 ** -(acc - f_cols)  # each column's weight resolution
    assert np.all(np.abs(wq / 2.0 ** (acc - f_cols) - weight) <= step / 2 + 1e-12)
    xq = rng.integers(-32768, 32768, 5)
    exact = (weight @ (xq / 2.0 ** f_cols) + bias)
    approx = (wq.astype(np.int64) @ xq + bq) / 2.0 ** acc
    assert np.max(np.abs(approx - exact)) <= np.sum(step / 2 * np.abs(xq / 2.0 ** f_cols)) + 2.0 ** -acc


def test_calibration_picks_power_of_two_scales_with_headroom() -> None:
    assert calibrate.frac_bits(0.99) == 14
    assert calibrate.frac_bits(1.0, 1.0) == 14  # 1.0 itself is not representable in Q15
    assert calibrate.frac_bits(0.5, 1.0) == 15
    ranges = calibrate.ranges(model_file("gated_wavenet"), guitar_like(1.0, seed=99))
    fracs = calibrate.scales(model_file("gated_wavenet"), guitar_like(1.0, seed=99))
    for name, peak in ranges.items():
        assert peak * calibrate.HEADROOM * 2.0 ** fracs[name] <= 32767


def test_missing_scales_are_refused_by_name() -> None:
    model = model_file("lstm")
    with pytest.raises(CodegenError, match="'lstm'.*lack c"):
        Q15Engine(model, fracs={"x": 14})
    with pytest.raises(ValueError, match="'lstm' has no int16 scales"):
        Q15Engine(model)


def test_unknown_kinds_are_refused_by_name() -> None:
    model = ModelFile({"kind": "transformer"}, {}, {"name": "t", "sample_rate": 48000})
    with pytest.raises(CodegenError, match="does not support transformer"):
        registry.generate_int16(model, {"x": 14})


@pytest.mark.parametrize("kind", ["gated_wavenet", "nam_wavenet", "lstm", "gru"])
def test_calibration_covers_every_tensor_the_engine_stores(kind: str) -> None:
    fracs = calibrate.scales(model_file(kind), guitar_like(0.5, seed=99))
    assert set(registry.required_scales(MODELS[kind])) <= set(fracs)


def test_scales_stored_in_the_model_file_are_used(audio: np.ndarray) -> None:
    model = model_file("nam_wavenet")
    stored = ModelFile(model.config, model.tensors, {**model.metadata, calibrate.METADATA_KEY: engine("nam_wavenet").fracs})
    q = Q15Engine(stored)
    x = audio[:9600]
    expected = engine("nam_wavenet")
    expected.reset()
    np.testing.assert_array_equal(q.process_all(x), expected.process_all(x))


def test_portable_dual_mac_matches_the_smlad_definition() -> None:
    source = '#include "firmware/nn/q15.h"\nint32_t mac(uint32_t a, uint32_t b, int32_t acc) { return vn_q15_smlad(a, b, acc); }\n'
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "mac.c").write_text(source)
        out = Path(tmp) / "mac.so"
        subprocess.run(["gcc", *HOST_CFLAGS, f"-I{repo_root()}", str(Path(tmp) / "mac.c"), "-o", str(out)], check=True)
        mac = ctypes.CDLL(str(out)).mac
        mac.argtypes, mac.restype = [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int32], ctypes.c_int32
        rng = np.random.default_rng(1)
        words = [0x80008000, 0x7FFF7FFF, 0x80007FFF, 0, 0xFFFFFFFF] + [int(v) for v in rng.integers(0, 2 ** 32, 200)]
        accs = [0, 2 ** 31 - 1, -2 ** 31, -1] + [int(v) for v in rng.integers(-2 ** 31, 2 ** 31, 20)]

        def half(w: int, hi: bool) -> int:
            v = (w >> 16) & 0xFFFF if hi else w & 0xFFFF
            return v - 0x10000 if v >= 0x8000 else v

        for a in words[:40]:
            for b in words:
                for acc in accs[:6]:
                    expected = (acc + half(a, False) * half(b, False) + half(a, True) * half(b, True)) % 2 ** 32
                    expected = expected - 2 ** 32 if expected >= 2 ** 31 else expected
                    assert mac(a, b, acc) == expected


def test_export_c_int16_uses_the_files_scales_else_calibration_else_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import soundfile as sf

    from valvenet.cli import main
    from valvenet.models.model_file import save

    plain = model_file("gru")
    save(plain, tmp_path / "plain.vnet")
    assert main(["export", "c", "--model", str(tmp_path / "plain.vnet"), "--out", str(tmp_path),
                 "--precision", "int16"]) == 2
    assert re.search(r"plain\.vnet has no int16 scales.*--calibration", capsys.readouterr().err)
    sf.write(tmp_path / "cal.wav", guitar_like(1.0, seed=99), 48000, subtype="FLOAT")
    assert main(["export", "c", "--model", str(tmp_path / "plain.vnet"), "--out", str(tmp_path / "a"),
                 "--precision", "int16", "--calibration", str(tmp_path / "cal.wav"), "--symbol", "m"]) == 0
    calibrated = (tmp_path / "a" / "m.c").read_text()
    assert "VN_PRECISION_Q15" in calibrated and '"gru+int16"' in calibrated
    # scales in the file: used as they are (here: the ones --calibration gave), no audio needed
    fracs = calibrate.scales(plain, sf.read(tmp_path / "cal.wav", dtype="float32")[0])
    save(ModelFile(plain.config, plain.tensors, {**plain.metadata, calibrate.METADATA_KEY: fracs}), tmp_path / "scaled.vnet")
    assert main(["export", "c", "--model", str(tmp_path / "scaled.vnet"), "--out", str(tmp_path / "b"),
                 "--precision", "int16", "--symbol", "m"]) == 0
    assert (tmp_path / "b" / "m.c").read_text() == calibrated
    assert main(["export", "c", "--model", str(tmp_path / "scaled.vnet"), "--out", str(tmp_path / "f"), "--symbol", "m"]) == 0
    assert "VN_PRECISION_F32" in (tmp_path / "f" / "m.c").read_text()


def test_synthetic_calibration_signal_is_deterministic_and_guitar_level() -> None:
    a = calibrate.synthetic_guitar(2.0, seed=3)
    np.testing.assert_array_equal(a, calibrate.synthetic_guitar(2.0, seed=3))
    assert not np.array_equal(a, calibrate.synthetic_guitar(2.0, seed=4))
    assert 0.5 <= float(np.max(np.abs(a))) <= 0.9 and a.size == 96000
    assert np.mean(np.abs(a) < 1e-3) > 0.05  # it has silences too


@functools.cache
def helpers() -> ctypes.CDLL:
    """q15.h's scalar helpers, compiled for the host (the portable paths)."""
    source = ('#include "firmware/nn/q15.h"\n'
              "int32_t rshift(int32_t v, int s) { return vn_q_rshift32(v, s); }\n"
              "int32_t sat(int32_t v) { return vn_q15_sat32(v); }\n"
              "int32_t tanh_q(int32_t x, const int16_t *t) { return vn_q15_tanh(x, t); }\n")
    tmp = Path(tempfile.mkdtemp())
    (tmp / "h.c").write_text(source)
    subprocess.run(["gcc", *HOST_CFLAGS, f"-I{repo_root()}", str(tmp / "h.c"), "-o", str(tmp / "h.so")], check=True)
    lib = ctypes.CDLL(str(tmp / "h.so"))
    for name, args in (("rshift", [ctypes.c_int32, ctypes.c_int]), ("sat", [ctypes.c_int32]),
                       ("tanh_q", [ctypes.c_int32, ctypes.c_void_p])):
        getattr(lib, name).argtypes, getattr(lib, name).restype = args, ctypes.c_int32
    return lib


def test_32_bit_rounding_shift_equals_the_exact_rounding() -> None:
    """(v >> s) + bit s-1 of v == floor(v / 2^s + 1/2), extremes included (no overflow)."""
    rng = np.random.default_rng(5)
    values = [-2 ** 31, 2 ** 31 - 1, -1, 0, 1, 3, -3] + [int(v) for v in rng.integers(-2 ** 31, 2 ** 31, 300)]
    for s in (1, 2, 7, 15, 16, 30, 31):
        for v in values:
            assert helpers().rshift(v, s) == (v + 2 ** (s - 1)) >> s
    for v, expected in ((40000, 32767), (-40000, -32768), (32767, 32767), (-32768, -32768), (-5, -5)):
        assert helpers().sat(v) == expected


def test_fixed_point_tanh_is_within_1_25e4_and_saturates() -> None:
    table = np.ascontiguousarray(q15_arith.tanh_table())
    x = np.concatenate([np.linspace(-9.0, 9.0, 20001), [-8.0, 8.0 - 2.0 ** -20, 100.0, -100.0]])
    codes = np.floor(x * 2.0 ** 20 + 0.5).astype(np.int64).clip(-2 ** 31, 2 ** 31 - 1)
    y = np.array([helpers().tanh_q(int(v), table.ctypes.data) for v in codes]) / 32768.0
    assert np.max(np.abs(y - np.tanh(codes / 2.0 ** 20))) <= 1.25e-4
    assert np.all(np.diff(y[:20001]) >= 0)  # monotonic
    assert np.min(y) == -1.0 and np.max(y) == 32767 / 32768  # saturated: the int16 range


RESIDUAL_FORMATS = [(29, 11, 11), (29, 11, 12), (29, 12, 11), (12, 11, 12), (45, 10, 2), (20, 0, 16), (31, 14, 0)]
REQUANT_FORMATS = [(30, 10), (26, 15), (45, 2), (10, 12), (14, 14)]


def test_generated_rescaling_rounds_and_saturates_for_every_format_pair() -> None:
    """The generator's rescaling expressions (32-bit where that cannot overflow, int64 else),
    compiled, on extreme and random accumulators: h + r within 1 LSB of the exact sum's
    rounding (two roundings in 32 bits), a requantised accumulator exactly rounded; both
    saturated, never wrapped."""
    lines = ['#include "firmware/nn/q15.h"']
    for n, (rf, hf, of) in enumerate(RESIDUAL_FORMATS):
        lines.append(f"int32_t res{n}(int32_t r, int16_t h) {{ return {q15_arith.add_residual('r', rf, 'h', hf, of)}; }}")
    for n, (af, f) in enumerate(REQUANT_FORMATS):
        lines.append(f"int32_t req{n}(int32_t a) {{ return {q15_arith.to_q15('a', af, f)}; }}")
    tmp = Path(tempfile.mkdtemp())
    (tmp / "r.c").write_text("\n".join(lines) + "\n")
    subprocess.run(["gcc", *HOST_CFLAGS, f"-I{repo_root()}", str(tmp / "r.c"), "-o", str(tmp / "r.so")], check=True)
    lib = ctypes.CDLL(str(tmp / "r.so"))
    rng = np.random.default_rng(8)
    accs = [-2 ** 31, 2 ** 31 - 1, 0, -1, 1] + [int(v) for v in rng.integers(-2 ** 31, 2 ** 31, 200)]
    accs += [int(v) for v in rng.integers(-2 ** 16, 2 ** 16, 200)]
    hs = [-32768, 32767, 0, -1] + [int(v) for v in rng.integers(-32768, 32768, 20)]
    for n, (rf, hf, of) in enumerate(RESIDUAL_FORMATS):
        f = getattr(lib, f"res{n}")
        f.argtypes, f.restype = [ctypes.c_int32, ctypes.c_int16], ctypes.c_int32
        for r in accs[::3]:
            for h in hs:
                exact = np.floor((r * 2.0 ** (of - rf) + h * 2.0 ** (of - hf)) + 0.5)
                assert abs(f(r, h) - np.clip(exact, -32768, 32767)) <= 1, (rf, hf, of, r, h)
    for n, (af, fr) in enumerate(REQUANT_FORMATS):
        f = getattr(lib, f"req{n}")
        f.argtypes, f.restype = [ctypes.c_int32], ctypes.c_int32
        for a in accs:
            assert f(a) == np.clip(np.floor(a * 2.0 ** (fr - af) + 0.5), -32768, 32767), (af, fr, a)


def test_gated_wavenet_gate_tables_are_within_1_35e3() -> None:
    """The gated WaveNet's gate (gated_wavenet.GatedBlocks): tanh(a) (Q15) times sigmoid(b) (Q16) from
    two tables without interpolation, the index the value rounded to the table's step and
    saturated, the Q31 product's top half (Q15, truncated). Error against the exact gate: half
    a step times the slope, 2^-10 for each table (tanh: slope 1 at 0, where the sigmoid error
    counts little; sigmoid: slope 1/4), the entries' and the product's rounding; measured
    1.31e-3 at most (saturation beyond the tables' ranges included)."""
    tanh, sig = q15_arith.gate_tables()
    (kt, nt), (ks, ns) = q15_arith.GATE_TANH, q15_arith.GATE_SIGMOID
    assert tanh.size == 2 ** nt and sig.size == 2 ** ns

    def lookup(table: np.ndarray, v: np.ndarray, k: int, n: int) -> np.ndarray:
        index = np.clip(np.floor(v * 2.0 ** k + 0.5), -2 ** (n - 1), 2 ** (n - 1) - 1).astype(np.int64)
        return table[index + 2 ** (n - 1)].astype(np.int64)

    a, b = np.meshgrid(np.linspace(-10.0, 10.0, 1201), np.linspace(-12.0, 12.0, 1201))
    gate = (lookup(tanh, a, kt, nt) * lookup(sig, b, ks, ns)) >> 16
    exact = np.tanh(a) / (1.0 + np.exp(-b))
    assert np.max(np.abs(gate / 32768.0 - exact)) <= 1.35e-3
    assert lookup(tanh, np.zeros(1), kt, nt)[0] == 0  # a zero input gives a zero gate


def test_table_index_shifts_floors_and_saturates() -> None:
    """VN_Q_INDEX (SSAT with a shift on the M7) and vn_q_index_up on the host path."""
    source = ('#include "firmware/nn/q15.h"\n'
              "int32_t idx(int32_t x) { return VN_Q_INDEX(x, 17, 12); }\n"
              "int32_t up(int32_t x) { return vn_q_index_up(x, 3, 11); }\n")
    tmp = Path(tempfile.mkdtemp())
    (tmp / "i.c").write_text(source)
    subprocess.run(["gcc", *HOST_CFLAGS, f"-I{repo_root()}", str(tmp / "i.c"), "-o", str(tmp / "i.so")], check=True)
    lib = ctypes.CDLL(str(tmp / "i.so"))
    for name in ("idx", "up"):
        getattr(lib, name).argtypes, getattr(lib, name).restype = [ctypes.c_int32], ctypes.c_int32
    rng = np.random.default_rng(3)
    values = [-2 ** 31, 2 ** 31 - 1, 0, -1, 1, 2 ** 17, -2 ** 17 - 1] + [int(v) for v in rng.integers(-2 ** 31, 2 ** 31, 300)]
    values += [int(v) for v in rng.integers(-2 ** 10, 2 ** 10, 300)]
    for v in values:
        assert lib.idx(v) == min(max(v >> 17, -2048), 2047)
        assert lib.up(v) == min(max(v * 8, -1024), 1023)
