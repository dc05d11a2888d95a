"""Running the nightly DAG for a list of dates without a scheduler (`dag.test()`), and what
each night did, read back from the tables: `driftline run` and `driftline demo` print it.

Each night runs every chosen pipeline's nightly DAG (`driftline_nightly`, or
`driftline_<pipeline>_nightly`), then any retrain run its retraining policy triggered (no
scheduler would start it), before the next pipeline and the next night.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from driftline.core.errors import DriftlineError
from driftline.core.intervals import RunInterval
from driftline.core.loading import PipelineFile, load_project_pipeline, project_pipelines
from driftline.core.pipeline import scheduled_dates, scheduled_intervals

logger = logging.getLogger(__name__)

# A run as the runner passes it on: its interval, a logical date, or a re-run's conf date.
Moment = RunInterval | date | datetime | str


@dataclass(frozen=True)
class NightReport:
    pipeline: str | None  # None: the project's single pipeline (driftline.yaml)
    run_date: date
    state: str
    rows_bronze: int
    rows_quarantined: int
    model_version: str | None
    worst_feature: str | None
    worst_psi: float | None
    run: str  # the run's interval as text: its date, or date and hour when hourly
    retrain: str | None = None  # what the triggered driftline_retrain run did, if any


def run_nights(
    dates: list[date],
    dags_folder: Path,
    on_night: Callable[[NightReport], None] | None = None,
    pipelines: list[PipelineFile] | None = None,
    follow_schedule: bool = False,
    hours: list[RunInterval] | None = None,
    between: tuple[RunInterval | None, RunInterval | None] = (None, None),
) -> list[NightReport]:
    """Run each pipeline's nightly DAG for each date in order (every pipeline of the
    project unless `pipelines` says which); stop at the first night that fails.

    With `follow_schedule`, a pipeline runs only on the dates its schedule runs on (a
    weekly pipeline on its weekday), as Airflow would; otherwise on every date given. An
    hourly pipeline runs every hour its schedule runs at on those dates, from and to the
    hours of `between` where it names them, or only `hours` when given (`driftline run
    --date 2024-01-01T05`).
    """
    from driftline.orchestration.airflow_runner import load_dag, run_for_date, run_queued

    chosen = pipelines or project_pipelines()
    dags = {
        p.name: (
            load_dag(p.dag_id("nightly"), dags_folder),
            load_dag(p.dag_id("retrain"), dags_folder),
        )
        for p in chosen
    }
    runs = [
        (run, order)
        for order, pipeline in enumerate(chosen)
        for run in runs_of(pipeline, dates, hours, follow_schedule, between)
    ]
    reports = []
    for run, order in sorted(runs, key=lambda item: (item[0].start, item[1])):
        pipeline = chosen[order]
        dag, retrain = dags[pipeline.name]
        state = run_for_date(dag, run)
        # The retraining policy may have triggered the retrain DAG; with no scheduler
        # behind dag.test(), run it here, before the next night.
        retrained = run_queued(retrain)
        if any(outcome != "success" for _, outcome in retrained):
            state = f"{state}, retrain failed"
        nights: list[tuple[Moment, str, str | None]] = [
            (run, state, retrain_outcome(pipeline.name, run) if retrained else None)
        ]
        # Earlier dates whose files landed late: the night queued re-runs of them.
        nights += [(d, f"{s} (re-run: late files)", None) for d, s in run_queued(dag)]
        for night, outcome, retrain_note in nights:
            report = summarise(pipeline.name, night, outcome, retrain_note)
            reports.append(report)
            if on_night is not None:
                on_night(report)
            if not outcome.startswith("success") or "failed" in outcome:
                raise DriftlineError(
                    f"{dag.dag_id} failed for {report.run}; see the task logs above"
                )
    return reports


def runs_of(
    pipeline: PipelineFile,
    dates: list[date],
    hours: list[RunInterval] | None,
    follow_schedule: bool,
    between: tuple[RunInterval | None, RunInterval | None] = (None, None),
) -> list[RunInterval]:
    """The runs of `pipeline` on `dates`: each date (only those its schedule runs on,
    with `follow_schedule`), or each hour its schedule runs at when it is hourly (from
    and to `between`'s hours, where given)."""
    config = load_project_pipeline(pipeline)
    if not dates:
        return []
    if config.hourly:
        if hours:
            return hours
        first, last = between
        return [
            run
            for run in scheduled_intervals(config.schedule, min(dates), max(dates))
            if run.day in dates
            and (first is None or run.start >= first.start)
            and (last is None or run.start <= last.start)
        ]
    if follow_schedule:
        scheduled = set(scheduled_dates(config.schedule, min(dates), max(dates)))
        return [RunInterval(d) for d in dates if d in scheduled]
    return [RunInterval(d) for d in dates]


def _reading_context(pipeline: str | None, day: Moment) -> Any:
    """A context for the demo's own small reads. With the spark-submit launcher the tasks
    are applications on the cluster, so these reads stay in local mode: a session of this
    process on the cluster would hold its cores and starve the next task's application."""
    from driftline.context import build_context
    from driftline.core.loading import pipeline_settings
    from driftline.core.settings import load_settings

    settings = pipeline_settings(load_settings(), pipeline)
    if settings.step_launcher == "spark-submit":
        settings = settings.model_copy(update={"spark_master": "local[1]"})
    return build_context(day, "demo-report", settings)


def retrain_outcome(pipeline: str | None, day: Moment) -> str:
    """ "promoted v3" or "rejected v3", from the decision the retrain run recorded."""
    from pyspark.sql import functions as F

    from driftline.core import tables

    ctx = _reading_context(pipeline, day)
    rows = (
        ctx.lake.read(tables.DECISIONS)
        .where(ctx.interval.is_this() & F.col("kind").isin("promote", "reject"))
        .select("kind", "model_version")
        .collect()
    )
    if not rows:
        return "trained, not judged"
    return ", ".join(
        f"{'promoted' if r['kind'] == 'promote' else 'rejected'} v{r['model_version']}"
        for r in rows
    )


def summarise(
    pipeline: str | None, day: Moment, state: str, retrain: str | None = None
) -> NightReport:
    """One day's numbers, read back from the lakehouse tables the run wrote."""
    from pyspark.sql import functions as F

    from driftline.core import tables

    ctx = _reading_context(pipeline, day)
    on_day = ctx.interval.is_this()
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
    return NightReport(
        pipeline,
        ctx.run_date,
        state,
        rows_bronze,
        quarantined,
        version,
        *worst,
        ctx.ds,
        retrain,
    )
