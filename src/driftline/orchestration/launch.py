"""How an Airflow task runs a step: in the worker's process, or as a Spark job.

DAG files call `run_step` and nothing else. With `DRIFTLINE_STEP_LAUNCHER=inprocess` (the
embedded default) the step runs in the task's own process and SparkSession, which is also
what makes a whole `dag.test()` run share one JVM. With `spark-submit`, `jobs/<step>.py`
is submitted through the Airflow Spark connection to the cluster.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from driftline.context import parse_run_date
from driftline.core.errors import ConfigError, ValidationFailedError
from driftline.core.loading import load_pipeline
from driftline.core.settings import load_settings

logger = logging.getLogger(__name__)

# Failures that a retry cannot fix: fail the task at once instead of retrying.
PERMANENT_ERRORS = (ConfigError, ValidationFailedError)


def source_names() -> list[str]:
    """The pipeline's sources, for the mapped ingest task."""
    settings = load_settings()
    return [s.name for s in load_pipeline(settings.resolved_pipeline_file).sources]


def logical_date_of(context: dict[str, Any]) -> date:
    """The date a run is about: Airflow's logical date, or the run's `run_after` when a
    manual run was triggered without one."""
    value = context.get("logical_date")
    if value is None and context.get("dag_run") is not None:
        value = context["dag_run"].run_after
    if value is None:
        raise ConfigError("the Airflow context has no logical_date: trigger the run with one")
    return parse_run_date(value)


def run_step(step: str, context: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Run `step` for the task's logical date; return its result for XCom."""
    settings = load_settings()
    run_date = logical_date_of(context)
    run_id = str(context.get("run_id") or "manual")
    try:
        if settings.step_launcher == "spark-submit":
            return _spark_submit(settings, step, run_date, run_id, kwargs)
        from driftline.context import build_context
        from driftline.steps import step_function

        ctx = build_context(run_date, run_id, settings)
        result = step_function(step)(ctx, **kwargs)
    except PERMANENT_ERRORS as error:
        from airflow.exceptions import AirflowFailException

        raise AirflowFailException(str(error)) from error
    if result.skipped:
        logger.warning("%s for %s skipped: %s", step, run_date, result.skipped)
    return result.to_dict()


def _spark_submit(
    settings: Any, step: str, run_date: date, run_id: str, kwargs: dict[str, Any]
) -> dict[str, Any]:
    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook

    application = settings.resolved_jobs_dir / f"{step}.py"
    if not application.is_file():
        raise ConfigError(f"Spark job {application} not found: set DRIFTLINE_JOBS_DIR")
    arguments = ["--run-date", run_date.isoformat(), "--run-id", run_id]
    for key, value in kwargs.items():
        arguments += [f"--{key.replace('_', '-')}", str(value)]
    hook = SparkSubmitHook(
        conn_id=settings.spark_conn_id,
        name=f"driftline-{step}-{run_date.isoformat()}",
        conf={"spark.sql.session.timeZone": "UTC"},
        application_args=arguments,
    )
    hook.submit(str(application))
    return {"step": step, "run_date": run_date.isoformat(), "launched": "spark-submit"}
