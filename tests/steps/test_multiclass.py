"""A multiclass model through the steps: which plan a customer is on (basic, plus or
premium), learned from the demo's CRM extracts, whose rows carry the plan as the outcome.
Training reports multiclass log loss, accuracy and macro-F1 against a multinomial
baseline; scoring writes the predicted class with every class's probability and the
contributions towards that class; monitoring judges live log loss and tests the class
shares; the audit names the class."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import yaml
from pyspark.sql import functions as F

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.intervals import RunInterval
from driftline.core.loading import parse_pipeline
from driftline.demo.data import DemoData, write_demo_drop
from driftline.steps import conform, features, ingest, monitor, score, train, validate
from tests.conftest import PROJECT, make_settings

pytestmark = pytest.mark.integration

SPEC = DemoData(start=date(2024, 6, 1), days=3, drift_day=99, rows_per_day=400)
CLASSES = ["basic", "plus", "premium"]


def plan_pipeline(suites: Path) -> dict[str, object]:
    data = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    data["pipeline"] = "plans"
    data["entity"]["date_column"] = "snapshot_date"
    data["features"] = [f for f in data["features"] if f["name"] != "plan"]
    data["label"] = {
        "source": "customers",
        "column": "plan",
        "date_column": "snapshot_date",
        "classes": CLASSES,
    }
    data["model"].update(name="driftline-plans", task="multiclass", search_trials=0)
    data["model"]["promotion"] = {"metric": "mlogloss", "margin": 0.0, "slices": ["region"]}
    data["monitoring"]["accuracy"] = {
        "window_days": 7,
        "segments": ["region"],
        "min_labelled_rows": 50,
    }
    data["retraining"]["metric"] = "mlogloss"
    shutil.copytree(PROJECT / "expectations", suites)
    suite = json.loads((suites / "features.json").read_text())
    suite["expectations"] = [
        e for e in suite["expectations"] if e["kwargs"].get("column") != "plan"
    ]
    for e in suite["expectations"]:
        if "column_set" in e["kwargs"]:
            e["kwargs"]["column_set"] = [c for c in e["kwargs"]["column_set"] if c != "plan"]
    (suites / "features.json").write_text(json.dumps(suite))
    labels = {
        "name": "labels",
        "expectations": [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "plan", "value_set": CLASSES},
                "meta": {"severity": "block"},
            }
        ],
    }
    (suites / "labels.json").write_text(json.dumps(labels))
    return dict(data)


def test_a_multiclass_model_through_the_steps(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from driftline.lake import open_lake
    from driftline.model.audit import audit

    suites = tmp_path / "expectations"
    config = parse_pipeline(plan_pipeline(suites))
    settings = make_settings(tmp_path, expectations_dir=suites)
    write_demo_drop(settings.resolved_drop_root, SPEC, seed=9)
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    results = {}
    for day in SPEC.dates:
        ctx = RunContext(RunInterval(day), f"plans-{day}", settings, config, spark, lake)
        for source in config.sources:
            ingest.run(ctx, source=source.name)
        validate.run(ctx)
        conform.run(ctx)
        features.run(ctx)
        results[day] = {
            "train": train.run(ctx, reason="bootstrap", only_if_no_champion=True),
            "score": score.run(ctx),
            "monitor": monitor.run(ctx),
        }
    first = results[SPEC.dates[0]]["train"]
    assert not first.skipped, first.skipped  # the outcome is in the same file: trains at once
    metrics = first.metrics
    assert {"holdout_mlogloss", "holdout_accuracy", "holdout_macro_f1"} <= set(metrics)
    assert "baseline_holdout_mlogloss" in metrics and "holdout_auc" not in metrics
    labels = lake.read(tables.LABELS)
    assert {r[0] for r in labels.select("label").distinct().collect()} == {0, 1, 2}

    last = SPEC.dates[-1]
    scored = lake.read(tables.PREDICTIONS).where(F.col(tables.RUN_DATE) == F.lit(last)).collect()
    assert len(scored) == SPEC.rows_per_day  # one per customer (truncated repeats quarantined)
    for row in scored[:50]:
        probabilities = row["class_probabilities"]
        assert len(probabilities) == 3 and np.isclose(sum(probabilities), 1)
        assert row["predicted_class"] == CLASSES[int(np.argmax(probabilities))]
        assert row["score"] == pytest.approx(max(probabilities))

    rows = {
        (r["metric"], r["segment"]): r
        for r in lake.read(tables.MONITORING_METRICS)
        .where((F.col(tables.RUN_DATE) == F.lit(last)) & (F.col("feature") == tables.MODEL_LEVEL))
        .collect()
    }
    for metric in ("mlogloss", "accuracy", "macro_f1"):
        assert (metric, "all") in rows, sorted(rows)
    assert rows[("mlogloss", "all")]["threshold"] is not None
    # Before labels: the accuracy expected from the predicted classes' probabilities
    # (calibration checked on the holdout), beside what the labels gave.
    estimated = rows[("estimated_accuracy", "all")]
    details = json.loads(estimated["details"])
    assert details["low"] <= estimated["value"] <= details["high"]
    assert estimated["value"] == pytest.approx(rows[("accuracy", "all")]["value"], abs=0.1)
    assert estimated["threshold"] is None  # the policy judges log loss, not accuracy
    assert results[last]["monitor"].metrics["estimated_accuracy"] == estimated["value"]
    # The policy's own metric, log loss, is estimated too and judged against its limit.
    loss = rows[("estimated_mlogloss", "all")]
    assert loss["threshold"] == rows[("mlogloss", "all")]["threshold"]
    assert loss["value"] == pytest.approx(rows[("mlogloss", "all")]["value"], abs=0.25)
    # Macro-F1 from each row's expected class (the predicted one with its calibrated
    # probability, the rest as the model spreads it), beside what the labels gave.
    f1 = rows[("estimated_macro_f1", "all")]
    details = json.loads(f1["details"])
    assert details["low"] <= f1["value"] <= details["high"] and details["method"] == "confidence"
    assert f1["value"] == pytest.approx(rows[("macro_f1", "all")]["value"], abs=0.15)
    shares = json.loads(rows[("label_drift", None)]["details"])
    assert shares["kind"] == "categorical"

    ctx = RunContext(RunInterval(last), "audit", settings, config, spark, lake)
    entity = scored[0]["customer_id"]
    (record,) = [r for r in audit(ctx, entity, last) if r.model_alias == "champion"]
    assert record.predicted_class == scored[0]["predicted_class"]
    assert set(record.class_probabilities) == set(CLASSES)
    assert record.exact_contributions

    # The same run scored through Spark's Delta reader (the path a table with deletion
    # vectors takes) replaces the partition with the same rows the Arrow tasks wrote.
    def predictions() -> list[tuple[object, ...]]:
        on_last = lake.read(tables.PREDICTIONS).where(F.col(tables.RUN_DATE) == F.lit(last))
        kept = ["customer_id", "model_alias", "score", "predicted_class", "features_version"]
        return sorted(
            (*[r[c] for c in kept], str(r["top_contributions"])) for r in on_last.collect()
        )

    by_arrow = predictions()
    assert score.feature_files(ctx, lake.version(tables.FEATURES)) is not None  # Arrow's path
    through_spark = make_settings(tmp_path, expectations_dir=suites, score_reader="spark")
    score.run(RunContext(RunInterval(last), "rescore", through_spark, config, spark, lake))
    assert predictions() == by_arrow
