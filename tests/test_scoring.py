"""Scores and top contributions from one contributions pass, as the executors compute them."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def booster():  # type: ignore[no-untyped-def]
    import xgboost as xgb

    rng = np.random.default_rng(7)
    x = rng.normal(size=(2000, 4)).astype(np.float32)
    y = (x[:, 0] - 2 * x[:, 2] + rng.normal(scale=0.3, size=2000) > 0).astype(np.float32)
    return xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "base_score": 0.3},
        xgb.DMatrix(x, label=y, feature_names=["a", "b", "c", "d"]),
        30,
    )


def test_the_contributions_sum_to_the_models_own_score(booster) -> None:  # type: ignore[no-untyped-def]
    from driftline.scoring import contributions, objective_of

    matrix = np.random.default_rng(8).normal(size=(500, 4)).astype(np.float32)
    matrix[::9, 1] = np.nan
    contribs = contributions(booster, matrix, ["a", "b", "c", "d"])
    scores = 1.0 / (1.0 + np.exp(-contribs.sum(axis=1, dtype=np.float64)))
    np.testing.assert_allclose(scores, booster.inplace_predict(matrix), atol=1e-6)
    assert objective_of(booster) == "binary:logistic"


def test_top_contributions_are_the_largest_by_magnitude_in_order() -> None:
    from driftline.scoring import top_of

    contribs = np.array([[0.1, -0.5, 0.3, 0.0], [2.0, 0.0, 0.0, -3.0]])
    rows = top_of(contribs, ["a", "b", "c", "d"], 2).to_pylist()
    assert rows == [
        [{"feature": "b", "contribution": -0.5}, {"feature": "c", "contribution": 0.3}],
        [{"feature": "d", "contribution": -3.0}, {"feature": "a", "contribution": 2.0}],
    ]
    assert len(top_of(contribs, ["a", "b", "c", "d"], 9)[0]) == 4
