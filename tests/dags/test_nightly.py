"""`driftline_nightly` end to end through real Airflow (`dag.test()`), Spark, Delta, GE,
MLflow and XGBoost: three consecutive dates, then the second date again.

The pipeline is the example one with a hair-trigger retraining policy (one drifted run is
enough, no cooldown), so the third night's policy fires and `trigger_retrain` queues a
`driftline_retrain` run, which is then run too."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
import yaml

from driftline.core import tables
from driftline.core.loading import load_pipeline
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
    from driftline.lake import open_lake
    from driftline.orchestration.airflow_runner import load_dag, run_for_date, run_queued
    from driftline.orchestration.nights import run_nights

    root = tmp_path_factory.mktemp("nightly")
    pipeline = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    pipeline["retraining"].update(
        {"drift_runs": 1, "cooldown_days": 0, "wait_for_labels_after_drift": False}
    )
    # Segments of 50 customers are compared (the default asks for 100).
    pipeline["monitoring"]["segment_gaps"] = {"min_support": 20}
    (root / "driftline.yaml").write_text(yaml.safe_dump(pipeline))
    settings = make_settings(root, pipeline_file=root / "driftline.yaml")
    spec = DemoData(start=date(2024, 3, 1), days=3, drift_day=2, rows_per_day=200)
    write_demo_drop(root / "drop", spec)
    saved = dict(os.environ)
    os.environ.update(settings_environment(settings))
    try:
        dag = load_dag("driftline_nightly", PROJECT / "dags")
        states = [run_for_date(dag, day) for day in spec.dates]
        retrains = run_queued(load_dag("driftline_retrain", PROJECT / "dags"))
        lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
        before = counts(lake, spec.dates[1])
        judged_before = judged_rows(lake, spec.dates[1])
        silver_before = lake.read(tables.silver("customer")).count()
        rerun_state = run_for_date(dag, spec.dates[1])
        after = counts(lake, spec.dates[1])
        judged_after = judged_rows(lake, spec.dates[1])
        silver_after = lake.read(tables.silver("customer")).count()
        # The weekly VACUUM, after the re-run superseded a date's files: with the default
        # seven-year retention it must keep every version readable (the tests below time
        # travel after it), and take only what a write that crashed eight years ago left.
        leftovers = _crash_leftovers(Path(lake.uri(tables.PREDICTIONS)), years=8)
        maintenance = load_dag("driftline_maintenance", PROJECT / "dags")
        maintenance_state = run_for_date(maintenance, spec.dates[-1])
        vacuumed = _latest_operations(lake.uri(tables.PREDICTIONS))
        late = _deliver_late_and_corrected(root / "drop", spec.dates[1])
        # The third night again: it finds what changed for the second and re-runs it.
        late_nights = run_nights([spec.dates[-1]], PROJECT / "dags")
        yield {
            "states": states,
            "rerun_state": rerun_state,
            "retrains": retrains,
            "settings": settings,
            "lake": lake,
            "spec": spec,
            "before": before,
            "after": after,
            "judged": (judged_before, judged_after),
            "maintenance_state": maintenance_state,
            "vacuumed": vacuumed,
            "leftovers": leftovers,
            "silver": (silver_before, silver_after),
            "late": late,
            "late_nights": late_nights,
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)


LATE_ROWS = 3


def _latest_operations(uri: str) -> list[str]:
    from deltalake import DeltaTable

    return [h["operation"] for h in DeltaTable(uri).history(2)]


def _deliver_late_and_corrected(drop: Path, day: date) -> dict[str, str]:
    """After `day`'s night ran: a second customers file for it, and its labels file again
    under the same name with one outcome corrected. Returns the labels' old checksum."""
    from driftline.sources.files import sha256_of

    (extract,) = (drop / "customers" / day.isoformat()).glob("*.csv")
    header, *rows = extract.read_text().splitlines()
    # Ids the demo never draws (it uses C00000-C49999), in the form the suite accepts.
    late_rows = [f"C9{i:04d}," + row.split(",", 1)[1] for i, row in enumerate(rows[:LATE_ROWS])]
    (extract.parent / "crm_extract_late.csv").write_text("\n".join([header, *late_rows]) + "\n")
    (labels,) = (drop / "churn_labels" / day.isoformat()).glob("*.csv")
    before = sha256_of(labels)
    header, first, *rest = labels.read_text().splitlines()
    corrected = first[:-1] + ("0" if first.endswith("1") else "1")
    labels.write_text("\n".join([header, corrected, *rest]) + "\n")
    return {"labels_file": labels.name, "labels_before": before}


def _crash_leftovers(table: Path, years: int) -> list[Path]:
    """A data file moved into the table but never committed, and a staging folder, as a
    write killed `years` ago would have left them."""
    import shutil
    import time

    committed = sorted(table.glob("_run_date=*/*.parquet"))[0]
    moved = committed.parent / "crashed-part-00000.parquet"
    staged = table / "_staging" / "0123abcd" / committed.parent.name / "part-00000.parquet"
    staged.parent.mkdir(parents=True)
    for copy in (moved, staged):
        shutil.copy(committed, copy)
    then = time.time() - years * 366 * 86400
    for path in (moved, staged, staged.parent, staged.parent.parent):
        os.utime(path, (then, then))
    return [moved, staged.parent.parent]


def judged_rows(lake, day: date) -> dict[str, list[tuple[object, ...]]]:  # type: ignore[no-untyped-def]
    """The date's monitoring and decision rows without what a re-run may change (run ids,
    decision times, the actor)."""
    from pyspark.sql import functions as F

    volatile = {"run_id", "decided_at", "actor", "mlflow_run_id"}
    judged = {}
    for table in (tables.MONITORING_METRICS, tables.DECISIONS):
        frame = lake.read(table).where(F.col(tables.RUN_DATE) == F.lit(day))
        kept = [c for c in frame.columns if c not in volatile]
        judged[table] = sorted(
            (tuple(str(v) for v in row) for row in frame.select(*kept).collect()), key=str
        )
    return judged


def counts(lake, day: date) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    return {
        table: lake.read(table).where(F.col(tables.RUN_DATE) == F.lit(day)).count()
        for table in DATED_TABLES
    }


def test_three_nights_succeed(nightly_run) -> None:  # type: ignore[no-untyped-def]
    assert nightly_run["states"] == ["success", "success", "success"]
    assert nightly_run["rerun_state"] == "success"


def test_weekly_maintenance_vacuums_every_table_and_keeps_the_history(nightly_run) -> None:  # type: ignore[no-untyped-def]
    from deltalake import DeltaTable

    assert nightly_run["maintenance_state"] == "success"
    assert not any(path.exists() for path in nightly_run["leftovers"])
    lake = nightly_run["lake"]
    assert nightly_run["vacuumed"] == ["VACUUM END", "VACUUM START"]
    settings = nightly_run["settings"]
    for table in tables.all_tables(load_pipeline(settings.resolved_pipeline_file)):
        if lake.exists(table):
            configuration = DeltaTable(lake.uri(table)).metadata().configuration
            assert configuration["delta.logRetentionDuration"] == "interval 2555 days", table
    # Nothing younger than the retention went: the first version of a re-run date is whole.
    first = lake.read(tables.FEATURES, version=0)
    assert first.count() == 200


def test_rerunning_a_date_changes_no_row_count(nightly_run) -> None:  # type: ignore[no-untyped-def]
    before, after = nightly_run["before"], nightly_run["after"]
    assert before == after
    # After the retrain of the third night, a re-run of the second monitors and decides as
    # of its own date: its champion, the same rows, no second policy row.
    judged_before, judged_after = nightly_run["judged"]
    assert judged_before[tables.MONITORING_METRICS]
    assert judged_after == judged_before
    assert before[tables.bronze("customers")] == 200
    assert before[tables.quarantine("customers")] == 2
    assert before[tables.PREDICTIONS] == 200
    assert nightly_run["silver"][0] == nightly_run["silver"][1]


def test_every_prediction_names_its_model_and_features_version(nightly_run) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    lake = nightly_run["lake"]
    predictions = lake.read(tables.PREDICTIONS)
    # Day 1 has no champion yet (no labels); day 2 gained a late file's rows.
    assert predictions.count() == 400 + LATE_ROWS
    assert (
        predictions.where(
            F.col("model_version").isNull()
            | F.col("features_version").isNull()
            | F.col("mlflow_run_id").isNull()
            | F.col("contribution_method").isNull()
        ).count()
        == 0
    )
    # The recorded features version really holds the features that were scored.
    for row in predictions.select(tables.RUN_DATE, "features_version").distinct().collect():
        features = lake.read(tables.FEATURES, version=row["features_version"])
        late = LATE_ROWS if row[tables.RUN_DATE] == date(2024, 3, 2) else 0
        assert features.where(F.col(tables.RUN_DATE) == row[tables.RUN_DATE]).count() == 200 + late


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
    # Calibrated alerts: the quiet night raises none, the drifted one names its features
    # with their evidence (corrected p-value, effect size against its floor).
    drifted = {
        day: sorted(
            row["feature"]
            for row in metrics.where(
                (F.col(tables.RUN_DATE) == F.lit(date.fromisoformat(day)))
                & (F.col("metric") == "drift")
                & F.col("breached")
            ).collect()
        )
        for day in ("2024-03-02", "2024-03-03")
    }
    assert drifted["2024-03-02"] == []
    assert "support_calls" in drifted["2024-03-03"]
    evidence = metrics.where(
        (F.col(tables.RUN_DATE) == F.lit(date(2024, 3, 3)))
        & (F.col("metric") == "drift")
        & (F.col("feature") == "support_calls")
    ).first()
    details = json.loads(evidence["details"])
    assert details["drifted"] and details["effect_size"] >= details["effect_floor"] >= 0.1
    assert details["adjusted_p_value"] is not None
    # Data quality is judged like drift: spend beyond the reference's range once it jumps.
    quality = {
        day: sorted(
            (row["metric"], row["feature"])
            for row in metrics.where(
                (F.col(tables.RUN_DATE) == F.lit(date.fromisoformat(day)))
                & F.col("metric").isin("null_share", "out_of_range_share")
                & F.col("breached")
            ).collect()
        )
        for day in ("2024-03-02", "2024-03-03")
    }
    assert quality["2024-03-02"] == []
    assert ("out_of_range_share", "monthly_spend") in quality["2024-03-03"]


def test_gaps_between_segments_are_tracked_once_labels_mature(nightly_run) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    metrics = nightly_run["lake"].read(tables.MONITORING_METRICS)
    gaps = {
        (row["feature"], row["metric"]): row
        for row in metrics.where(
            (F.col(tables.RUN_DATE) == F.lit(date(2024, 3, 3))) & F.col("metric").endswith("_gap")
        ).collect()
    }
    assert set(gaps) == {
        (feature, f"{metric}_gap")
        for feature in ("region", "plan")
        for metric in ("auc", "recall", "positive_rate")
    }
    auc = json.loads(gaps[("region", "auc_gap")]["details"])
    assert len(auc["values"]) >= 2 and min(auc["support"].values()) >= 20
    assert (
        gaps[("region", "auc_gap")]["value"]
        == auc["values"][auc["best"]] - auc["values"][auc["worst"]]
    )
    assert gaps[("region", "auc_gap")]["threshold"] == 0.1
    assert gaps[("plan", "positive_rate_gap")]["threshold"] is None  # tracked, not alerted


def test_policy_fired_and_the_triggered_retrain_ran(nightly_run) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    retrains = [(run.date(), state) for run, state in nightly_run["retrains"]]
    assert retrains == [(date(2024, 3, 3), "success")]
    decisions = nightly_run["lake"].read(tables.DECISIONS)
    fired = decisions.where(
        (F.col("kind") == "retrain_policy") & F.col("metric").isNotNull()
    ).collect()
    assert [row[tables.RUN_DATE] for row in fired] == [date(2024, 3, 3)]
    # The retrain run trained a challenger and the gate judged it, on the same date.
    gate = decisions.where(F.col("kind").isin("promote", "reject")).collect()
    assert [row[tables.RUN_DATE] for row in gate] == [date(2024, 3, 3)]


def test_each_night_writes_its_report(nightly_run) -> None:  # type: ignore[no-untyped-def]
    from driftline.monitoring.report import report_path

    for day in nightly_run["spec"].dates:
        page = report_path(nightly_run["settings"].resolved_lake_uri, day)
        html = Path(page).read_text(encoding="utf-8")
        assert "Drift per feature" in html
    assert html.count("data:image/png;base64") >= 3
    assert "Gaps between segments" in html and "<td>auc</td>" in html  # the third night's


def test_live_accuracy_is_recorded_once_labels_mature(nightly_run) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    metrics = nightly_run["lake"].read(tables.MONITORING_METRICS)
    auc = metrics.where(
        (F.col("metric") == "auc") & (F.col(tables.RUN_DATE) == F.lit(date(2024, 3, 3)))
    )
    segments = {row["segment"] for row in auc.collect()}
    assert "all" in segments and any(s.startswith("region=") for s in segments)
    # Before labels: every monitored night also estimates the champion's AUC from its
    # scores, with an interval, against the same limit as the realised AUC.
    estimated = metrics.where(F.col("metric") == "estimated_auc").collect()
    assert estimated, "no AUC estimated from scores"
    for row in estimated:
        details = json.loads(row["details"])
        assert details["low"] <= row["value"] <= details["high"]
        assert row["threshold"] is not None and details["predictions"] > 0
    # Its log loss too, recorded beside the live one (the policy judges the AUC).
    losses = metrics.where(F.col("metric") == "estimated_logloss").collect()
    assert losses and all(0 < row["value"] < 1 and row["threshold"] is None for row in losses)
    # And the share of predictions called positive, tested against the holdout's.
    called = metrics.where(F.col("metric") == "predicted_positive_rate").collect()
    assert called and all(0 <= row["value"] <= 1 for row in called)
    assert all(json.loads(row["details"])["reference_rows"] > 0 for row in called)


def test_late_and_corrected_files_rerun_their_date(nightly_run) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    late_day = date(2024, 3, 2)
    states = [(r.run_date, r.state) for r in nightly_run["late_nights"]]
    assert states == [
        (date(2024, 3, 3), "success"),
        (late_day, "success (re-run: late files)"),
    ]
    lake = nightly_run["lake"]
    on_day = F.col(tables.RUN_DATE) == F.lit(late_day)
    bronze = lake.read(tables.bronze("customers")).where(on_day)
    assert bronze.count() == 200 + LATE_ROWS  # the late rows once, nothing duplicated
    assert bronze.where(F.col("customer_id").startswith("C9")).count() == LATE_ROWS
    manifest = {
        r["file_name"]: r for r in lake.read(tables.INGEST_MANIFEST).where(on_day).collect()
    }
    assert manifest["crm_extract_late.csv"]["status"] == "ingested"
    assert manifest["crm_extract_late.csv"]["rows_bronze"] == LATE_ROWS
    corrected = manifest[nightly_run["late"]["labels_file"]]
    assert corrected["replaces"] == nightly_run["late"]["labels_before"]
    assert "corrected re-delivery" in corrected["reason"]
    assert corrected["checksum"] != corrected["replaces"]
