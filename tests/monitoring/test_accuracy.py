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
