"""Live accuracy from the Spark aggregation agrees with scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, precision_score, recall_score, roc_auc_score

from driftline.monitoring.accuracy import live_accuracy

pytestmark = pytest.mark.integration


def test_matches_sklearn_overall_and_per_segment(spark) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    n = 20_000
    label = rng.integers(0, 2, n)
    score = np.clip(0.3 * label + rng.uniform(0, 0.7, n), 0, 1)
    region = rng.choice(["north", "south"], n)
    frame = pd.DataFrame({"score": score, "label": label.astype(float), "region": region})
    frame.loc[::4, "label"] = np.nan  # a quarter of labels have not matured
    results = {a.segment: a for a in live_accuracy(spark.createDataFrame(frame), ["region"], 0.5)}
    assert list(results) == ["all", "region=north", "region=south"]
    for segment, rows in (
        ("all", frame),
        ("region=north", frame[frame.region == "north"]),
        ("region=south", frame[frame.region == "south"]),
    ):
        got = results[segment]
        known = rows.dropna(subset=["label"])
        y, p = known["label"].to_numpy(), known["score"].to_numpy()
        assert got.predictions == len(rows)
        assert got.labelled == len(known)
        assert got.maturity == pytest.approx(len(known) / len(rows))
        # AUC from 10,000 score bins: ties inside a bin count half.
        assert got.auc == pytest.approx(roc_auc_score(y, p), abs=1e-3)
        assert got.logloss == pytest.approx(log_loss(y, p), rel=1e-9)
        assert got.precision == pytest.approx(precision_score(y, p >= 0.5), rel=1e-12)
        assert got.recall == pytest.approx(recall_score(y, p >= 0.5), rel=1e-12)
        # Called positive among all predictions, matured or not.
        assert got.positive_rate == pytest.approx((rows["score"] >= 0.5).mean(), rel=1e-12)


@pytest.mark.integration
def test_regression_accuracy_matches_sklearn(spark) -> None:  # type: ignore[no-untyped-def]
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    from driftline.core.tasks import Task

    rng = np.random.default_rng(5)
    n = 5_000
    label = rng.gamma(3.0, 10.0, n)
    score = label + rng.normal(0, 4, n)
    region = rng.choice(["north", "south"], n)
    frame = pd.DataFrame({"score": score, "label": label, "region": region})
    frame.loc[::3, "label"] = np.nan
    task = Task("regression", "reg:squarederror")
    results = {
        a.segment: a
        for a in live_accuracy(spark.createDataFrame(frame), ["region"], 0.5, task=task)
    }
    for segment, rows in (("all", frame), ("region=south", frame[frame.region == "south"])):
        known = rows.dropna(subset=["label"])
        y, p = known["label"].to_numpy(), known["score"].to_numpy()
        got = results[segment]
        assert (got.predictions, got.labelled) == (len(rows), len(known))
        assert got.value("rmse") == pytest.approx(np.sqrt(mean_squared_error(y, p)), rel=1e-9)
        assert got.value("mae") == pytest.approx(mean_absolute_error(y, p), rel=1e-9)
        assert got.value("r2") == pytest.approx(r2_score(y, p), rel=1e-9)


@pytest.mark.integration
def test_multiclass_accuracy_matches_sklearn(spark) -> None:  # type: ignore[no-untyped-def]
    from sklearn.metrics import accuracy_score, f1_score

    from driftline.core.tasks import Task

    rng = np.random.default_rng(6)
    n = 4_000
    label = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3)) + 1.5 * np.eye(3)[label]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    plan = rng.choice(["basic", "plus"], n)
    frame = pd.DataFrame(
        {
            "score": probabilities.max(axis=1),
            "class_probabilities": list(probabilities),
            "label": label.astype(float),
            "plan": plan,
        }
    )
    frame.loc[::5, "label"] = np.nan
    task = Task("multiclass", "multi:softprob", ("a", "b", "c"))
    scored = spark.createDataFrame(
        frame, "score double, class_probabilities array<double>, label double, plan string"
    )
    results = {a.segment: a for a in live_accuracy(scored, ["plan"], 0.5, task=task)}
    for segment, rows in (("all", frame), ("plan=plus", frame[frame.plan == "plus"])):
        known = rows.dropna(subset=["label"])
        y = known["label"].to_numpy().astype(int)
        p = np.stack(known["class_probabilities"].to_numpy())
        got = results[segment]
        assert got.labelled == len(known)
        assert got.value("mlogloss") == pytest.approx(log_loss(y, p, labels=[0, 1, 2]), rel=1e-9)
        assert got.value("accuracy") == pytest.approx(accuracy_score(y, p.argmax(axis=1)))
        assert got.value("macro_f1") == pytest.approx(
            f1_score(y, p.argmax(axis=1), average="macro")
        )
