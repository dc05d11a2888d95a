"""Each kind of target fixes its objective, early-stopping metric, baseline and metrics;
the metrics are scikit-learn's and their direction is known."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from driftline.core.tasks import Task, better, objective_kind
from driftline.model.judging import baseline, baseline_predictions, evaluate


def test_objectives_belong_to_one_kind() -> None:
    assert objective_kind("binary:logistic") == "binary"
    assert objective_kind("count:poisson") == "regression"
    assert objective_kind("multi:softprob") == "multiclass"
    assert objective_kind("rank:pairwise") is None


def test_the_task_fixes_what_the_booster_is_trained_and_stopped_on() -> None:
    assert Task("binary", "binary:logistic").params == {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
    }
    assert Task("regression", "reg:squarederror").params["eval_metric"] == "rmse"
    assert Task("regression", "reg:absoluteerror").params["eval_metric"] == "mae"
    assert Task("multiclass", "multi:softprob", ("a", "b", "c")).params == {
        "objective": "multi:softprob",
        "eval_metric": "mlogloss",
        "num_class": 3,
    }


def test_regression_metrics_are_sklearns() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 500)
    predicted = y + rng.normal(0, 1, 500)
    got = evaluate(Task("regression", "reg:squarederror"), y, predicted)
    assert got["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, predicted)))
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(y, predicted))
    assert got["r2"] == pytest.approx(sk.r2_score(y, predicted))


def test_multiclass_metrics_are_sklearns() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 600)
    logits = rng.normal(0, 1, (600, 3)) + 2.0 * np.eye(3)[y]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    got = evaluate(Task("multiclass", "multi:softprob", ("low", "mid", "high")), y, probabilities)
    assert got["mlogloss"] == pytest.approx(sk.log_loss(y, probabilities))
    chosen = probabilities.argmax(axis=1)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, chosen))
    assert got["macro_f1"] == pytest.approx(sk.f1_score(y, chosen, average="macro"))


def test_undefined_metrics_are_none_and_direction_is_known() -> None:
    binary = Task("binary", "binary:logistic")
    assert evaluate(binary, np.ones(10), np.full(10, 0.7))["auc"] is None
    assert better("auc", 0.80, 0.75) == pytest.approx(0.05)
    assert better("rmse", 2.0, 2.5) == pytest.approx(0.5)
    assert better("mlogloss", 0.9, 0.8) == pytest.approx(-0.1)


@pytest.mark.parametrize(
    ("task", "y"),
    [
        (Task("binary", "binary:logistic"), np.array([0, 1] * 50)),
        (Task("regression", "reg:squarederror"), np.linspace(0, 5, 100)),
        (
            Task("multiclass", "multi:softprob", ("a", "b", "c", "d")),
            np.array([0, 1, 2] * 33 + [0]),
        ),
    ],
)
def test_the_baseline_predicts_in_the_boosters_form(task: Task, y: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    x = np.column_stack([y + rng.normal(0, 0.5, len(y)), rng.normal(0, 1, len(y))])
    x[::7, 1] = np.nan  # missing values are imputed
    fitted = baseline(task, seed=0).fit(x, y)
    predicted = baseline_predictions(task, fitted, x)
    if task.kind == "multiclass":
        # Class "d" never occurs in training: its column is there, with probability 0.
        assert predicted.shape == (len(y), 4) and np.allclose(predicted[:, 3], 0)
        assert np.allclose(predicted.sum(axis=1), 1)
    else:
        assert predicted.shape == (len(y),)
    assert all(value is not None for value in evaluate(task, y, predicted).values())
