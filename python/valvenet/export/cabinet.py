"""Cabinet impulse responses for the device: WAV in, float32 FIR taps out.

The firmware's cabinet stage (firmware/nn/cabinet.h) is a direct-form FIR whose cost grows with
its length, so the IR is made short without losing what it sounds like:

1. load     any WAV soundfile reads; channels are averaged to mono.
2. resample to the model's rate with a polyphase filter (scipy.signal.resample_poly, the exact
            rational ratio, e.g. 160/147 for 44.1 -> 48 kHz).
3. minimum phase, by the real cepstrum (homomorphic method, written here): the same magnitude
            response with the energy moved as early as it can go, so a short truncation keeps
            most of it. A cabinet IR is not linear phase, so scipy.signal.minimum_phase (which
            expects a linear-phase filter and by default returns the square root of its
            magnitude) is not the right tool; the cepstrum of the full IR is.
4. truncate to `length` taps (default 256 at 48 kHz = 5.3 ms) with a half-Hann fade-out over
            the last `fade` taps (default length // 8), and report the fraction of the energy
            the truncation kept and the largest third-octave level change it caused between
            100 Hz and 10 kHz. What to expect from guitarix's 20 cabinets: 256 taps keep
            96.5-99.8 % of the energy and the response above 400 Hz within 0.1-2.4 dB, but
            lose 2-11 dB in the 100-160 Hz bands (a 5 ms window cannot hold the speaker's
            low resonance); 1024 taps are within about 1 dB down to 100 Hz, 4096 exact.
5. normalise: "energy" (default) scales to unit energy, sum(h^2) = 1, so white noise passes at
            unchanged RMS and every cabinet plays at about the same loudness (the dataset
            builder's cabinet, valvenet.synth.cab, does the same before its fixed gain);
            "1khz" scales to 0 dB gain at 1 kHz; "none" keeps the level. `gain_db` is applied
            after that.

load() is the one way in: the firmware's cabinet table (export/cabinet_table.py), `valvenet
process --cab` and the tests that predict the pedal's output all take their taps from it, so
the host applies exactly the filter the firmware runs (same taps, same gain).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

from valvenet.synth import cab
from valvenet.synth.errors import SynthError

DEFAULT_RATE = 48000
DEFAULT_LENGTH = 256
NORMALISE_MODES = ("energy", "1khz", "none")

# Magnitudes below this fraction of the peak are raised to it before the logarithm: the
# resampler's anti-alias filter leaves near-zero bins above the old Nyquist frequency, and
# log(0) is -inf. -140 dB is far below anything audible.
_MAG_FLOOR = 1e-7


class CabinetError(ValueError):
    """An impulse response that cannot be prepared; the message says why."""


@dataclass(frozen=True)
class CabinetIR:
    """An IR prepared for the device, and what preparing it cost."""

    taps: np.ndarray  # float32, the FIR's taps
    rate: int  # sample rate of the taps
    source_rate: int  # sample rate of the WAV file
    source_length: int  # samples in the WAV file (at source_rate)
    energy_kept: float  # fraction of the minimum-phase IR's energy the truncation kept, in (0, 1]
    response_error_db: float  # largest third-octave level change from truncation, 100 Hz-10 kHz
    normalise: str  # how the level was set
    name: str = ""  # the WAV file's name, what the firmware reports

    @property
    def energy_dropped_db(self) -> float:
        """The energy the truncation dropped, as a level relative to the full IR (dB, <= 0)."""
        dropped = max(1.0 - self.energy_kept, 1e-30)
        return 10.0 * math.log10(dropped)

    def summary(self) -> str:
        """One paragraph for a user: length, energy kept, response change."""
        return (
            f"{len(self.taps)} taps at {self.rate} Hz ({1000.0 * len(self.taps) / self.rate:.2f} ms; "
            f"source {self.source_length} samples at {self.source_rate} Hz); "
            f"truncation kept {100.0 * self.energy_kept:.3f} % of the energy "
            f"(the dropped tail is {-self.energy_dropped_db:.1f} dB down), third-octave response within "
            f"{self.response_error_db:.1f} dB of the full IR over 100 Hz-10 kHz; normalised: {self.normalise}"
        )


def load_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """The IR as float64 mono (channels averaged) and its sample rate."""
    try:
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except RuntimeError as err:
        raise CabinetError(f"cannot read impulse response {path}: {err}") from err
    if data.shape[0] == 0:
        raise CabinetError(f"impulse response {path} is empty")
    return data.mean(axis=1), int(rate)


def resample(ir: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling by the exact ratio to_rate / from_rate."""
    if from_rate <= 0 or to_rate <= 0:
        raise CabinetError(f"sample rates must be positive (got {from_rate} -> {to_rate})")
    ir = np.asarray(ir, dtype=np.float64)
    if from_rate == to_rate:
        return ir.copy()
    ratio = Fraction(to_rate, from_rate)
    return scipy.signal.resample_poly(ir, ratio.numerator, ratio.denominator)


def _fft_size(n: int, oversample: int = 8, minimum: int = 1 << 14) -> int:
    return max(minimum, 1 << int(math.ceil(math.log2(max(n, 1) * oversample))))


def minimum_phase(ir: np.ndarray, n_fft: int | None = None) -> np.ndarray:
    """The minimum-phase IR with the same magnitude response, as long as the input.

    Real-cepstrum (homomorphic) method: c = IFFT(log|H|) is even; folding it onto positive
    quefrencies (c[0], 2*c[1..N/2-1], c[N/2], zeros) gives the cepstrum of the causal,
    minimum-phase filter whose log-magnitude is the same, and exp(FFT(folded)) is its
    spectrum. The FFT is at least 8x the IR length (and >= 16384) so that the cepstrum's
    time aliasing is negligible.
    """
    ir = np.asarray(ir, dtype=np.float64)
    n = len(ir)
    if n == 0 or not np.any(ir):
        raise CabinetError("impulse response is empty or silent")
    size = n_fft or _fft_size(n)
    if size < n:
        raise CabinetError(f"FFT size {size} is shorter than the IR ({n})")
    magnitude = np.abs(np.fft.rfft(ir, size))
    magnitude = np.maximum(magnitude, _MAG_FLOOR * magnitude.max())
    cepstrum = np.fft.irfft(np.log(magnitude), size)
    fold = np.zeros(size)
    fold[0] = cepstrum[0]
    fold[1 : size // 2] = 2.0 * cepstrum[1 : size // 2]
    fold[size // 2] = cepstrum[size // 2]
    spectrum = np.exp(np.fft.rfft(fold))
    return np.fft.irfft(spectrum, size)[:n]


def truncate(ir: np.ndarray, length: int, fade: int | None = None) -> tuple[np.ndarray, float]:
    """The first `length` samples with a half-Hann fade-out over the last `fade` of them, and
    the fraction of the input's energy the result keeps (fade included)."""
    ir = np.asarray(ir, dtype=np.float64)
    if length < 1:
        raise CabinetError(f"length must be at least 1 (got {length})")
    fade = length // 8 if fade is None else fade
    if not 0 <= fade <= length:
        raise CabinetError(f"fade must be in [0, length] (got {fade} for length {length})")
    out = np.zeros(length)
    kept = ir[:length]
    out[: len(kept)] = kept
    if fade > 0:
        # Falling half of a Hann window that ends just before zero: the last kept tap is
        # small but not zero, and the tap after it (the first dropped one) would be zero.
        out[length - fade :] *= 0.5 * (1.0 + np.cos(np.pi * np.arange(1, fade + 1) / (fade + 1)))
    total = float(np.sum(ir**2))
    if total == 0.0:
        raise CabinetError("impulse response is silent")
    return out, float(np.sum(out**2)) / total


def gain_at(ir: np.ndarray, frequency: float, rate: int) -> float:
    """|H(f)| of the FIR at one frequency."""
    k = np.arange(len(ir))
    return float(np.abs(np.sum(np.asarray(ir, dtype=np.float64) * np.exp(-2j * np.pi * frequency * k / rate))))


def third_octave_deviation_db(
    reference: np.ndarray, taps: np.ndarray, rate: int, f_lo: float = 100.0, f_hi: float = 10000.0
) -> tuple[np.ndarray, np.ndarray]:
    """(band centres, level of `taps` minus level of `reference` in dB) in third-octave bands
    (nominal centres 1000 * 2^(k/3) Hz from f_lo to f_hi; power averaged over each band). This is
    how far a truncation moves the response as a listener would hear it, without the fine
    comb structure of the raw spectrum."""
    size = max(1 << 16, _fft_size(max(len(reference), len(taps)), oversample=2))
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    ref_power = np.abs(np.fft.rfft(np.asarray(reference, dtype=np.float64), size)) ** 2
    taps_power = np.abs(np.fft.rfft(np.asarray(taps, dtype=np.float64), size)) ** 2
    # Nominal band numbering: "100 Hz" is the band centred at 1000 * 2^(-10/3) = 99.2 Hz.
    k = np.arange(round(3 * math.log2(f_lo / 1000.0)), round(3 * math.log2(f_hi / 1000.0)) + 1)
    centres = 1000.0 * 2.0 ** (k / 3.0)
    deviation = np.empty(len(centres))
    for i, centre in enumerate(centres):
        band = (freqs >= centre * 2.0 ** (-1.0 / 6.0)) & (freqs < centre * 2.0 ** (1.0 / 6.0))
        deviation[i] = 10.0 * np.log10(max(taps_power[band].mean(), 1e-300) / max(ref_power[band].mean(), 1e-300))
    return centres, deviation


def normalise(ir: np.ndarray, rate: int, mode: str = "energy") -> np.ndarray:
    """Scales the IR: "energy" to sum(h^2) = 1, "1khz" to |H(1 kHz)| = 1, "none" not at all."""
    ir = np.asarray(ir, dtype=np.float64)
    if mode == "energy":
        scale = float(np.sqrt(np.sum(ir**2)))
    elif mode == "1khz":
        scale = gain_at(ir, 1000.0, rate)
    elif mode == "none":
        return ir.copy()
    else:
        raise CabinetError(f"unknown normalisation {mode!r} (expected one of {', '.join(NORMALISE_MODES)})")
    if scale == 0.0:
        raise CabinetError(f"cannot normalise ({mode}): the IR has zero {'energy' if mode == 'energy' else 'gain at 1 kHz'}")
    return ir / scale


def prepare_ir(
    ir: np.ndarray,
    source_rate: int,
    rate: int = DEFAULT_RATE,
    length: int = DEFAULT_LENGTH,
    fade: int | None = None,
    normalise_mode: str = "energy",
    gain_db: float = 0.0,
) -> CabinetIR:
    """Resample, minimum phase, truncate (with fade) and normalise an IR array."""
    if normalise_mode not in NORMALISE_MODES:
        raise CabinetError(f"unknown normalisation {normalise_mode!r} (expected one of {', '.join(NORMALISE_MODES)})")
    ir = np.asarray(ir, dtype=np.float64)
    source_length = len(ir)
    resampled = resample(ir, source_rate, rate)
    min_phase = minimum_phase(resampled)
    short, energy_kept = truncate(min_phase, length, fade)
    _, deviation = third_octave_deviation_db(resampled, short, rate)
    taps = normalise(short, rate, normalise_mode) * 10.0 ** (gain_db / 20.0)
    return CabinetIR(
        taps=taps.astype(np.float32),
        rate=rate,
        source_rate=source_rate,
        source_length=source_length,
        energy_kept=energy_kept,
        response_error_db=float(np.max(np.abs(deviation))),
        normalise=normalise_mode + (f" {gain_db:+.1f} dB" if gain_db else ""),
    )


def prepare_wav(path: str | Path, rate: int = DEFAULT_RATE, length: int = DEFAULT_LENGTH, **kwargs) -> CabinetIR:
    """prepare_ir() on a WAV file."""
    ir, source_rate = load_wav(path)
    prepared = prepare_ir(ir, source_rate, rate=rate, length=length, **kwargs)
    return dataclasses.replace(prepared, name=Path(path).name)


def load(ir: str | Path | None, rate: int, length: int = DEFAULT_LENGTH) -> CabinetIR:
    """The cabinet the device plays for `ir` at `rate`, `length` taps: what the firmware's table
    holds and what `valvenet process --cab` applies. `ir` is a WAV file, the name of one of
    guitarix-common's IRs (valvenet.synth.cab.resolve_ir), or None for the default IR."""
    try:
        path = cab.resolve_ir(str(ir) if ir is not None else None)
    except SynthError as err:
        raise CabinetError(str(err)) from err
    return prepare_wav(path, rate=rate, length=length)
