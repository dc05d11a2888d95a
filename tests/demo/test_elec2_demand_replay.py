"""Elec2 as a regression (`examples/elec2_demand`): NSW demand predicted from the readings,
the actual demand delivered a week later, replayed week by week in one process. Training
beats its ridge baseline on RMSE, the promotion gate judges a challenger on RMSE and per
weekday, monitoring records live RMSE / MAE / R² against the champion's holdout RMSE and
tests the demand's own distribution, and an auditor gets a prediction's exact SHAP."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from driftline.core import tables
from tests.conftest import PROJECT, make_settings

pytestmark = pytest.mark.integration

ELEC2 = Path(os.environ.get("DRIFTLINE_SHARED", PROJECT.parent / "shared")) / "data" / "elec2.csv"
EXAMPLE = PROJECT / "examples" / "elec2_demand"
WEEKS = 8


@pytest.fixture(scope="module")
def replay(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    if not ELEC2.is_file():
        pytest.skip(f"{ELEC2} not found (the shared data folder next to the checkout)")
    from driftline.context import build_context
    from driftline.demo.elec2 import write_weekly_drops
    from driftline.orchestration.replay import replay_night
    from driftline.steps import promote, train

    root = tmp_path_factory.mktemp("elec2_demand")
    settings = make_settings(root, home=EXAMPLE)
    dates = write_weekly_drops(ELEC2, root / "drop", WEEKS, target="demand")
    nights = [replay_night(day, settings, report=day == dates[-1]) for day in dates]
    ctx = build_context(dates[-1], "test", settings)
    challenger = train.run(ctx, reason="manual")
    gate = promote.run(ctx)
    return {"ctx": ctx, "dates": dates, "nights": nights, "challenger": challenger, "gate": gate}


def test_the_first_champion_beats_its_ridge_baseline(replay) -> None:  # type: ignore[no-untyped-def]
    trained = next(n for n in replay["nights"] if not n.results["bootstrap_champion"]["skipped"])
    metrics = trained.results["bootstrap_champion"]["metrics"]
    assert metrics["holdout_rmse"] < metrics["baseline_holdout_rmse"]
    assert metrics["beats_baseline"] == 1
    assert metrics["holdout_r2"] > 0.5
    assert "holdout_mae" in metrics
    # The first week's holdout is a fifth of its rows: no weekday slice reaches
    # min_slice_rows, so the gate's per-weekday RMSE comes with later, longer windows.
    assert "holdout_auc" not in metrics


def test_predictions_are_demand_values(replay) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    ctx = replay["ctx"]
    scored = ctx.lake.read(tables.PREDICTIONS).where(F.col("model_alias") == "champion")
    assert "predicted_class" not in scored.columns
    low, high = scored.agg(F.min("score"), F.max("score")).first()
    assert 0.0 < low < high < 1.2  # normalised demand, not probabilities squashed to 0/1
    labels = ctx.lake.read(tables.LABELS)
    assert dict(labels.dtypes)["label"] == "double"


def test_monitoring_judges_live_rmse_and_the_demands_distribution(replay) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    ctx = replay["ctx"]
    last = replay["dates"][-1]
    rows = {
        (r["metric"], r["segment"]): r
        for r in ctx.lake.read(tables.MONITORING_METRICS)
        .where((F.col(tables.RUN_DATE) == F.lit(last)) & (F.col("feature") == tables.MODEL_LEVEL))
        .collect()
    }
    for metric in ("rmse", "mae", "r2"):
        assert (metric, "all") in rows, sorted(rows)
        assert sum(segment.startswith("day=") for m, segment in rows if m == metric) == 7
    rmse = rows[("rmse", "all")]
    assert rmse["threshold"] is not None and rmse["value"] < 0.2  # judged against holdout + 0.02
    assert ("auc", "all") not in rows
    # Before labels: RMSE and MAE expected from each row's features by the loss models
    # learnt on the holdout, the one the policy judges against its limit.
    for metric in ("rmse", "mae"):
        estimated = rows[(f"estimated_{metric}", "all")]
        details = json.loads(estimated["details"])
        assert details["low"] <= estimated["value"] <= details["high"]
        assert 0.0 < estimated["value"] < 0.2
        # The champion's loss models travelled with it through MLflow (its extra files).
        assert details["method"] == "loss_model"
    assert rows[("estimated_rmse", "all")]["threshold"] == rmse["threshold"]
    assert rows[("estimated_mae", "all")]["threshold"] is None
    # R² from the expected squared error and the spread of tonight's predictions.
    r2 = rows[("estimated_r2", "all")]
    details = json.loads(r2["details"])
    assert details["low"] <= r2["value"] <= details["high"] and details["method"] == "loss_model"
    assert 0.0 < r2["value"] < 1.0 and r2["threshold"] is None
    drift = json.loads(rows[("label_drift", None)]["details"])
    assert drift["feature"] == "label" and drift["kind"] == "numeric"
    policy = replay["nights"][-1].results["retrain_policy"]["metrics"]
    assert "fire" in policy


def test_the_gate_judges_a_challenger_on_rmse(replay) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    assert not replay["challenger"].skipped
    gate = replay["gate"]
    assert gate.metrics["reasons"]
    decision = (
        replay["ctx"]
        .lake.read(tables.DECISIONS)
        .where(F.col("kind").isin("promote", "reject"))
        .orderBy(F.col("decided_at").desc())
        .first()
    )
    assert decision["metric"] == "rmse"
    assert np.isfinite(decision["champion_value"]) and np.isfinite(decision["challenger_value"])


def test_an_auditor_gets_the_demand_prediction_explained(replay) -> None:  # type: ignore[no-untyped-def]
    from driftline.model.audit import audit

    ctx = replay["ctx"]
    last = replay["dates"][-1]
    reading = f"R{336 * (len(replay['dates']) - 1):06d}"  # the last week's first reading
    (record,) = [r for r in audit(ctx, reading, last) if r.model_alias == "champion"]
    assert record.predicted_class is None
    assert len(record.exact_contributions) == ctx.pipeline.model.top_contributions
    assert record.training["run_date"]
