"""driftline_maintenance: weekly VACUUM of every lakehouse table.

Keeps the audit retention (`DRIFTLINE_AUDIT_RETENTION_DAYS`) for time travel and reclaims
older superseded files and what crashed writes left behind. Runs after the nightly DAG's
hour on Sundays; safe beside it. Wiring only; the work is `driftline.steps.maintain`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, dag, task

from driftline.core.loading import dag_pipeline, first_logical_date
from driftline.orchestration.callbacks import task_failed

DEFAULT_ARGS = {
    "owner": "driftline",
    "retries": 2,
    "retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(hours=3),
    "on_failure_callback": task_failed,
}


def build() -> DAG:
    """The DAG for the pipeline file the settings name, read now: a DAG file calls this
    each time Airflow parses it."""
    pipeline = dag_pipeline()

    @dag(
        dag_id="driftline_maintenance",
        schedule="0 5 * * 0",
        start_date=first_logical_date(pipeline),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["driftline", "maintenance"],
        doc_md=__doc__,
    )
    def driftline_maintenance() -> None:
        @task
        def vacuum_tables(**context: Any) -> dict[str, Any]:
            from driftline.orchestration import run_step

            return run_step("maintain", context)

        vacuum_tables()

    return driftline_maintenance()
