"""Two pipelines of one project (`pipelines/churn.yaml`, a daily classification, and
`pipelines/arrears.yaml`, a weekly regression on Wednesdays), each on its own feed, run a
range of dates through their own DAGs under `dag.test()`, each on its schedule's dates;
then one pipeline re-runs a night alone.
Neither reads nor replaces the other's tables, models or reports, and the weekly one keeps
one partition per week."""

from __future__ import annotations

import json
import os
import shutil
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftline.core import tables
from driftline.dags import DAG_FILES, dag_file_text
from driftline.demo.data import DemoData, write_demo_drop
from tests.conftest import PROJECT, make_settings, settings_environment

pytestmark = pytest.mark.integration

# 2024-05-01 and 2024-05-08 are Wednesdays. Churn runs 05-01, 05-02 and 05-08.
SPEC = DemoData(start=date(2024, 5, 1), days=8, drift_day=99, rows_per_day=150)
CHURN_DATES = [date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 8)]
WEEKS = [date(2024, 5, 1), date(2024, 5, 8)]
NAMES = ("arrears", "churn")


def pipeline_file(name: str) -> dict[str, Any]:
    """The example pipeline on the feed under drop/<name>/, with its own model; arrears
    predicts a number (days in arrears) and leaves out two features, so the two models
    differ in task and shape."""
    pipeline = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    pipeline["pipeline"] = name
    pipeline["model"]["name"] = f"driftline-{name}"
    for source in pipeline["sources"]:
        source["path"] = f"{name}/{source['path']}"
    if name == "arrears":
        pipeline["schedule"] = "0 2 * * 3"
        pipeline["features"] = [f for f in pipeline["features"] if f["name"] not in ("age", "plan")]
        pipeline["model"]["promotion"]["slices"] = ["region"]
        pipeline["monitoring"]["accuracy"]["segments"] = ["region"]
        pipeline["model"]["task"] = "regression"
        pipeline["model"]["promotion"]["metric"] = "rmse"
        pipeline["retraining"]["metric"] = "rmse"
        (labels,) = [s for s in pipeline["sources"] if s["name"] == pipeline["label"]["source"]]
        labels["columns"]["days_in_arrears"] = "double"
        pipeline["label"]["column"] = "days_in_arrears"
        del pipeline["label"]["positive"]
    return dict(pipeline)


def arrears_features_suite(path: Path) -> None:
    """Arrears' own feature suite: its columns, without churn's age and plan."""
    suite = json.loads(path.read_text())
    kept = []
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        if kwargs.get("column") in ("age", "plan"):
            continue
        if "column_set" in kwargs:
            kwargs["column_set"] = [c for c in kwargs["column_set"] if c not in ("age", "plan")]
        kept.append(expectation)
    suite["expectations"] = kept
    path.write_text(json.dumps(suite))


def weekly_labels(drop: Path) -> None:
    """Arrears outcomes arrive a week later: the second Wednesday's file carries the
    first Wednesday's outcomes (which the demo wrote into the next day's folder), with
    each customer's days in arrears: long for those who left, a few days for some others."""
    second = drop / "churn_labels" / WEEKS[1].isoformat()
    (outcomes,) = (drop / "churn_labels" / "2024-05-02").glob("*.csv")
    for stale in second.glob("*.csv"):
        stale.unlink()
    shutil.copy(outcomes, second / outcomes.name)
    for extract in (drop / "churn_labels").glob("*/*.csv"):
        header, *rows = extract.read_text().splitlines()
        lines = [f"{header},days_in_arrears"]
        for row in rows:
            customer, churned = row.split(",")[0], row.split(",")[-1]
            spread = zlib.crc32(customer.encode()) % 40
            lines.append(f"{row},{int(churned) * (20 + spread) + spread % 5}")
        extract.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def side_by_side(spark, airflow_db, tmp_path_factory):  # type: ignore[no-untyped-def]
    from driftline.core.loading import pipeline_file as chosen_pipeline
    from driftline.core.loading import pipeline_settings, project_pipelines
    from driftline.lake import open_lake
    from driftline.orchestration.nights import run_nights

    home = tmp_path_factory.mktemp("many")
    (home / "pipelines").mkdir()
    (home / "dags").mkdir()
    for file, module in DAG_FILES.items():
        (home / "dags" / file).write_text(dag_file_text(module))
    for seed, name in enumerate(NAMES):
        (home / "pipelines" / f"{name}.yaml").write_text(yaml.safe_dump(pipeline_file(name)))
        shutil.copytree(PROJECT / "expectations", home / "expectations" / name)
        write_demo_drop(home / "drop" / name, SPEC, seed=11 + seed)
    arrears_features_suite(home / "expectations" / "arrears" / "features.json")
    weekly_labels(home / "drop" / "arrears")
    settings = make_settings(home, home=home, lake_uri=str(home / "lakehouse"))
    saved = dict(os.environ)
    os.environ.update(settings_environment(settings))
    os.environ.pop("DRIFTLINE_PIPELINE_FILE", None)
    try:
        reports = run_nights(CHURN_DATES, home / "dags", follow_schedule=True)
        lakes = {
            name: open_lake(pipeline_settings(settings, name).resolved_lake_uri, spark, "delta-rs")
            for name in NAMES
        }
        before = {name: versions(lakes[name]) for name in NAMES}
        churn = chosen_pipeline(settings, "churn")
        rerun = run_nights(CHURN_DATES[-1:], home / "dags", pipelines=[churn])
        after = {name: versions(lakes[name]) for name in NAMES}
        yield {
            "home": home,
            "settings": settings,
            "found": project_pipelines(settings),
            "reports": reports,
            "rerun": rerun,
            "lakes": lakes,
            "before": before,
            "after": after,
        }
    finally:
        os.environ.clear()
        os.environ.update(saved)


def versions(lake) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from deltalake import DeltaTable

    root = Path(lake.uri(tables.FEATURES)).parent
    found = {}
    for log in sorted(root.rglob("_delta_log")):
        table = str(log.parent.relative_to(root))
        found[table] = DeltaTable(str(log.parent)).version()
    return found


def test_each_pipeline_runs_on_its_schedule(side_by_side) -> None:  # type: ignore[no-untyped-def]
    runs = [(r.pipeline, r.run_date, r.state) for r in side_by_side["reports"]]
    assert runs == [
        ("arrears", date(2024, 5, 1), "success"),
        ("churn", date(2024, 5, 1), "success"),
        ("churn", date(2024, 5, 2), "success"),
        ("arrears", date(2024, 5, 8), "success"),
        ("churn", date(2024, 5, 8), "success"),
    ]
    scored = [r for r in side_by_side["reports"] if r.run_date == WEEKS[-1]]
    assert all(r.model_version == "1" for r in scored), scored  # each its own model's v1
    assert [(r.pipeline, r.state) for r in side_by_side["rerun"]] == [("churn", "success")]


def test_the_weekly_pipeline_keeps_one_partition_per_week(side_by_side) -> None:  # type: ignore[no-untyped-def]
    lake = side_by_side["lakes"]["arrears"]
    for table in (tables.bronze("customers"), tables.FEATURES, tables.PREDICTIONS):
        dates = {r[0] for r in lake.read(table).select(tables.RUN_DATE).distinct().collect()}
        assert dates == (set(WEEKS) if table != tables.PREDICTIONS else {WEEKS[-1]}), table
    # Trained on the first week's features with the outcomes delivered a week later.
    labels = lake.read(tables.LABELS)
    assert {r[0] for r in labels.select("label_date").distinct().collect()} == {WEEKS[0]}


def test_each_pipeline_has_its_own_tables_on_its_own_feed(side_by_side) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    lakes, home = side_by_side["lakes"], side_by_side["home"]
    assert {Path(lake.uri(tables.FEATURES)).parent.name for lake in lakes.values()} == set(NAMES)
    for name, lake in lakes.items():
        bronze = lake.read(tables.bronze("customers"))
        files = {r[0] for r in bronze.select("_source_file").distinct().collect()}
        days = WEEKS if name == "arrears" else CHURN_DATES
        assert files == {f"crm_extract_{day:%Y%m%d}.csv" for day in days}, files
        delivered = {
            line.split(",")[0]
            for extract in (home / "drop" / name / "customers").glob("*/*.csv")
            for line in extract.read_text().splitlines()[1:]
        }
        ids = {r[0] for r in bronze.select("customer_id").distinct().collect()}
        assert ids <= delivered  # its own feed's customers only
        features = set(lake.read(tables.FEATURES).columns)
        assert ("plan" in features) == (name == "churn")
        day = lake.read(tables.PREDICTIONS).where(F.col(tables.RUN_DATE) == F.lit(WEEKS[-1]))
        assert day.count() == SPEC.rows_per_day
        assert {r[0] for r in day.select("model_name").distinct().collect()} == {
            f"driftline-{name}"
        }
        assert Path(lake.uri("reports"), WEEKS[-1].isoformat(), "report.html").is_file()
    # The two feeds are different customers: no prediction of one is about the other's.
    ids = {
        name: {r[0] for r in lake.read(tables.PREDICTIONS).select("customer_id").collect()}
        for name, lake in lakes.items()
    }
    assert not ids["churn"] & ids["arrears"]


def test_rerunning_one_pipeline_leaves_the_other_untouched(side_by_side) -> None:  # type: ignore[no-untyped-def]
    before, after = side_by_side["before"], side_by_side["after"]
    assert after["arrears"] == before["arrears"]
    # The re-run replaced churn's partitions of that night (new versions, same rows).
    assert after["churn"][tables.PREDICTIONS] > before["churn"][tables.PREDICTIONS]


def test_each_pipeline_registers_its_own_model(side_by_side) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    client = mlflow.MlflowClient(side_by_side["settings"].resolved_mlflow_tracking_uri)
    for name in NAMES:
        champion = client.get_model_version_by_alias(f"driftline-{name}", "champion")
        assert str(champion.version) == "1"
        run = client.get_run(champion.run_id)
        experiment = client.get_experiment(run.info.experiment_id)
        assert experiment.name == f"driftline-{name}"
        # Each judged on its own task's holdout metrics.
        judged = "holdout_rmse" if name == "arrears" else "holdout_auc"
        assert judged in run.data.metrics, sorted(run.data.metrics)
    # The regression's predictions are days, not probabilities.
    scores = side_by_side["lakes"]["arrears"].read(tables.PREDICTIONS).select("score")
    assert max(r[0] for r in scores.collect()) > 1.5
