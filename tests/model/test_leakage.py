"""Training flags a model that is too good to be true, and only then, for every task."""

from __future__ import annotations

import numpy as np

from driftline.core.pipeline import LeakageConfig
from driftline.core.tasks import Task
from driftline.model.leakage import find_leakage

REGRESSION = Task("regression", "reg:squarederror")
MULTICLASS = Task("multiclass", "multi:softprob", ("stay", "downgrade", "leave"))


def _data(rows: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    y = (rng.random(rows) < 1 / (1 + np.exp(-(x[:, 0] + 0.5 * x[:, 1])))).astype(float)
    return x, y


def test_an_honest_model_has_no_findings() -> None:
    x, y = _data()
    assert find_leakage(x, y, ["a", "b", "c"], {"holdout_auc": 0.78}, LeakageConfig()) == []


def test_a_feature_that_is_the_label_and_a_near_perfect_holdout_are_flagged() -> None:
    x, y = _data()
    x[:, 2] = y * 10 + np.random.default_rng(1).normal(scale=0.1, size=y.size)
    findings = find_leakage(
        x, y, ["a", "b", "outcome_code"], {"holdout_auc": 0.999}, LeakageConfig()
    )
    assert [(f.check, f.feature) for f in findings] == [
        ("holdout", None),
        ("feature", "outcome_code"),
    ]
    assert findings[0].message == "holdout AUC 0.9990 is near perfect"
    assert "outcome_code alone separates the classes" in findings[1].message


def test_missingness_that_encodes_the_label_is_flagged() -> None:
    # Cancelled flights have no taxi time.
    x, y = _data()
    x[y == 1, 1] = np.nan
    metrics = {"holdout_auc": 0.8}
    findings = find_leakage(x, y, ["a", "taxi_out", "c"], metrics, LeakageConfig())
    assert [(f.check, f.feature) for f in findings] == [("missingness", "taxi_out")]
    assert "whether taxi_out is missing" in findings[0].message
    disabled = LeakageConfig(enabled=False)
    assert find_leakage(x, y, ["a", "taxi_out", "c"], metrics, disabled) == []


def _regression(rows: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(rows, 3))
    y = 3 * x[:, 0] + x[:, 1] + rng.normal(scale=2.0, size=rows)
    return x, y


def test_a_regression_feature_that_is_the_target_in_other_units_is_flagged() -> None:
    x, y = _regression()
    metrics = {"holdout_r2": 0.75}
    assert find_leakage(x, y, ["a", "b", "c"], metrics, LeakageConfig(), REGRESSION) == []
    # Yesterday's demand "forecast" that is today's metered demand, rounded to thousands.
    x[:, 2] = np.round(np.exp(y / 10), 3)
    findings = find_leakage(
        x, y, ["a", "b", "metered"], {"holdout_r2": 0.995}, LeakageConfig(), REGRESSION
    )
    assert [(f.check, f.feature) for f in findings] == [
        ("holdout", None),
        ("feature", "metered"),
    ]
    assert findings[0].message == "holdout R2 0.9950 is near perfect"
    assert "metered alone orders the target (|Spearman| 1.0000)" in findings[1].message


def test_a_regression_feature_missing_only_for_large_targets_is_flagged() -> None:
    x, y = _regression()
    x[y > np.quantile(y, 0.8), 1] = np.nan
    findings = find_leakage(
        x, y, ["a", "refund_date", "c"], {"holdout_r2": 0.8}, LeakageConfig(), REGRESSION
    )
    assert [(f.check, f.feature) for f in findings] == [("missingness", "refund_date")]
    assert "separates high from low targets" in findings[0].message


def test_a_multiclass_feature_that_gives_away_one_class_is_flagged() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 3))
    y = rng.integers(0, 3, size=3000).astype(float)
    y[x[:, 0] > 1] = 2  # an honest, partial signal for "leave"
    metrics = {"holdout_accuracy": 0.6}
    assert find_leakage(x, y, ["a", "b", "c"], metrics, LeakageConfig(), MULTICLASS) == []
    # A cancellation-form flag set only for customers who left.
    x[:, 2] = (y == 2).astype(float)
    findings = find_leakage(
        x, y, ["a", "b", "exit_form"], {"holdout_accuracy": 0.995}, LeakageConfig(), MULTICLASS
    )
    assert [(f.check, f.feature) for f in findings] == [
        ("holdout", None),
        ("feature", "exit_form"),
    ]
    assert "exit_form alone separates class 'leave' from the rest (AUC 1.0000)" in (
        findings[1].message
    )


def test_a_side_of_a_few_rows_is_never_called_a_separation() -> None:
    """With one or two rows missing, or a class of one row, an "AUC" is one row's rank:
    noise that would pass any threshold now and then."""
    x, y = _regression()
    flagged = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        noisy = x.copy()
        noisy[rng.choice(len(y), 2, replace=False), 1] = np.nan
        flagged += bool(find_leakage(noisy, y, ["a", "b", "c"], {}, LeakageConfig(), REGRESSION))
        labels = rng.integers(0, 2, size=len(y)).astype(float)
        labels[rng.integers(len(y))] = 2  # a class of one row
        flagged += bool(
            find_leakage(
                rng.normal(size=(len(y), 20)),
                labels,
                [f"f{i}" for i in range(20)],
                {},
                LeakageConfig(),
                MULTICLASS,
            )
        )
    assert flagged == 0
