"""The cabinet IR preparation: minimum phase, truncation, normalisation, the one loader.

Uses real cabinet IRs from Debian's guitarix-common (44.1 kHz, listed in
tools/debian-packages.txt, so ./bazelw installs them).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from valvenet.export import cabinet

IR_DIR = Path("/usr/share/gx_head/sounds/amps")
# The dataset builder's default cabinet, a short and a long one.
IR_NAMES = ["Mesa Boogie Mark V.wav", "Cicognani Imperivm Luxury.wav", "Peavey Vypyr 15.wav"]
RATE = 48000

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


def test_load_takes_a_guitarix_name_or_a_file_and_names_the_ir() -> None:
    by_name = cabinet.load("Mesa Boogie Mark V", rate=RATE, length=128)
    by_path = cabinet.load(ir_path(IR_NAMES[0]), rate=RATE, length=128)
    assert by_name.name == by_path.name == IR_NAMES[0]
    np.testing.assert_array_equal(by_name.taps, by_path.taps)
    with pytest.raises(cabinet.CabinetError, match="not found"):
        cabinet.load("no such cabinet", rate=RATE)
