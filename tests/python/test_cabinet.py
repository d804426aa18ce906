"""The cabinet IR exporter: minimum phase, truncation, normalisation, Q15 and the C writer.

Uses real cabinet IRs from Debian's guitarix-common (44.1 kHz, listed in
tools/debian-packages.txt, so ./bazelw installs them).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from valvenet.export import cabinet

IR_DIR = Path("/usr/share/gx_head/sounds/amps")
# The dataset builder's default cabinet, a short and a long one.
IR_NAMES = ["Mesa Boogie Mark V.wav", "Cicognani Imperivm Luxury.wav", "Peavey Vypyr 15.wav"]
RATE = 48000

# Q15 quantisation noise of a unit-energy FIR: each tap's error is uniform in +-2^-16, so the
# error energy is L * 2^-30 / 12 and the SNR 10*log10(12 * 2^30 / L) = 77.0 dB for L = 256
# (measured 76.6-77.4 dB over guitarix's 20 IRs). The bound leaves 3 dB.
Q15_SNR_BOUND_DB = 74.0


def ir_path(name: str) -> Path:
    path = IR_DIR / name
    assert path.is_file(), f"{path} missing: install Debian's guitarix-common (./bazelw does)"
    return path


def magnitude_db(h: np.ndarray, size: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    freqs = np.fft.rfftfreq(size, 1.0 / RATE)
    return freqs, 20.0 * np.log10(np.abs(np.fft.rfft(h, size)))


def test_load_and_resample_to_model_rate() -> None:
    ir, rate = cabinet.load_wav(ir_path(IR_NAMES[0]))
    assert rate == 44100 and ir.ndim == 1
    resampled = cabinet.resample(ir, rate, RATE)
    assert abs(len(resampled) - len(ir) * RATE / rate) <= 1
    # Same energy per unit time: the energy scales with the rate ratio.
    assert np.sum(resampled**2) == pytest.approx(np.sum(ir**2) * RATE / rate, rel=0.02)


def test_minimum_phase_of_a_two_tap_filter_reflects_its_zero() -> None:
    # 0.5 + z^-1 has its zero at -2 (outside the unit circle); the minimum-phase filter with the
    # same magnitude is 1 + 0.5 z^-1.
    np.testing.assert_allclose(cabinet.minimum_phase(np.array([0.5, 1.0])), [1.0, 0.5], atol=1e-9)


@pytest.mark.parametrize("name", IR_NAMES)
def test_minimum_phase_keeps_the_magnitude_at_full_length(name: str) -> None:
    ir, rate = cabinet.load_wav(ir_path(name))
    resampled = cabinet.resample(ir, rate, RATE)
    min_phase = cabinet.minimum_phase(resampled)
    freqs, original = magnitude_db(resampled)
    _, converted = magnitude_db(min_phase)
    # Measured <= 0.001 dB here; below ~50 Hz some IRs have a deep (-60 dB) notch where a
    # minimum-phase tail cut at the original length moves the level by up to 1 dB.
    band = (freqs >= 100.0) & (freqs <= 10000.0)
    assert np.max(np.abs(converted[band] - original[band])) < 0.05


@pytest.mark.parametrize("name", IR_NAMES)
def test_minimum_phase_keeps_the_magnitude_after_a_long_enough_truncation(name: str) -> None:
    # 4096 taps (85 ms) with the fade: every spectral bin between 100 Hz and 10 kHz within
    # 0.5 dB of the original IR (measured <= 0.01 dB for all 20 guitarix IRs).
    ir, rate = cabinet.load_wav(ir_path(name))
    resampled = cabinet.resample(ir, rate, RATE)
    truncated, kept = cabinet.truncate(cabinet.minimum_phase(resampled), 4096)
    freqs, original = magnitude_db(resampled)
    _, converted = magnitude_db(truncated)
    band = (freqs >= 100.0) & (freqs <= 10000.0)
    assert np.max(np.abs(converted[band] - original[band])) < 0.5
    assert kept > 0.9999


def test_minimum_phase_moves_the_energy_to_the_start() -> None:
    ir, rate = cabinet.load_wav(ir_path(IR_NAMES[0]))
    resampled = cabinet.resample(ir, rate, RATE)
    # A maximum-phase version of the cabinet (time-reversed): its energy comes last.
    reversed_ir = resampled[::-1].copy()
    min_phase = cabinet.minimum_phase(reversed_ir)
    total = np.sum(reversed_ir**2)
    # Minimum phase maximises the partial energy of every prefix.
    assert np.all(np.cumsum(min_phase**2) >= np.cumsum(reversed_ir**2) - 1e-6 * total)
    assert np.sum(min_phase[:256] ** 2) / total > 0.98
    assert np.sum(reversed_ir[:256] ** 2) / total < 0.01


def test_truncation_reports_the_energy_kept() -> None:
    decay = 0.9 ** np.arange(200)
    out, kept = cabinet.truncate(decay, 10, fade=0)
    np.testing.assert_array_equal(out, decay[:10])
    assert kept == pytest.approx(np.sum(decay[:10] ** 2) / np.sum(decay**2), rel=1e-12)
    faded, kept_faded = cabinet.truncate(decay, 10, fade=4)
    assert kept_faded == pytest.approx(np.sum(faded**2) / np.sum(decay**2), rel=1e-12)
    # The fade falls monotonically to near zero and leaves the head alone.
    np.testing.assert_array_equal(faded[:6], decay[:6])
    gains = faded[6:] / decay[6:10]
    assert np.all(np.diff(gains) < 0) and 0 < gains[-1] < 0.25
    assert kept_faded < kept


def test_prepare_reports_energy_kept_and_longer_keeps_more() -> None:
    path = ir_path(IR_NAMES[0])
    ir, rate = cabinet.load_wav(path)
    full = cabinet.minimum_phase(cabinet.resample(ir, rate, RATE))
    results = {length: cabinet.prepare_wav(path, rate=RATE, length=length) for length in (128, 256, 1024)}
    for length, result in results.items():
        expected_taps, expected_kept = cabinet.truncate(full, length)
        assert result.energy_kept == pytest.approx(expected_kept, rel=1e-9)
        assert 0.0 < result.energy_kept <= 1.0
        assert result.energy_dropped_db == pytest.approx(10 * math.log10(1 - expected_kept))
        assert len(result.taps) == length and result.taps.dtype == np.float32
        assert "% of the energy" in result.summary()
    assert results[128].energy_kept < results[256].energy_kept < results[1024].energy_kept
    # Mesa Boogie Mark V at 256 taps: 99.18 % kept. The low end is what a short IR loses.
    assert results[256].energy_kept > 0.98
    assert results[1024].response_error_db < 1.0 < results[256].response_error_db


def test_normalisation_modes() -> None:
    path = ir_path(IR_NAMES[0])
    energy = cabinet.prepare_wav(path, normalise_mode="energy")
    assert float(np.sum(energy.taps.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-6)
    at_1k = cabinet.prepare_wav(path, normalise_mode="1khz")
    assert cabinet.gain_at(at_1k.taps, 1000.0, RATE) == pytest.approx(1.0, rel=1e-6)
    louder = cabinet.prepare_wav(path, normalise_mode="energy", gain_db=-6.0)
    np.testing.assert_allclose(louder.taps, energy.taps * 10 ** (-6 / 20), rtol=1e-6, atol=1e-9)
    with pytest.raises(cabinet.CabinetError, match="unknown normalisation"):
        cabinet.prepare_wav(path, normalise_mode="peak")


@pytest.mark.parametrize("name", sorted(p.name for p in IR_DIR.glob("*.wav")) or IR_NAMES)
def test_q15_snr_above_bound(name: str) -> None:
    result = cabinet.prepare_wav(ir_path(name))
    assert result.frac_bits == 15
    assert result.q15_snr_db > Q15_SNR_BOUND_DB
    # Each tap within half an LSB of the float tap.
    error = np.abs(result.taps_q15.astype(np.float64) / 32768.0 - result.taps.astype(np.float64))
    assert np.max(error) <= 0.5 / 32768.0 + 1e-12


def test_q15_drops_a_fraction_bit_when_a_tap_does_not_fit() -> None:
    q, frac_bits, snr = cabinet.quantise_q15(np.array([1.0, -0.5, 0.25]))
    assert frac_bits == 14
    np.testing.assert_array_equal(q, [16384, -8192, 4096])
    assert snr == math.inf
    q, frac_bits, _ = cabinet.quantise_q15(np.array([32767 / 32768, -1.0]))
    assert frac_bits == 15 and list(q) == [32767, -32768]


def _parse_array(source: str, declaration: str) -> list[str]:
    match = re.search(re.escape(declaration) + r"\[[A-Z0-9_]+\] = \{(.*?)\};", source, re.S)
    assert match, f"{declaration} not found"
    return [item.strip() for item in match.group(1).split(",") if item.strip()]


def test_write_c_output_compiles_and_round_trips(tmp_path: Path) -> None:
    gcc = shutil.which("gcc")
    assert gcc, "gcc is needed (Debian package gcc, installed by ./bazelw)"
    result = cabinet.prepare_wav(ir_path(IR_NAMES[0]))
    header, source = cabinet.write_c(result, "mesa_v", tmp_path / "mesa_v_ir")
    assert header == tmp_path / "mesa_v_ir.h" and source == tmp_path / "mesa_v_ir.c"
    text = source.read_text()
    # Every literal is exactly the float32 / int16 tap.
    floats = np.array([float(item.rstrip("f")) for item in _parse_array(text, "const float mesa_v_taps")], dtype=np.float32)
    np.testing.assert_array_equal(floats, result.taps)
    ints = np.array([int(item) for item in _parse_array(text, "const int16_t mesa_v_taps_q15")])
    np.testing.assert_array_equal(ints, result.taps_q15)
    assert "#define MESA_V_TAPS_LENGTH 256u" in header.read_text()
    assert "#define MESA_V_TAPS_Q15_FRAC_BITS 15u" in header.read_text()
    # A user of the header: sizes and alignment checked at compile time.
    user = tmp_path / "user.c"
    user.write_text(
        '#include "mesa_v_ir.h"\n'
        "#include <stdalign.h>\n"
        '_Static_assert(sizeof mesa_v_taps / sizeof mesa_v_taps[0] == MESA_V_TAPS_LENGTH, "length");\n'
        '_Static_assert(sizeof mesa_v_taps_q15 == 2 * MESA_V_TAPS_LENGTH, "int16");\n'
        "float first_tap(void);\n"
        "float first_tap(void) { return mesa_v_taps[0] + (float)mesa_v_taps_q15[0]; }\n"
    )
    flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes", "-pedantic", "-I", str(tmp_path)]
    for unit in (source, user):
        done = subprocess.run([gcc, *flags, "-c", str(unit), "-o", str(unit.with_suffix(".o"))], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_write_c_from_plain_float_taps(tmp_path: Path) -> None:
    taps = np.array([0.5, -0.25, 1.0 / 3.0, 1e-9], dtype=np.float32)
    header, source = cabinet.write_c(taps, "tiny", tmp_path / "tiny.h", rate=44100)
    text = source.read_text()
    assert "_Alignas(4) const int16_t tiny_taps_q15[TINY_TAPS_LENGTH]" in text
    np.testing.assert_array_equal(
        np.array([float(x.rstrip("f")) for x in _parse_array(text, "const float tiny_taps")], dtype=np.float32), taps
    )
    assert [int(x) for x in _parse_array(text, "const int16_t tiny_taps_q15")] == [16384, -8192, 10923, 0]
    assert "#define TINY_SAMPLE_RATE 44100u" in header.read_text()
    with pytest.raises(cabinet.CabinetError, match="C identifier"):
        cabinet.write_c(taps, "2bad-name", tmp_path / "bad")
