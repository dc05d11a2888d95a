"""`driftline demo`: synthetic drop files, then `driftline_nightly` per day through Airflow."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from driftline.core.errors import DriftlineError
from driftline.demo.data import DemoData, write_demo_drop

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayReport:
    run_date: date
    state: str
    rows_bronze: int
    rows_quarantined: int
    model_version: str | None
    worst_feature: str | None
    worst_psi: float | None
    retrain: str | None = None  # what the triggered driftline_retrain run did, if any


def prepare_environment(
    workdir: Path,
    project: Path,
    airflow_db_url: str | None = None,
    mlflow_tracking_uri: str | None = None,
) -> dict[str, str]:
    """Environment for a demo run: every path under `workdir`, config from `project`;
    Airflow's metadata and MLflow's backend in SQLite files there unless URLs are given
    (e.g. PostgreSQL, as the stack runs them). `driftline demo` and `ui` run in it, and
    `driftline --workdir` points the other commands at it."""
    from driftline.orchestration.airflow_runner import airflow_environment

    workdir = workdir.resolve()
    environment = {
        "DRIFTLINE_HOME": str(project.resolve()),
        "DRIFTLINE_LAKE_URI": str(workdir / "lakehouse"),
        "DRIFTLINE_DROP_ROOT": str(workdir / "drop"),
        "DRIFTLINE_MLFLOW_TRACKING_URI": mlflow_tracking_uri
        or f"sqlite:///{workdir / 'mlflow.db'}",
        "DRIFTLINE_MLFLOW_ARTIFACT_ROOT": (workdir / "mlartifacts").as_uri(),
        **airflow_environment(workdir / "airflow", project / "dags", airflow_db_url),
    }
    os.environ.update(environment)
    return environment


def run_demo(
    days: int,
    workdir: Path,
    project: Path,
    start: date = date(2024, 3, 1),
    rows_per_day: int = 400,
    on_day: Any = None,
    airflow_db_url: str | None = None,
    mlflow_tracking_uri: str | None = None,
) -> list[DayReport]:
    from driftline.orchestration.airflow_runner import (
        load_dag,
        migrate_metadata_db,
        run_for_date,
        run_queued,
    )

    if not (project / "driftline.yaml").is_file():
        raise DriftlineError(
            f"{project} has no driftline.yaml: run the demo from the Driftline checkout "
            "or pass --project"
        )
    environment = prepare_environment(workdir, project, airflow_db_url, mlflow_tracking_uri)
    spec = DemoData(start=start, days=days, drift_day=max(2, days // 2), rows_per_day=rows_per_day)
    write_demo_drop(Path(environment["DRIFTLINE_DROP_ROOT"]), spec)
    migrate_metadata_db(environment)
    dag = load_dag("driftline_nightly", project / "dags")
    retrain = load_dag("driftline_retrain", project / "dags")
    reports = []
    for day in spec.dates:
        state = run_for_date(dag, day)
        # The retraining policy may have triggered driftline_retrain; with no scheduler
        # behind dag.test(), run it here, before the next night.
        retrained = run_queued(retrain)
        if any(outcome != "success" for _, outcome in retrained):
            state = f"{state}, retrain failed"
        report = summarise(day, state, retrain_outcome(day) if retrained else None)
        reports.append(report)
        if on_day is not None:
            on_day(report)
        if state != "success":
            raise DriftlineError(f"driftline_nightly failed for {day}; see the task logs above")
    return reports


def _reading_context(day: date) -> Any:
    """A context for the demo's own small reads. With the spark-submit launcher the tasks
    are applications on the cluster, so these reads stay in local mode: a session of this
    process on the cluster would hold its cores and starve the next task's application."""
    from driftline.context import build_context
    from driftline.core.settings import load_settings

    settings = load_settings()
    if settings.step_launcher == "spark-submit":
        settings = settings.model_copy(update={"spark_master": "local[1]"})
    return build_context(day, "demo-report", settings)


def retrain_outcome(day: date) -> str:
    """ "promoted v3" or "rejected v3", from the decision the retrain run recorded."""
    from pyspark.sql import functions as F

    from driftline.core import tables

    ctx = _reading_context(day)
    rows = (
        ctx.lake.read(tables.DECISIONS)
        .where((F.col(tables.RUN_DATE) == F.lit(day)) & F.col("kind").isin("promote", "reject"))
        .select("kind", "model_version")
        .collect()
    )
    if not rows:
        return "trained, not judged"
    return ", ".join(
        f"{'promoted' if r['kind'] == 'promote' else 'rejected'} v{r['model_version']}"
        for r in rows
    )


def summarise(day: date, state: str, retrain: str | None = None) -> DayReport:
    """One day's numbers, read back from the lakehouse tables the run wrote."""
    from pyspark.sql import functions as F

    from driftline.core import tables

    ctx = _reading_context(day)
    on_day = F.col(tables.RUN_DATE) == F.lit(day)
    bronze = ctx.lake.read(tables.INGEST_MANIFEST).where(on_day).agg(F.sum("rows_bronze"))
    # Rejected by ingest (unparseable) or by validate (row-level expectations).
    quarantined = sum(
        ctx.lake.read(tables.quarantine(s.name)).where(on_day).count() for s in ctx.pipeline.sources
    )
    version = None
    if ctx.lake.exists(tables.PREDICTIONS):
        row = (
            ctx.lake.read(tables.PREDICTIONS)
            .where(on_day & (F.col("model_alias") == "champion"))
            .select("model_version")
            .first()
        )
        version = row[0] if row else None
    worst: tuple[str | None, float | None] = (None, None)
    if ctx.lake.exists(tables.MONITORING_METRICS):
        top = (
            ctx.lake.read(tables.MONITORING_METRICS)
            .where(on_day & (F.col("metric") == "psi") & (F.col("feature") != "score"))
            .orderBy(F.col("value").desc())
            .select("feature", "value")
            .first()
        )
        worst = (top[0], float(top[1])) if top else worst
    rows_bronze = int(bronze.collect()[0][0] or 0)
    return DayReport(day, state, rows_bronze, quarantined, version, *worst, retrain=retrain)
