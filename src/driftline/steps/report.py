"""Report: the static HTML page of the run date (see `driftline.monitoring.report`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from driftline.context import RunContext, StepResult
from driftline.core.errors import ConfigError
from driftline.core.intervals import RunInterval, run_interval_of
from driftline.core.loading import load_project_pipeline, pipeline_settings, project_pipelines
from driftline.core.settings import Settings
from driftline.monitoring.report import build, read_report, report_path


def run(ctx: RunContext) -> StepResult:
    result = StepResult("report", ctx.ds)
    result.metrics["report"] = build(ctx)
    return result


def report_of_dag(
    settings: Settings, dag_id: str, run: date | RunInterval | dict[str, Any]
) -> tuple[str, bytes | None]:
    """(where the report of `dag_id`'s pipeline for `run` lives, its HTML or None): what
    Airflow's UI shows on a run's page (`driftline.orchestration.airflow_plugin`). `run`
    may be an Airflow run's context (`dag_run`, `logical_date`), read at the pipeline's
    grain as its tasks read it."""
    kinds = ("nightly", "retrain", "file_drop", "maintenance")
    for chosen in project_pipelines(settings):
        if dag_id in {chosen.dag_id(kind) for kind in kinds}:
            if isinstance(run, dict):
                run = run_interval_of(run, load_project_pipeline(chosen).hourly)
            lake = pipeline_settings(settings, chosen.name).resolved_lake_uri
            return report_path(lake, run), read_report(lake, run)
    raise ConfigError(f"DAG {dag_id!r} belongs to no pipeline of this project")
