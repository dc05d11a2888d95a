"""Audit answers with what was recorded when the prediction was made, after the champion
changed twice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.intervals import RunInterval
from driftline.core.loading import load_pipeline
from driftline.demo.data import DemoData, write_demo_drop
from driftline.model.audit import audit
from driftline.steps import conform, features, ingest, score, train, validate
from tests.conftest import PROJECT, make_settings

pytestmark = pytest.mark.integration


def test_audit_reports_the_model_and_data_of_the_day(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    from driftline.lake import open_lake

    settings = make_settings(tmp_path)
    pipeline = load_pipeline(PROJECT / "driftline.yaml")
    # No hyperparameter search: this test is about lineage, and it keeps the test fast.
    pipeline = pipeline.model_copy(
        update={"model": pipeline.model.model_copy(update={"search_trials": 0})}
    )
    spec = DemoData(start=date(2024, 3, 1), days=3, drift_day=2, rows_per_day=120)
    write_demo_drop(tmp_path / "drop", spec)
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")

    def night(day: date) -> RunContext:
        ctx = RunContext(RunInterval(day), f"t-{day}", settings, pipeline, spark, lake)
        for step in (ingest, validate, conform, features):
            step.run(ctx)
        return ctx

    night(spec.dates[0])
    ctx2 = night(spec.dates[1])
    first = train.run(ctx2, reason="bootstrap", only_if_no_champion=True)
    score.run(ctx2)
    features_version_day2 = lake.version(tables.FEATURES)

    # The champion changes twice after day 2 was scored.
    client = mlflow.MlflowClient()
    ctx3 = night(spec.dates[2])
    for _ in range(2):
        newer = train.run(ctx3, reason="manual")
        client.set_registered_model_alias(
            pipeline.model.name, "champion", newer.metrics["model_version"]
        )
    score.run(ctx3)

    customer = (
        lake.read(tables.PREDICTIONS)
        .where(f"{tables.RUN_DATE} = '2024-03-02'")
        .first()["customer_id"]
    )
    (record,) = audit(ctx3, customer, spec.dates[1])
    assert record.model_version == first.metrics["model_version"] == "1"
    assert record.features_version == features_version_day2
    assert record.training["reason"] == "bootstrap"
    assert record.training["input.features.version"] == str(first.table_versions["features"])
    assert set(record.feature_values) == set(pipeline.feature_names)
    assert len(record.contributions) == 3
    assert abs(record.contributions[0][1]) >= abs(record.contributions[-1][1])
    assert record.contribution_method == "saabas"  # scored on a CPU executor
    assert len(record.exact_contributions) == 3

    (latest,) = audit(
        ctx3,
        lake.read(tables.PREDICTIONS)
        .where(f"{tables.RUN_DATE} = '2024-03-03'")
        .first()["customer_id"],
        spec.dates[2],
    )
    assert latest.model_version == "3"
