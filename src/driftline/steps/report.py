"""Report: the static HTML page of the run date (see `driftline.monitoring.report`)."""

from __future__ import annotations

from datetime import date

from driftline.context import RunContext, StepResult
from driftline.core.errors import ConfigError
from driftline.core.loading import pipeline_settings, project_pipelines
from driftline.core.settings import Settings
from driftline.monitoring.report import build, read_report, report_path


def run(ctx: RunContext) -> StepResult:
    result = StepResult("report", ctx.ds)
    result.metrics["report"] = build(ctx)
    return result


def report_of_dag(settings: Settings, dag_id: str, run_date: date) -> tuple[str, bytes | None]:
    """(where the report of `dag_id`'s pipeline for `run_date` lives, its HTML or None):
    what Airflow's UI shows on a run's page (`driftline.orchestration.airflow_plugin`)."""
    kinds = ("nightly", "retrain", "file_drop", "maintenance")
    for chosen in project_pipelines(settings):
        if dag_id in {chosen.dag_id(kind) for kind in kinds}:
            lake = pipeline_settings(settings, chosen.name).resolved_lake_uri
            return report_path(lake, run_date), read_report(lake, run_date)
    raise ConfigError(f"DAG {dag_id!r} belongs to no pipeline of this project")
