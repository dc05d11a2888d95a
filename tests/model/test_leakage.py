"""Training flags a model that is too good to be true, and only then."""

from __future__ import annotations

import numpy as np

from driftline.core.pipeline import LeakageConfig
from driftline.model.leakage import find_leakage


def _data(rows: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    y = (rng.random(rows) < 1 / (1 + np.exp(-(x[:, 0] + 0.5 * x[:, 1])))).astype(float)
    return x, y


def test_an_honest_model_has_no_findings() -> None:
    x, y = _data()
    assert find_leakage(x, y, ["a", "b", "c"], 0.78, LeakageConfig()) == []


def test_a_feature_that_is_the_label_and_a_near_perfect_holdout_are_flagged() -> None:
    x, y = _data()
    x[:, 2] = y * 10 + np.random.default_rng(1).normal(scale=0.1, size=y.size)
    findings = find_leakage(x, y, ["a", "b", "outcome_code"], 0.999, LeakageConfig())
    assert [(f.check, f.feature) for f in findings] == [
        ("holdout", None),
        ("feature", "outcome_code"),
    ]
    assert "outcome_code alone separates the classes" in findings[1].message


def test_missingness_that_encodes_the_label_is_flagged() -> None:
    # Cancelled flights have no taxi time.
    x, y = _data()
    x[y == 1, 1] = np.nan
    findings = find_leakage(x, y, ["a", "taxi_out", "c"], 0.8, LeakageConfig())
    assert [(f.check, f.feature) for f in findings] == [("missingness", "taxi_out")]
    assert "whether taxi_out is missing" in findings[0].message
    assert find_leakage(x, y, ["a", "taxi_out", "c"], 0.8, LeakageConfig(enabled=False)) == []
