"""driftline_maintenance: weekly VACUUM of every lakehouse table.

Keeps the audit retention (`DRIFTLINE_AUDIT_RETENTION_DAYS`) for time travel and reclaims
older superseded files and what crashed writes left behind. Runs after the nightly DAG's
hour on Sundays; safe beside it. Wiring only; the work is `driftline.steps.maintain`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, dag, task

from driftline.core.loading import (
    PipelineFile,
    dag_pipelines,
    first_logical_date,
    only_dag_pipeline,
)
from driftline.core.pipeline import PipelineConfig
from driftline.orchestration.callbacks import task_failed, task_failed_in

DEFAULT_ARGS = {
    "owner": "driftline",
    "retries": 2,
    "retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(hours=3),
    "on_failure_callback": task_failed,
}


def build_all() -> dict[str, DAG]:
    """One DAG per pipeline of the project (a DAG file calls this each time Airflow
    parses it)."""
    return {
        chosen.dag_id("maintenance"): build(chosen, config) for chosen, config in dag_pipelines()
    }


def build(chosen: PipelineFile | None = None, pipeline: PipelineConfig | None = None) -> DAG:
    """One pipeline's DAG; without arguments, the only pipeline's (older DAG files)."""
    chosen, pipeline = (chosen, pipeline) if chosen and pipeline else only_dag_pipeline()
    name = chosen.name

    @dag(
        dag_id=chosen.dag_id("maintenance"),
        schedule="0 5 * * 0",
        start_date=first_logical_date(pipeline),
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "on_failure_callback": task_failed_in(name)},
        tags=["driftline", pipeline.pipeline, "maintenance"],
        doc_md=__doc__,
    )
    def maintenance() -> None:
        @task
        def vacuum_tables(**context: Any) -> dict[str, Any]:
            from driftline.orchestration import run_step

            return run_step("maintain", context, pipeline=name)

        vacuum_tables()

    return maintenance()
