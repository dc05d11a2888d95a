"""`driftline_nightly` end to end through real Airflow (`dag.test()`), Spark, Delta, GE,
MLflow and XGBoost: three consecutive dates, then the second date again."""

from __future__ import annotations

import os
from datetime import date

import pytest

from driftline import tables
from driftline.demo.data import DemoData, write_demo_drop
from tests.conftest import PROJECT, make_settings, settings_environment

pytestmark = pytest.mark.integration

DATED_TABLES = [
    tables.bronze("customers"),
    tables.bronze("churn_labels"),
    tables.quarantine("customers"),
    tables.quarantine("churn_labels"),
    tables.INGEST_MANIFEST,
    tables.VALIDATION_RESULTS,
    tables.LABELS,
    tables.FEATURES,
    tables.PREDICTIONS,
    tables.MONITORING_METRICS,
]


@pytest.fixture(scope="module")
def nightly_run(spark, airflow_db, tmp_path_factory):  # type: ignore[no-untyped-def]
    from driftline.airflow_runner import load_dag, run_for_date
    from driftline.lake import open_lake

    root = tmp_path_factory.mktemp("nightly")
    settings = make_settings(root)
    spec = DemoData(start=date(2024, 3, 1), days=3, drift_day=2, rows_per_day=200)
    write_demo_drop(root / "drop", spec)
    saved = dict(os.environ)
    os.environ.update(settings_environment(settings))
    try:
        dag = load_dag("driftline_nightly", PROJECT / "dags")
        states = [run_for_date(dag, day) for day in spec.dates]
        lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
        before = counts(lake, spec.dates[1])
        silver_before = lake.read(tables.silver("customer")).count()
        rerun_state = run_for_date(dag, spec.dates[1])
        yield {
            "states": states,
            "rerun_state": rerun_state,
            "lake": lake,
            "spec": spec,
            "before": before,
            "after": counts(lake, spec.dates[1]),
            "silver": (silver_before, lake.read(tables.silver("customer")).count()),
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)


def counts(lake, day: date) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    return {
        table: lake.read(table).where(F.col(tables.RUN_DATE) == F.lit(day)).count()
        for table in DATED_TABLES
    }


def test_three_nights_succeed(nightly_run) -> None:  # type: ignore[no-untyped-def]
    assert nightly_run["states"] == ["success", "success", "success"]
    assert nightly_run["rerun_state"] == "success"


def test_rerunning_a_date_changes_no_row_count(nightly_run) -> None:  # type: ignore[no-untyped-def]
    before, after = nightly_run["before"], nightly_run["after"]
    assert before == after
    assert before[tables.bronze("customers")] == 200
    assert before[tables.quarantine("customers")] == 2
    assert before[tables.PREDICTIONS] == 200
    assert nightly_run["silver"][0] == nightly_run["silver"][1]


def test_every_prediction_names_its_model_and_features_version(nightly_run) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    lake = nightly_run["lake"]
    predictions = lake.read(tables.PREDICTIONS)
    assert predictions.count() == 400  # day 1 has no champion yet (no labels)
    assert (
        predictions.where(
            F.col("model_version").isNull()
            | F.col("features_version").isNull()
            | F.col("mlflow_run_id").isNull()
        ).count()
        == 0
    )
    # The recorded features version really holds the features that were scored.
    for row in predictions.select(tables.RUN_DATE, "features_version").distinct().collect():
        features = lake.read(tables.FEATURES, version=row["features_version"])
        assert features.where(F.col(tables.RUN_DATE) == row[tables.RUN_DATE]).count() == 200


def test_monitoring_sees_the_drift_on_the_third_day(nightly_run) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    metrics = nightly_run["lake"].read(tables.MONITORING_METRICS)

    def worst(day: str) -> float:
        return metrics.where(
            (F.col(tables.RUN_DATE) == F.lit(date.fromisoformat(day)))
            & (F.col("feature") == "support_calls")
            & (F.col("metric") == "psi")
        ).first()["value"]

    assert worst("2024-03-03") > 0.25 > worst("2024-03-02")
