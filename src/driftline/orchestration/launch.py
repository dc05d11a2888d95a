"""How an Airflow task runs a step: in the worker's process, or as a Spark job.

DAG files call `run_step` and nothing else. With `DRIFTLINE_STEP_LAUNCHER=inprocess` (the
embedded default) the step runs in the task's own process and SparkSession, which is also
what makes a whole `dag.test()` run share one JVM. With `spark-submit`, the package's job
entry point (`orchestration.job`) is submitted through the Airflow Spark connection, one
Spark application per task, and the result it writes is handed to Airflow as in-process.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from driftline.context import StepResult
from driftline.core.errors import PERMANENT_ERRORS, DriftlineError, StepFailedError
from driftline.core.intervals import run_interval_of, run_moment_of
from driftline.core.loading import load_pipeline, pipeline_settings
from driftline.core.settings import Settings, load_settings

logger = logging.getLogger(__name__)


def source_names(pipeline: str | None = None) -> list[str]:
    """The pipeline's sources, for the mapped ingest task."""
    settings = pipeline_settings(load_settings(), pipeline)
    return [s.name for s in load_pipeline(settings.resolved_pipeline_file).sources]


def logical_date_of(context: dict[str, Any]) -> date:
    """The date a run is about (`run_interval_of`'s date)."""
    return run_interval_of(context, hourly=False).day


def run_step(
    step: str, context: dict[str, Any], pipeline: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Run `step` of `pipeline` (the project's only one when None) for the task's logical
    date; return its result for XCom."""
    run_id = str(context.get("run_id") or "manual")
    try:
        # Read at the pipeline's grain (a date, or a date and hour) where the step runs.
        run_date = run_moment_of(context)
        settings = pipeline_settings(load_settings(), pipeline)
        if settings.step_launcher == "spark-submit":
            result = _spark_submit(settings, step, run_date, run_id, kwargs)
        else:
            from driftline.context import build_context
            from driftline.steps import step_function

            ctx = build_context(run_date, run_id, settings)
            result = step_function(step)(ctx, **kwargs)
    except PERMANENT_ERRORS as error:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(error)) from error
    if result.skipped:
        logger.warning("%s for %s skipped: %s", step, result.run_date, result.skipped)
    return result.to_dict()


def _spark_submit(
    settings: Settings, step: str, run_date: str | datetime, run_id: str, kwargs: dict[str, Any]
) -> StepResult:
    """Run the step as its own Spark application and return the result the job wrote.

    The job's error comes back as its own message (and as permanent when a retry cannot
    fix it), not as spark-submit's exit status.
    """
    import tempfile

    from airflow.providers.apache.spark.hooks.spark_submit import SparkSubmitHook
    from airflow.sdk.exceptions import AirflowException

    moment = run_date if isinstance(run_date, str) else run_date.isoformat()
    arguments = [step, "--run-date", moment, "--run-id", run_id]
    if settings.pipeline is not None:
        arguments += ["--pipeline", settings.pipeline]
    for key, value in kwargs.items():
        arguments += [f"--{key.replace('_', '-')}", str(value)]
    from driftline.core import object_store
    from driftline.core.spark import (
        BUNDLED_WITH_SPARK,
        driver_java_options,
        extra_packages,
        has_s3a,
        node_jars_conf,
        submit_packages,
    )

    packages = submit_packages(settings)
    with tempfile.TemporaryDirectory(prefix=f"driftline-{step}-") as folder:
        result_file = Path(folder) / "result.json"
        hook = SparkSubmitHook(
            conn_id=spark_connection(settings),
            name="-".join(
                [
                    "driftline",
                    *([settings.pipeline] if settings.pipeline else []),
                    step,
                    moment[:10],
                ]
            ),
            conf={
                "spark.sql.session.timeZone": "UTC",
                "spark.pyspark.python": settings.executor_python or sys.executable,
                "spark.pyspark.driver.python": sys.executable,
                # In client mode (the default) the driver starts here and maps this
                # machine's class archive; a driver elsewhere without it starts as before.
                "spark.driver.extraJavaOptions": driver_java_options(settings),
                **(object_store.s3a_conf() if has_s3a(extra_packages(settings)) else {}),
                **node_jars_conf(settings),
            },
            packages=",".join(packages) or None,
            exclude_packages=",".join(BUNDLED_WITH_SPARK) if packages else None,
            application_args=[*arguments, "--result-file", str(result_file)],
        )
        try:
            hook.submit(str(job_file(settings)))
        except AirflowException as error:
            outcome = _read_result(result_file)
            if "error" not in outcome:
                raise StepFailedError(f"{step} for {moment}: {error}") from error
            raise _job_error(outcome) from error
        outcome = _read_result(result_file)
    if "error" in outcome or not outcome:
        raise StepFailedError(f"{step} for {moment} wrote no result: {outcome.get('error')}")
    return StepResult(**outcome)


def spark_connection(settings: Settings) -> str:
    """The Airflow connection spark-submit uses: `DRIFTLINE_SPARK_CONN_ID` where it is
    configured, else one defined here, for this process, that follows
    `DRIFTLINE_SPARK_MASTER`, so one setting moves every launcher to a cluster."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(settings.spark_conn_id)
    except AirflowNotFoundException:
        variable = f"AIRFLOW_CONN_{settings.spark_conn_id.upper()}"
        os.environ[variable] = json.dumps({"conn_type": "spark", "host": settings.spark_master})
        logger.info(
            "no Airflow connection %s: spark-submit uses DRIFTLINE_SPARK_MASTER %s",
            settings.spark_conn_id,
            settings.spark_master,
        )
    return settings.spark_conn_id


def job_file(settings: Settings) -> Path:
    """What spark-submit runs: `<DRIFTLINE_JOBS_DIR>/job.py` where set (a copy on a path
    the cluster's driver reads), else the installed package's own entry point."""
    if settings.jobs_dir is not None:
        return (settings.jobs_dir / "job.py").resolve()
    from driftline.orchestration import job

    return Path(job.__file__).resolve()


def _job_error(outcome: dict[str, Any]) -> DriftlineError:
    """The job's error as the class it raised, so permanent ones stay permanent."""
    from driftline.core import errors

    kind = getattr(errors, str(outcome.get("error_type")), None)
    if not (isinstance(kind, type) and issubclass(kind, DriftlineError)):
        kind = StepFailedError
    return kind(str(outcome["error"]))


def _read_result(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
