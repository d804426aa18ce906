"""What a trained LSTM or GRU does with its gates: the figures that show one that is not learning.

A recurrent model that has not learned looks like this (docs/results.md, lstm-12 before
stateful training): every gate pre-activation within a few hundredths of its bias (the input
is too quiet for the input kernel, so every sigmoid and tanh works in its linear part and the
model is a linear filter), a forget gate still at its initial value (a memory of a few
samples), a cell state that barely moves. These statistics are taken from the model file's
weights over a stretch of audio, stepped in float64 as the oracle steps (Keras conventions:
LSTM gates i, f, c, o; GRU gates z, r, h with reset_after).
"""

from __future__ import annotations

from typing import Any

import numpy as np

SECONDS = 1.0  # of audio stepped through (its loudest part is not needed: any playing moves the gates)
LINEAR_STD = 0.1  # gate pre-activations with a smaller spread over the audio: the gate is a constant
LSTM_GATES = ("input", "forget", "cell", "output")
GRU_GATES = ("update", "reset", "candidate")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _lstm(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Gate pre-activations (time, 4 * hidden) and cell states (time, hidden)."""
    n = recurrent.shape[0]
    h, c = np.zeros(n), np.zeros(n)
    pre, cells = np.empty((x.size, 4 * n)), np.empty((x.size, n))
    for t in range(x.size):
        z = x[t] * kernel + bias + h @ recurrent
        i, f, o = _sigmoid(z[:n]), _sigmoid(z[n:2 * n]), _sigmoid(z[3 * n:])
        c = f * c + i * np.tanh(z[2 * n:3 * n])
        h = o * np.tanh(c)
        pre[t], cells[t] = z, c
    return pre, cells


def _gru(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray]:
    """Gate pre-activations (time, 3 * hidden; the candidate's with its reset applied) and states."""
    n = recurrent.shape[0]
    h = np.zeros(n)
    pre, states = np.empty((x.size, 3 * n)), np.empty((x.size, n))
    for t in range(x.size):
        inputs, inner = x[t] * kernel + bias[0], h @ recurrent + bias[1]
        zr = inputs[:2 * n] + inner[:2 * n]
        z, r = _sigmoid(zr[:n]), _sigmoid(zr[n:])
        candidate = inputs[2 * n:] + r * inner[2 * n:]
        h = z * h + (1.0 - z) * np.tanh(candidate)
        pre[t], states[t] = np.concatenate([zr, candidate]), h
    return pre, states


def diagnose(config: dict[str, Any], tensors: dict[str, np.ndarray], audio: np.ndarray,
             sample_rate: int) -> dict[str, Any]:
    """Per gate: mean and spread (per unit, averaged) of its pre-activation over `audio` (its
    first SECONDS); an LSTM's mean forget-gate bias and its memory (1 / (1 - the mean forget
    gate), in samples); the state's RMS and peak."""
    x = np.asarray(audio, np.float64).reshape(-1)[:int(SECONDS * sample_rate)]
    kernel = tensors["rnn.kernel"].astype(np.float64)[0]
    recurrent, bias = tensors["rnn.recurrent_kernel"].astype(np.float64), tensors["rnn.bias"].astype(np.float64)
    lstm = config["kind"] == "lstm"
    pre, states = (_lstm if lstm else _gru)(x, kernel, recurrent, bias)
    n = recurrent.shape[0]
    gates = {name: {"mean": float(np.mean(pre[:, g * n:(g + 1) * n])), "std": float(np.mean(np.std(pre[:, g * n:(g + 1) * n], axis=0)))}
             for g, name in enumerate(LSTM_GATES if lstm else GRU_GATES)}
    result: dict[str, Any] = {"gates": gates, "state_rms": float(np.sqrt(np.mean(states**2))),
                              "state_peak": float(np.max(np.abs(states))) if states.size else 0.0}
    if lstm:
        forget = float(np.mean(_sigmoid(pre[:, n:2 * n])))  # the fraction of the cell state kept per sample
        result["forget_bias"] = float(np.mean(bias[n:2 * n]))
        result["memory_samples"] = float(1.0 / max(1e-9, 1.0 - forget))
    return result


def warnings(diagnostics: dict[str, Any]) -> list[str]:
    """Plain-language signs of a recurrent model that is not learning (empty when none)."""
    found = []
    linear = [name for name, g in diagnostics["gates"].items() if g["std"] < LINEAR_STD]
    if len(linear) == len(diagnostics["gates"]):
        found.append(f"every gate's pre-activation spreads less than {LINEAR_STD} over the audio: the gates are "
                     "constants and the model is close to a linear filter (input too quiet for the input kernel?)")
    if diagnostics.get("memory_samples", np.inf) < 5:
        found.append(f"the forget gates keep the cell state for about {diagnostics['memory_samples']:.1f} samples: "
                     "almost no memory")
    return found
