"""The trainer's own batch feeding (no tf.data autotuning) trains and predicts as Keras's
fit(shuffle=False) and predict on the same arrays: the same batches in the same order, so the
same loss and the same weights to float32 rounding (the two paths' compiled steps may round a
last bit differently); it changes the waiting, not the results."""

from __future__ import annotations

import numpy as np

from valvenet import keras_batches
from valvenet.models import config as model_config
from valvenet.models import keras_models


def _model(seed: int):  # type: ignore[no-untyped-def]
    import keras

    _, config = model_config.resolve("nam-nano")
    model = keras_models.build(config, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss="mse")
    return model


def test_one_epoch_in_order_gives_the_weights_and_loss_of_fit() -> None:
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((12, 1200, 1))).astype(np.float32)
    y = np.tanh(5 * x).astype(np.float32)
    ours, theirs = _model(3), _model(3)
    loss = keras_batches.fit_one_epoch(ours, x, y, batch_size=4)
    history = theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert loss == history.history["loss"][-1]
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert any(not np.array_equal(a, b) for a, b in zip(ours.get_weights(), _model(3).get_weights()))


def test_prediction_in_batches_is_keras_predict() -> None:
    x = (0.1 * np.random.default_rng(1).standard_normal((7, 900, 1))).astype(np.float32)
    model = _model(4)
    np.testing.assert_allclose(keras_batches.predict_in_batches(model, x, 3), model.predict(x, batch_size=3, verbose=0),
                               rtol=0, atol=1e-7)
