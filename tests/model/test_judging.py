"""The bootstrap's block form of a metric agrees with the one-call form it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from driftline.core.tasks import Task
from driftline.model.judging import metric_value, resampled_metric

BINARY = Task("binary", "binary:logistic")
REGRESSION = Task("regression", "reg:squarederror")
MULTICLASS = Task("multiclass", "multi:softprob", ("a", "b", "c"))


def _picks(rows: int, resamples: int, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, rows, size=(resamples, rows))


def _one_at_a_time(
    task: Task, metric: str, y: np.ndarray, p: np.ndarray, picks: np.ndarray
) -> np.ndarray:
    values = [metric_value(task, metric, y[rows], p[rows]) for rows in picks]
    return np.array([np.nan if v is None else v for v in values])


def test_auc_by_ranks_equals_scikit_learns_ties_included() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(60) < 0.3).astype(float)
    # Scores on a coarse grid, so resamples are full of ties.
    scores = np.round(rng.random(60) * 5) / 5
    picks = _picks(60, 40)
    picks[0] = np.flatnonzero(y == 0)[0]  # one class only: undefined, as scikit-learn says
    block = resampled_metric(BINARY, "auc", y, scores, picks)
    expected = _one_at_a_time(BINARY, "auc", y, scores, picks)
    assert np.isnan(block[0]) and np.isnan(expected[0])
    np.testing.assert_allclose(block[1:], expected[1:], rtol=0, atol=1e-12)


@pytest.mark.parametrize("metric", ["rmse", "mae", "r2"])
def test_regression_errors_in_a_block_equal_scikit_learns(metric: str) -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=50)
    predicted = y + rng.normal(scale=0.5, size=50)
    picks = _picks(50, 30)
    np.testing.assert_allclose(
        resampled_metric(REGRESSION, metric, y, predicted, picks),
        _one_at_a_time(REGRESSION, metric, y, predicted, picks),
        rtol=1e-12,
    )


def test_other_metrics_go_one_resample_at_a_time() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, size=40).astype(float)
    probabilities = rng.dirichlet(np.ones(3), size=40)
    picks = _picks(40, 10)
    for metric in ("accuracy", "mlogloss"):
        np.testing.assert_allclose(
            resampled_metric(MULTICLASS, metric, y, probabilities, picks),
            _one_at_a_time(MULTICLASS, metric, y, probabilities, picks),
        )
    scores = rng.random(40)
    binary = (y > 0).astype(float)
    np.testing.assert_allclose(
        resampled_metric(BINARY, "logloss", binary, scores, picks),
        _one_at_a_time(BINARY, "logloss", binary, scores, picks),
    )
