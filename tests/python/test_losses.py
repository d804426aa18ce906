"""The loss and the ESR figures against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from valvenet import losses


def test_pre_emphasis_by_hand() -> None:
    y = losses.pre_emphasis(np.array([1.0, 2.0, 0.0, -1.0]), 0.5)
    np.testing.assert_allclose(y, [1.0, 1.5, -1.0, -1.0])


def test_esr_and_dc_by_hand() -> None:
    target = np.array([1.0, -1.0, 2.0, 0.0])
    prediction = np.array([0.5, -1.0, 2.0, 1.0])
    # errors 0.5, 0, 0, -1: sum of squares 1.25; target energy 6
    assert losses.esr(target, prediction) == pytest.approx(1.25 / 6)
    # mean error -0.125, squared 0.015625; mean target power 1.5
    assert losses.dc_error(target, prediction) == pytest.approx(0.015625 / 1.5)


def test_scores_skip_the_warm_up_but_keep_its_predecessor() -> None:
    target = np.array([9.0, 1.0, 2.0])
    prediction = np.array([-9.0, 1.0, 1.0])
    result = losses.scores(target, prediction, skip=1, coefficient=0.5)
    assert result["esr"] == pytest.approx(1.0 / 5.0)
    # pre-emphasised: target [.., 1-4.5, 2-0.5] = [-3.5, 1.5]; prediction [1+4.5, 1-0.5] = [5.5, 0.5]
    assert result["esr_preemph"] == pytest.approx((9.0**2 + 1.0**2) / (3.5**2 + 1.5**2))


def test_keras_loss_equals_numpy_scores() -> None:
    rng = np.random.default_rng(3)
    target = rng.standard_normal((2, 50, 1)).astype(np.float32)
    prediction = target + 0.1 * rng.standard_normal((2, 50, 1)).astype(np.float32) + 0.05
    loss = float(losses.keras_loss(skip=10)(target, prediction))
    flat_t = np.concatenate([losses.pre_emphasis(t[:, 0])[10:] for t in target])
    flat_p = np.concatenate([losses.pre_emphasis(p[:, 0])[10:] for p in prediction])
    raw_t, raw_p = target[:, 10:, 0].ravel(), prediction[:, 10:, 0].ravel()
    expected = losses.esr(flat_t, flat_p) + losses.dc_error(raw_t, raw_p)
    assert loss == pytest.approx(expected, rel=1e-4)
