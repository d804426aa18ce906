"""Error-to-signal ratio with pre-emphasis, and the DC term: the training loss and the
figures users read (numpy for evaluation, Keras for training; the same definitions).

ESR = sum((t - p)^2) / sum(t^2). Pre-emphasis H(z) = 1 - a z^-1 (default a = 0.85) weights
high frequencies, where amp distortion is audible, as in Wright et al. 2020. The DC term
(mean(t - p))^2 / mean(t^2) keeps the output free of offset. The first `skip` samples of
each segment (a WaveNet's receptive field, or an RNN's warm-up) are not scored: their
output depends on audio the model did not see.
"""

from __future__ import annotations

import numpy as np

DEFAULT_PRE_EMPHASIS = 0.85
_EPSILON = 1e-10


def pre_emphasis(x: np.ndarray, coefficient: float = DEFAULT_PRE_EMPHASIS) -> np.ndarray:
    """y[n] = x[n] - a x[n-1] along the last axis (x[-1] taken as 0)."""
    x = np.asarray(x, dtype=np.float64)
    y = x.copy()
    y[..., 1:] -= coefficient * x[..., :-1]
    return y


def esr(target: np.ndarray, prediction: np.ndarray) -> float:
    """Error-to-signal ratio of prediction against target (0 is perfect, 1 is silence)."""
    target = np.asarray(target, dtype=np.float64)
    error = target - np.asarray(prediction, dtype=np.float64)
    return float(np.sum(error**2) / (np.sum(target**2) + _EPSILON))


def esr_terms(target: np.ndarray, prediction: np.ndarray, skip: int = 0,
              coefficient: float = DEFAULT_PRE_EMPHASIS) -> np.ndarray:
    """(error energy, target energy) raw, then pre-emphasised, after `skip` samples: what
    several clips add up to for one ESR over all of them (`pooled_esr`)."""
    t, p = np.asarray(target, np.float64), np.asarray(prediction, np.float64)
    et, ep = pre_emphasis(t, coefficient), pre_emphasis(p, coefficient)
    return np.array([np.sum((t - p)[skip:] ** 2), np.sum(t[skip:] ** 2),
                     np.sum((et - ep)[skip:] ** 2), np.sum(et[skip:] ** 2)])


def pooled_esr(terms: np.ndarray) -> dict[str, float]:
    """Raw and pre-emphasised ESR from summed esr_terms (one clip's: its own ESR)."""
    return {"esr": float(terms[0] / (terms[1] + _EPSILON)), "esr_preemph": float(terms[2] / (terms[3] + _EPSILON))}


def dc_error(target: np.ndarray, prediction: np.ndarray) -> float:
    """Squared mean error relative to the target's power."""
    target = np.asarray(target, dtype=np.float64)
    error = target - np.asarray(prediction, dtype=np.float64)
    return float(np.mean(error) ** 2 / (np.mean(target**2) + _EPSILON))


def scores(target: np.ndarray, prediction: np.ndarray, skip: int = 0,
           coefficient: float = DEFAULT_PRE_EMPHASIS) -> dict[str, float]:
    """Raw and pre-emphasised ESR and the DC error, ignoring the first `skip` samples."""
    target, prediction = np.asarray(target), np.asarray(prediction)
    return {
        "esr": esr(target[skip:], prediction[skip:]),
        "esr_preemph": esr(pre_emphasis(target, coefficient)[skip:], pre_emphasis(prediction, coefficient)[skip:]),
        "dc": dc_error(target[skip:], prediction[skip:]),
    }


def keras_loss(skip: int, coefficient: float = DEFAULT_PRE_EMPHASIS):  # type: ignore[no-untyped-def]
    """Keras loss on (batch, time, 1) tensors: pre-emphasised ESR + DC after `skip` samples.

    Pre-emphasis is applied before the cut, so the first scored sample uses its real
    predecessor, exactly as `scores` does.
    """
    from keras import ops

    def emphasise(y):  # type: ignore[no-untyped-def]
        return ops.concatenate([y[:, :1, :], y[:, 1:, :] - coefficient * y[:, :-1, :]], axis=1)

    def loss(y_true, y_pred):  # type: ignore[no-untyped-def]
        t, p = emphasise(y_true)[:, skip:, :], emphasise(y_pred)[:, skip:, :]
        esr_term = ops.sum(ops.square(t - p)) / (ops.sum(ops.square(t)) + _EPSILON)
        raw_t, raw_p = y_true[:, skip:, :], y_pred[:, skip:, :]
        dc_term = ops.square(ops.mean(raw_t - raw_p)) / (ops.mean(ops.square(raw_t)) + _EPSILON)
        return esr_term + dc_term

    return loss
