"""An hourly pipeline (`schedule: "5 * * * *"`) runs four hours of one day through its
nightly DAG under `dag.test()`, then one hour again.

Each run ingests only its hour's files (`{run_hour}` in the paths), every table keeps one
partition per date and hour, labels join the hour a feature row describes, and re-running
an hour replaces that hour's partitions and leaves its neighbours' files untouched.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftline.core import tables
from driftline.core.intervals import RunInterval
from driftline.dags import DAG_FILES, dag_file_text
from driftline.demo.data import DemoData, write_demo_drop
from tests.conftest import PROJECT, make_settings, settings_environment

pytestmark = pytest.mark.integration

DAY = date(2024, 5, 1)
HOURS = [RunInterval(DAY, hour) for hour in range(4)]
ROWS = 150
SPEC = DemoData(start=DAY, days=len(HOURS), drift_day=99, rows_per_day=ROWS)


def hourly_pipeline() -> dict[str, Any]:
    pipeline = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    pipeline["schedule"] = "5 * * * *"
    pipeline["start_date"] = DAY.isoformat()
    for source in pipeline["sources"]:
        source["path"] = source["path"].replace("{run_date}", "{run_date}/{run_hour}")
    labels = next(s for s in pipeline["sources"] if s["name"] == pipeline["label"]["source"])
    labels["columns"][pipeline["label"]["date_column"]] = "timestamp"
    return dict(pipeline)


def hourly_drop(raw: Path, drop: Path) -> None:
    """The demo's daily drop, day i made hour i of DAY: each day's files go into that
    hour's folder (snapshots of DAY), and each outcome is dated by the hour its features
    describe."""
    hour_of = {d.isoformat(): f"{DAY.isoformat()} {i:02d}:00:00" for i, d in enumerate(SPEC.dates)}
    for i, day in enumerate(SPEC.dates):
        for source in ("customers", "churn_labels"):
            target = drop / source / DAY.isoformat() / f"{i:02d}"
            target.mkdir(parents=True)
            for file in (raw / source / day.isoformat()).glob("*.csv"):
                text = file.read_text().replace(f",{day.isoformat()},", f",{DAY.isoformat()},")
                (target / file.name).write_text(text if source == "customers" else file.read_text())
        (outcomes,) = (drop / "churn_labels" / DAY.isoformat() / f"{i:02d}").glob("*.csv")
        with outcomes.open(newline="") as handle:
            header, *rows = list(csv.reader(handle))
        with outcomes.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([key, hour_of[when], value] for key, when, value in rows)


def features_suite_with_the_hour(path: Path) -> None:
    """The features table of an hourly pipeline also has the run's hour."""
    suite = json.loads(path.read_text())
    for expectation in suite["expectations"]:
        if "column_set" in expectation["kwargs"]:
            expectation["kwargs"]["column_set"].append(tables.RUN_HOUR)
    path.write_text(json.dumps(suite))


@pytest.fixture(scope="module")
def hourly_runs(spark, airflow_db, tmp_path_factory):  # type: ignore[no-untyped-def]
    from driftline.lake import open_lake
    from driftline.orchestration.nights import run_nights

    home = tmp_path_factory.mktemp("hourly")
    (home / "dags").mkdir()
    for file, module in DAG_FILES.items():
        (home / "dags" / file).write_text(dag_file_text(module))
    (home / "driftline.yaml").write_text(yaml.safe_dump(hourly_pipeline()))
    shutil.copytree(PROJECT / "expectations", home / "expectations")
    features_suite_with_the_hour(home / "expectations" / "features.json")
    write_demo_drop(home / "raw", SPEC, seed=5)
    hourly_drop(home / "raw", home / "drop")
    settings = make_settings(
        home, home=home, lake_uri=str(home / "lakehouse"), pipeline_file=home / "driftline.yaml"
    )
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    saved = dict(os.environ)
    os.environ.update(settings_environment(settings))
    try:
        reports = run_nights([DAY], home / "dags", hours=HOURS)
        before = files_by_partition(lake, tables.FEATURES)
        rerun = run_nights([DAY], home / "dags", hours=HOURS[2:3])
        yield {
            "settings": settings,
            "lake": lake,
            "reports": reports,
            "rerun": rerun,
            "before": before,
            "after": files_by_partition(lake, tables.FEATURES),
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)


def files_by_partition(lake, table: str) -> dict[tuple[str, str], set[str]]:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    from deltalake import DeltaTable

    found: dict[tuple[str, str], set[str]] = {}
    for add in pa.table(DeltaTable(lake.uri(table)).get_add_actions(flatten=True)).to_pylist():
        key = (str(add[f"partition.{tables.RUN_DATE}"]), str(add[f"partition.{tables.RUN_HOUR}"]))
        found.setdefault(key, set()).add(add["path"])
    return found


def test_every_hour_runs_and_reports_as_its_own_run(hourly_runs) -> None:  # type: ignore[no-untyped-def]
    reports = hourly_runs["reports"]
    assert [(r.run, r.state) for r in reports] == [(h.label, "success") for h in HOURS]
    # Customers land every hour, the previous hour's outcomes from hour 1 on; the demo's
    # files truncate two lines each, which are quarantined.
    assert [r.rows_bronze for r in reports] == [ROWS, 2 * ROWS, 2 * ROWS, 2 * ROWS]
    assert {r.rows_quarantined for r in reports} == {2}
    # Labels of hour 0 arrive with hour 1: from then on a champion scores every hour.
    assert reports[0].model_version is None
    assert all(r.model_version for r in reports[1:])
    assert [(r.run, r.state) for r in hourly_runs["rerun"]] == [("2024-05-01T02", "success")]


def test_every_table_keeps_one_partition_per_date_and_hour(hourly_runs) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    lake = hourly_runs["lake"]
    hours = [str(h.hour) for h in HOURS]
    for table in (tables.bronze("customers"), tables.FEATURES, tables.INGEST_MANIFEST):
        per_hour = lake.read(table).groupBy(tables.RUN_DATE, tables.RUN_HOUR).count().collect()
        assert sorted(str(r[tables.RUN_HOUR]) for r in per_hour) == hours, table
        assert {r[tables.RUN_DATE] for r in per_hour} == {DAY}, table
    features = lake.read(tables.FEATURES)
    assert {r["count"] for r in features.groupBy(tables.RUN_HOUR).count().collect()} == {ROWS}
    # A feature row is as of the hour it describes, and labels joined that hour.
    as_of = features.select(
        tables.RUN_HOUR, F.date_format("as_of_date", "yyyy-MM-dd HH:mm").alias("at")
    ).distinct()
    assert sorted((r[tables.RUN_HOUR], r["at"]) for r in as_of.collect()) == [
        (h.hour, f"2024-05-01 {h.hour:02d}:00") for h in HOURS
    ]
    labels = lake.read(tables.LABELS)
    assert labels.where(F.hour("label_date") == 0).count() == ROWS
    scored = lake.read(tables.PREDICTIONS).where(F.col("model_alias") == "champion")
    assert sorted(r[0] for r in scored.select(tables.RUN_HOUR).distinct().collect()) == [1, 2, 3]
    assert scored.where(F.col(tables.RUN_HOUR) == 3).count() == ROWS


def test_rerunning_an_hour_replaces_only_that_hours_partition(hourly_runs) -> None:  # type: ignore[no-untyped-def]
    before, after = hourly_runs["before"], hourly_runs["after"]
    assert set(before) == set(after) == {("2024-05-01", str(h.hour)) for h in HOURS}
    for key in before:
        if key == ("2024-05-01", "2"):
            assert before[key] != after[key]  # replaced by the re-run's files
        else:
            assert before[key] == after[key], key
    assert hourly_runs["lake"].read(tables.FEATURES).count() == ROWS * len(HOURS)


def test_the_report_and_the_audit_are_per_hour(hourly_runs) -> None:  # type: ignore[no-untyped-def]
    from driftline.context import build_context
    from driftline.model.audit import audit
    from driftline.monitoring.report import read_report

    settings = hourly_runs["settings"]
    assert read_report(settings.resolved_lake_uri, HOURS[3]) is not None
    ctx = build_context("2024-05-01T03", "audit", settings)
    from pyspark.sql import functions as F

    entity, at = (
        ctx.lake.read(tables.PREDICTIONS)
        .where(ctx.interval.is_this())
        .select(ctx.pipeline.entity.key, F.date_format("as_of_date", "yyyy-MM-dd HH:mm"))
        .first()
    )
    assert at == "2024-05-01 03:00"  # the hour it describes (formatted by Spark, in UTC)
    (record,) = [r for r in audit(ctx, entity, ctx.interval) if r.model_alias == "champion"]
    assert record.entity == entity
    assert record.exact_contributions  # its feature row was found by the hour it is as of
