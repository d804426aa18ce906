"""Latency between a dry input and an amp recording, so the pair can be aligned before training.

A reamped recording comes back late: the audio interface's round trip (and any plugin latency)
delays the output by a few to a few thousand samples. A model trained on an unaligned pair has
to learn a pure delay, which a causal network can only do by wasting its receptive field, and
a target that is *ahead* of its input cannot be learned at all. Two ways to measure it:

- `detect_delay_xcorr`: cross-correlation of the input and the output over a few seconds of
  playing, restricted to lags -max_delay..+max_delay (FFT, so it is cheap), after whitening
  both with the same linear-prediction filter so the correlation is one sharp peak rather
  than the slow ripple of a guitar's bass-heavy spectrum. Works on any material; its
  confidence is the ratio of the best correlation peak to the next one.
- `detect_delay_blips`: known clicks ("blips") in the input, as in Neural Amp Modeler's
  standard input files. The output's response to each click is found and its onset compared
  with the click's. Exact on clean material and immune to the periodicity that can fool
  cross-correlation on sustained notes.

Both measure to the *onset* of the response (the first sample reaching ONSET_FRACTION of its
peak), not to the peak: an amp's filters put the peak a few samples after the start, and
shifting the target by the peak's delay would ask the model for input it has not seen yet.

Both return a `LatencyEstimate` or raise `LatencyError`; neither knows about files (the
loaders add the paths). A delay here always means "the output lags the input by this many
samples"; a negative one is an error because no causal model can produce it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, signal

DEFAULT_WINDOW = 1 << 17
"""Samples of playing the cross-correlation looks at (about 2.7 s at 48 kHz)."""

MIN_WINDOW = 1024
"""Fewer overlapping samples than this cannot give a trustworthy correlation peak."""

ACTIVITY_FRACTION = 0.01
"""Cross-correlation starts where the input first reaches this fraction of its peak, so
leading silence (count-ins, NAM's quiet lead-in) does not eat the analysis window."""

WHITENING_ORDER = 32
"""Linear-prediction order of the whitening filter applied before cross-correlation."""

ONSET_FRACTION = 0.25
"""A response's onset is the first sample reaching this fraction of its peak. An amp's filters
put the peak of its response a few samples after its start; aligning to the start (not the
peak) errs towards a smaller delay, which never makes the target lead its input."""

MIN_CONFIDENCE = 3.0
"""Peak ratio below which a cross-correlation peak is not trusted (measured: a true peak
stands 6-30x above the rest on guitar-like material; side lobes 1-2.3x)."""

BLIP_SEARCH_RADIUS = 64
"""Samples around a stated blip position searched for the input's actual click."""

BLIP_TAIL = 256
"""Samples past the latest allowed onset searched for the output response's peak."""

BLIP_NOISE = 1024
"""Samples before the search window used to measure the output's background level."""

BLIP_MIN_RATIO = 4.0
"""The output's response must peak at least this many times above the background."""

BLIP_AGREEMENT = 2
"""Blip delays further apart than this many samples are reported as inconsistent."""

# Where Neural Amp Modeler's standard 48 kHz input files have their two calibration clicks
# (sample indices, as NAM's trainer locates them in its v3 and v1/v2 input files).
NAM_V3_BLIPS: tuple[int, ...] = (504_000, 552_000)
NAM_V1_V2_BLIPS: tuple[int, ...] = (24_000, 72_000)


class LatencyError(ValueError):
    """The latency cannot be measured, or is one no causal model can learn (output ahead)."""


@dataclass(frozen=True)
class LatencyEstimate:
    """A measured delay of the output behind the input.

    delay: samples the output lags the input (>= 0).
    confidence: peak ratio: the correlation peak over the next-highest one (cross-correlation),
        or the weakest click response over its background (blips); inf when nothing competes.
    method: "xcorr" or "blips".
    inverted: the output's polarity is inverted (common in valve amps; the model learns it).
    notes: things the user should know (inconsistent blips and the like).
    """

    delay: int
    confidence: float
    method: str
    inverted: bool = False
    notes: tuple[str, ...] = ()

    def describe(self, sample_rate: int | None = None) -> str:
        """One line for reports: the delay, in ms too when the rate is known, and how found."""
        how = "cross-correlation" if self.method == "xcorr" else "blips"
        ms = f" ({1000.0 * self.delay / sample_rate:.2f} ms at {sample_rate} Hz)" if sample_rate else ""
        polarity = ", output polarity inverted" if self.inverted else ""
        return f"latency {self.delay} samples{ms} by {how}, peak ratio {self.confidence:.2f}{polarity}"


def detect_delay_xcorr(input: np.ndarray, output: np.ndarray, max_delay: int,
                       window: int = DEFAULT_WINDOW) -> LatencyEstimate:
    """Finds the output's delay by cross-correlation over lags -max_delay..max_delay.

    Both signals are first passed through the same whitening filter (linear prediction of the
    input), which turns the correlation into roughly the amp's impulse response: one sharp
    peak instead of the slow oscillation a guitar's low-frequency spectrum produces, whose
    side lobes would otherwise pass for a delay. Negative lags are searched too so that an
    output ahead of its input is reported as such. Every lag is scored on the same `window`
    input samples, so no lag is favoured by overlapping more.
    """
    x, y = _as_float64(input), _as_float64(output)
    if max_delay < 0:
        raise LatencyError(f"max_delay must be >= 0, got {max_delay}")
    start = _first_activity(x)
    length = min(window, len(x) - start - max_delay, len(y) - start - max_delay)
    if length < MIN_WINDOW:
        raise LatencyError(f"too little audio to measure latency: {max(length, 0)} samples of overlap "
                           f"after the first note at sample {start}, need {MIN_WINDOW}")
    span = slice(start, start + length + max_delay)
    x_white, y_white = _whiten(x[span], y[span], length)
    corr = _correlation(x_white, y_white, length, max_delay)
    magnitude = np.abs(corr)
    best = int(np.argmax(magnitude))
    confidence = _peak_ratio(magnitude, best)
    _reject_leading(best - max_delay, confidence)
    lag = _onset_lag(magnitude, best) - max_delay
    if max_delay > 0 and best - max_delay == max_delay:
        raise LatencyError(f"the best match lies at the edge of the search ({max_delay} samples): "
                           f"the latency may be larger; allow a longer maximum delay")
    return LatencyEstimate(delay=max(lag, 0), confidence=confidence, method="xcorr",
                           inverted=bool(corr[best] < 0))


def _reject_leading(lag: int, confidence: float) -> None:
    """A best lag below zero is never usable; say whether it is a real lead or no clear peak."""
    if lag >= 0:
        return
    if confidence >= MIN_CONFIDENCE:
        raise LatencyError(f"the output is ahead of the input by {-lag} samples (negative latency): "
                           f"check that input and output are not swapped")
    raise LatencyError(f"no clear correlation peak: the best match ({-lag} samples ahead of the input) "
                       f"has peak ratio {confidence:.2f}; check that the files belong together and "
                       f"that the maximum delay covers the latency")


def detect_delay_blips(input: np.ndarray, output: np.ndarray, blip_positions: Sequence[int],
                       max_delay: int) -> LatencyEstimate:
    """Finds the output's delay from known clicks in the input.

    Each click is located within BLIP_SEARCH_RADIUS of its stated position, the output's
    response is searched from max_delay before to max_delay after it, and the delay is the
    distance between the two onsets. The smallest per-click delay is returned (a too small
    delay leaves the model a little lookahead to learn; a too large one makes it non-causal).
    """
    x, y = _as_float64(input), _as_float64(output)
    if not blip_positions:
        raise LatencyError("no blip positions given")
    delays, ratios = [], []
    for position in blip_positions:
        delay, ratio = _one_blip(x, y, int(position), max_delay)
        delays.append(delay)
        ratios.append(ratio)
    notes = ()
    if max(delays) - min(delays) > BLIP_AGREEMENT:
        notes = (f"blip delays disagree ({', '.join(map(str, delays))} samples); "
                 f"using the smallest, {min(delays)}",)
    return LatencyEstimate(delay=min(delays), confidence=min(ratios), method="blips", notes=notes)


def _as_float64(audio: np.ndarray) -> np.ndarray:
    """Correlations of long float32 signals lose precision; compute them in float64."""
    array = np.asarray(audio, dtype=np.float64)
    if array.ndim != 1:
        raise LatencyError(f"expected mono (1-D) audio, got shape {array.shape}")
    return array


def _first_activity(x: np.ndarray) -> int:
    """Index of the first sample that reaches ACTIVITY_FRACTION of the input's peak."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0:
        raise LatencyError("the input is silent: there is nothing to correlate")
    return int(np.argmax(np.abs(x) >= ACTIVITY_FRACTION * peak))


def _whiten(x: np.ndarray, y: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Both signals through the input's prediction-error filter (fitted on its first `length`
    samples); the same linear filter on both keeps the input-to-output relation intact."""
    x = x - x[:length].mean()
    y = y - y[:length].mean()
    auto = signal.correlate(x[:length], x[:length], mode="full", method="fft")[length - 1:]
    auto = auto[:WHITENING_ORDER + 1].copy()
    auto[0] *= 1.0 + 1e-6  # a little white noise keeps the system well conditioned
    predictor = linalg.solve_toeplitz(auto[:-1], auto[1:])
    error_filter = np.concatenate(([1.0], -predictor))
    return signal.lfilter(error_filter, 1.0, x), signal.lfilter(error_filter, 1.0, y)


def _correlation(x: np.ndarray, y: np.ndarray, length: int, max_delay: int) -> np.ndarray:
    """Correlation at lags -max_delay..max_delay (index max_delay is lag 0)."""
    span = length + max_delay
    lagging = signal.correlate(y[:span], x[:length], mode="valid", method="fft")  # lags 0..max
    leading = signal.correlate(x[:span], y[:length], mode="valid", method="fft")  # lags 0..-max
    return np.concatenate((leading[:0:-1], lagging))


def _onset_lag(magnitude: np.ndarray, best: int) -> int:
    """The earliest index on the peak's rising slope that reaches ONSET_FRACTION of it."""
    threshold = ONSET_FRACTION * magnitude[best]
    index = best
    while index > 0 and magnitude[index - 1] <= magnitude[index] and magnitude[index - 1] >= threshold:
        index -= 1
    return index


def _peak_ratio(magnitude: np.ndarray, best: int) -> float:
    """Best peak over the highest value outside its main lobe (the monotonic slopes around it)."""
    left = best
    while left > 0 and magnitude[left - 1] <= magnitude[left]:
        left -= 1
    right = best
    while right < len(magnitude) - 1 and magnitude[right + 1] <= magnitude[right]:
        right += 1
    rest = np.concatenate((magnitude[:left], magnitude[right + 1:]))
    competitor = float(rest.max()) if rest.size else 0.0
    return float("inf") if competitor == 0.0 else float(magnitude[best]) / competitor


def _one_blip(x: np.ndarray, y: np.ndarray, position: int, max_delay: int) -> tuple[int, float]:
    """Delay and response-to-background ratio for the click stated to be at `position`."""
    if not 0 <= position < len(x):
        raise LatencyError(f"blip position {position} is outside the input ({len(x)} samples)")
    lo, hi = max(0, position - BLIP_SEARCH_RADIUS), min(len(x), position + BLIP_SEARCH_RADIUS + 1)
    click = _onset(np.abs(x[lo:hi]))
    if click is None:
        raise LatencyError(f"no click in the input near sample {position}")
    onset_in = lo + click
    start, stop = max(0, onset_in - max_delay), min(len(y), onset_in + max_delay + BLIP_TAIL)
    _check_isolated(x, onset_in, start - BLIP_NOISE, stop)
    if stop <= start:
        raise LatencyError(f"the output ends before the blip at sample {onset_in}")
    response = np.abs(y[start:stop])
    background = np.abs(y[max(0, start - BLIP_NOISE):start])
    ratio = _response_ratio(response, background, onset_in)
    onset_out = start + _onset(response)
    delay = onset_out - onset_in
    if delay < 0:
        raise LatencyError(f"the output's response to the blip at sample {onset_in} comes {-delay} samples "
                           f"before it (negative latency): check that input and output are not swapped")
    if delay > max_delay:
        raise LatencyError(f"the output's response to the blip at sample {onset_in} starts {delay} samples "
                           f"later, beyond the maximum delay of {max_delay}")
    return delay, ratio


def _check_isolated(x: np.ndarray, click: int, start: int, stop: int) -> None:
    """The input must be quiet around the click wherever the output is searched, or the
    output's loudest sample there may answer playing rather than the click (this is also what
    a wrong blip position, e.g. another input-file version's, looks like)."""
    lo = max(0, start)
    around = np.abs(x[lo:stop])
    near = slice(max(0, click - BLIP_SEARCH_RADIUS) - lo, click + BLIP_SEARCH_RADIUS + 1 - lo)
    peak = float(around[near].max())
    around = np.concatenate((around[:near.start], around[near.stop:]))
    other = float(around.max()) if around.size else 0.0
    if other * BLIP_MIN_RATIO > peak:
        raise LatencyError(f"the input is not quiet around the blip at sample {click} (other audio reaches "
                           f"{other:.2g} against the click's {peak:.2g}): are the blip positions right "
                           f"for this input file?")


def _onset(magnitude: np.ndarray) -> int | None:
    """First index reaching ONSET_FRACTION of the segment's peak (None when all zero)."""
    peak = float(magnitude.max()) if magnitude.size else 0.0
    if peak == 0.0:
        return None
    return int(np.argmax(magnitude >= ONSET_FRACTION * peak))


def _response_ratio(response: np.ndarray, background: np.ndarray, onset_in: int) -> float:
    """How far the output's click response stands out of the noise just before it."""
    peak = float(response.max())
    floor = float(background.max()) if background.size else 0.0
    if peak == 0.0 or (floor > 0.0 and peak < BLIP_MIN_RATIO * floor):
        raise LatencyError(f"the output has no clear response to the blip at sample {onset_in}: "
                           f"peak {peak:.2g} against background {floor:.2g} "
                           f"(need {BLIP_MIN_RATIO:g}x)")
    return float("inf") if floor == 0.0 else peak / floor
