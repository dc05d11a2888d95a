"""Performance before labels: the AUC estimated from calibrated scores matches the AUC the
labels later give, under covariate shift, and a miscalibrated model is mapped first."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from driftline.model.calibration import calibration_error, fit_calibration
from driftline.monitoring.estimated import estimate_auc, score_histogram


def _night(rng: np.random.Generator, rows: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated model's scores and the outcomes drawn from them; `shift` moves the
    feature the score rests on (covariate shift: P(y | x) holds)."""
    x = rng.normal(loc=shift, size=rows)
    probability = 1 / (1 + np.exp(-(1.5 * x - 1.0)))
    return probability, (rng.random(rows) < probability).astype(float)


@pytest.mark.parametrize("shift", [0.0, -0.8, 1.2])
def test_a_calibrated_models_estimate_matches_the_realised_auc(shift: float) -> None:
    rng = np.random.default_rng(11)
    scores, labels = _night(rng, 20_000, shift)
    estimate = estimate_auc(score_histogram(scores), {"applied": False})
    assert estimate is not None
    realised = roc_auc_score(labels, scores)
    assert estimate.value == pytest.approx(realised, abs=0.01)
    assert estimate.low < realised < estimate.high
    assert estimate.expected_positives == pytest.approx(labels.sum(), rel=0.05)
    assert not estimate.calibrated


def test_a_miscalibrated_models_scores_are_mapped_on_the_holdout_first() -> None:
    rng = np.random.default_rng(12)
    probability, labels = _night(rng, 20_000, 0.0)
    squashed = 0.5 + 0.4 * (probability - 0.5)  # right order, wrong probabilities
    calibration = fit_calibration(labels[:10_000], squashed[:10_000])
    assert calibration["applied"] and calibration["ece_raw"] > 0.05
    assert calibration["ece_mapped"] < 0.02
    night = score_histogram(squashed[10_000:])
    realised = roc_auc_score(labels[10_000:], squashed[10_000:])
    mapped = estimate_auc(night, calibration)
    unmapped = estimate_auc(night, {"applied": False})
    assert mapped is not None and unmapped is not None and mapped.calibrated
    assert mapped.value == pytest.approx(realised, abs=0.01)
    assert abs(unmapped.value - realised) > 0.05  # the raw scores would have misled it


def test_calibration_error_and_the_edges() -> None:
    rng = np.random.default_rng(13)
    scores, labels = _night(rng, 50_000, 0.0)
    assert calibration_error(labels, scores) < 0.01
    assert not fit_calibration(labels, scores)["applied"]
    assert estimate_auc(np.zeros(1000), None) is None
    # Every score near 1: no negative expected, no AUC to estimate.
    assert estimate_auc(score_histogram(np.full(10, 0.9999)), None) is None
