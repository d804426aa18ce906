"""Stateful truncated back-propagation: each window starts from the state the previous one ended
in, after an unscored warm-up, exactly as if the whole sequence ran in one go."""

from __future__ import annotations

import io

import numpy as np
import pytest

from valvenet.losses import keras_loss
from valvenet.models import config as model_config
from valvenet.models import keras_models
from valvenet.progress import Progress
from valvenet.stateful_training import Plan, StatefulTrainer


@pytest.mark.parametrize("preset", ["lstm-8", "gru-12"])
def test_each_window_continues_from_the_previous_windows_state(preset: str) -> None:
    import keras

    _, config = model_config.resolve(preset)
    model = keras_models.build(config, seed=2)
    keras_models.initialise_recurrent(model, 20.0, 2.0)
    model.get_layer("dense").set_weights([np.full((config["hidden"], 1), 0.3, np.float32), np.zeros(1, np.float32)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.0), loss="mse")  # weights stay as they are
    plan = Plan(batch=3, warmup=50, segment=40, windows=4)
    rng = np.random.default_rng(0)
    x = (0.05 * rng.standard_normal((plan.batch, plan.length, 1))).astype(np.float32)
    y = np.tanh(8 * x).astype(np.float32)
    loss = keras_loss(0)
    losses = StatefulTrainer(model, loss).sequence(x, y, plan, lambda value: None)
    # The reference: the whole sequence at once from a zero state, scored window by window.
    whole = model.predict(x, verbose=0)
    expected = [float(loss(y[:, s:s + plan.segment], whole[:, s:s + plan.segment]))
                for s in range(plan.warmup, plan.length, plan.segment)]
    assert losses == pytest.approx(expected, rel=1e-4)
    # A state reset before each window would give other losses: the check can fail.
    fresh = [float(loss(y[:, s:s + plan.segment], model.predict(x[:, s:s + plan.segment], verbose=0)))
             for s in range(plan.warmup, plan.length, plan.segment)]
    assert not np.allclose(fresh, expected, rtol=1e-3)


def test_without_a_terminal_each_epoch_prints_one_line() -> None:
    stream = io.StringIO()
    progress = Progress("lstm-12", steps=4, max_epochs=10, max_minutes=2.0, stream=stream)
    for epoch in (1, 2):
        for _ in range(4):
            progress.batch(0.5)
        progress.end_epoch({"epoch": epoch, "minutes": 0.5 * epoch, "train_loss": 0.5, "val_esr_preemph": 0.25,
                            "samples_per_second": 1234}, best=0.25, best_epoch=epoch)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0] == ("train lstm-12: epoch 1/4 train 50.00 % val 25.00 % (best 25.00 % at epoch 1) 1,234 samples/s, "
                        "0.5 min elapsed, about 1.5 min left")  # the 2-minute budget holds 4 epochs of 0.5 min
    assert len(lines) == 2 and lines[1].startswith("train lstm-12: epoch 2/4 ")
