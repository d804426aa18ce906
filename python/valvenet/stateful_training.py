"""Stateful truncated back-propagation through time: how recurrent models (LSTM, GRU) train.

Why not random independent segments, as WaveNets train: an RNN's memory is its state, and a
segment that starts from a zero state teaches it only what fits in the segment after a
warm-up that costs as much as the scored part (every time step runs one after another). As in
Wright et al. (2019/2020), each batch holds `batch_size` random sequences of the training split;
a sequence starts with `warmup` unscored samples that only settle the state, then runs as
`windows` consecutive windows of `segment` samples. After each window the weights are updated
(gradients flow back through that window only) and its final state is the next window's
initial state, so the model learns from a state that carries the whole sequence's past. The
state is reset (zeros) at the start of every sequence, as the oracle and the firmware start.

Per-step cost of an RNN on a CPU is a fixed cost per time step (the batch rides along almost
for free), so recurrent models train on large batches (RNN_BATCH).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

RNN_BATCH = 64  # sequences per batch (see the module docstring)
WINDOWS_PER_SEQUENCE = 8  # weight updates per sequence, each on the next `segment` samples
INPUT_LEVEL = 0.25  # the training input's RMS after the input kernel's scaling (initialise()); docs/training.md
FORGET_BIAS = 2.0  # an LSTM's initial forget-gate bias: memory of ~e^2 = 8 samples, not 3 (3 overflowed the bias gradient)
GRADIENT_CLIP = 1.0  # global norm: a long window's gradient can spike on a loud transient


@dataclass(frozen=True)
class Plan:
    """The shape of one batch of sequences: warm-up, then `windows` windows of `segment`."""

    batch: int
    warmup: int
    segment: int
    windows: int

    @property
    def length(self) -> int:
        return self.warmup + self.windows * self.segment


def one_intra_op_thread() -> bool:
    """One intra-op thread for a recurrent run, set before TensorFlow starts. Its time steps are
    a dozen small ops each, and a second thread only adds hand-offs: on this 2-core machine
    lstm-12 trained at 694k samples/s on both cores with TensorFlow's default (a thread per
    core), 972k pinned to one core, 1,017k on both with one intra-op thread (docs/training.md,
    "Training speed"). False when TensorFlow is already running (its thread pools are fixed at
    start, e.g. a second training in one process): nothing changes."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:
        return False
    return True


def initialise(model: Any, train_input: np.ndarray) -> None:
    """Scale the input kernel to the training input's level and set the forget-gate bias
    (keras_models.initialise_recurrent says why)."""
    from valvenet.models import keras_models
    from valvenet.training_data import input_rms

    keras_models.initialise_recurrent(model, INPUT_LEVEL / input_rms(train_input), FORGET_BIAS)


class StatefulTrainer:
    """Compiled steps over a model's stateful twin (keras_models.stateful_twin): `advance`
    runs the warm-up (no gradient), `update` trains on one window from a given state."""

    def __init__(self, model: Any, loss: Callable[..., Any]) -> None:
        import tensorflow as tf

        from valvenet.models import keras_models

        self.states = keras_models.state_count(model)
        self.hidden = model.get_layer("rnn").units
        twin = keras_models.stateful_twin(model)
        optimizer, variables = model.optimizer, twin.trainable_variables

        @tf.function(reduce_retracing=True)
        def advance(x: Any, *state: Any) -> Any:
            return twin([x, *state], training=False)[1:]

        @tf.function(reduce_retracing=True)
        def update(x: Any, y: Any, *state: Any) -> Any:
            with tf.GradientTape() as tape:
                out = twin([x, *state], training=True)
                value = loss(y, out[0])
            optimizer.apply_gradients(zip(tape.gradient(value, variables), variables))
            return value, out[1:]

        self.advance, self.update = advance, update

    def sequence(self, x: np.ndarray, y: np.ndarray, plan: Plan, on_update: Callable[[float], None]) -> list[float]:
        """Train on one batch of sequences; returns the windows' losses."""
        state = [np.zeros((x.shape[0], self.hidden), np.float32) for _ in range(self.states)]
        if plan.warmup:
            state = list(self.advance(x[:, :plan.warmup], *state))
        losses = []
        for w in range(plan.windows):
            span = slice(plan.warmup + w * plan.segment, plan.warmup + (w + 1) * plan.segment)
            value, state = self.update(x[:, span], y[:, span], *state)
            losses.append(float(value))
            on_update(losses[-1])
        return losses


class EpochRunner:
    """A recurrent model's epochs: `sequences` seeded batches of sequences, each `plan.windows`
    weight updates (`updates` in all)."""

    def __init__(self, model: Any, train: list[Any], options: Any, warmup: int, steps: int) -> None:
        """`train`: the training clips (training_data.Clip); each sequence lies in one clip."""
        from valvenet.losses import keras_loss

        room = (max(c.y.size for c in train) - warmup) // options.segment  # windows that fit in a clip
        windows = max(1, min(WINDOWS_PER_SEQUENCE, room, steps))
        self.plan = Plan(options.batch_size, warmup, options.segment, windows)
        self.sequences = max(1, math.ceil(steps / windows))
        self.updates = self.sequences * windows
        self.train, self.seed = train, options.seed
        self.trainer = StatefulTrainer(model, keras_loss(0, options.pre_emphasis))

    def epoch(self, number: int, on_update: Callable[[float], None]) -> tuple[float, float, int]:
        """Train one epoch; returns (mean loss, input samples per second, input samples)."""
        from valvenet.training_data import sample_windows

        rng = np.random.default_rng([self.seed, number])
        losses, samples, started = [], 0, time.monotonic()
        for _ in range(self.sequences):
            x, y = sample_windows(self.train, self.plan.batch, self.plan.length, rng)
            losses += self.trainer.sequence(x, y, self.plan, on_update)
            samples += y.size
        return float(np.mean(losses)), samples / (time.monotonic() - started), samples
