"""Feeding Keras batches in order without tf.data's autotuning.

`model.fit(numpy)` and `model.predict(numpy)` wrap the arrays in a new tf.data pipeline every
call, and tf.data starts an autotuning thread for it; when the pipeline is dropped, its
destructor waits for that thread's next timed wake-up, which grows to many seconds. The trainer
calls `fit` and `predict` once or twice per epoch, so every epoch ended idle until the next
wake-up: epoch times fell on a ~21 s grid whatever the model size (an epoch of wavenet-10x8
on one core: 42.7 s, without the wait 35-37 s; docs/training.md). The batches
and their order are the same as `fit(..., shuffle=False)` and `predict(...)` give, so the
weights and outputs are the same; only the waiting goes.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def ordered_batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> Any:
    """(x, y) as a tf.data pipeline of consecutive batches, in order, with autotuning off."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).with_options(options)


def fit_one_epoch(model: Any, x: np.ndarray, y: np.ndarray, batch_size: int, callbacks: list[Any] | None = None
                  ) -> float:
    """One pass over (x, y) in order, `batch_size` windows a batch; returns the epoch's mean loss
    (what `fit(...).history["loss"]` reports)."""
    history = model.fit(ordered_batches(x, y, batch_size), epochs=1, verbose=0, callbacks=callbacks or [])
    return float(history.history["loss"][-1])


def predict_in_batches(model: Any, x: np.ndarray, batch_size: int) -> np.ndarray:
    """The model's output for x, `batch_size` items a call, without a tf.data pipeline."""
    parts = [np.asarray(model.predict_on_batch(x[start:start + batch_size]))
             for start in range(0, len(x), batch_size)]
    return np.concatenate(parts, axis=0)
