"""driftline_retrain: train a challenger -> promotion gate (promote or reject).

Triggered by `driftline_nightly` when the retraining policy fires, from the UI with a
reason, or from the CLI. Wiring only; the gate's rules live in `driftline.model.promotion`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, dag, task

from driftline.core.loading import dag_pipeline, first_logical_date
from driftline.orchestration.callbacks import task_failed

DEFAULT_ARGS = {
    "owner": "driftline",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=4),
    "on_failure_callback": task_failed,
}


def build() -> DAG:
    """The DAG for the pipeline file the settings name, read now: a DAG file calls this
    each time Airflow parses it."""
    pipeline = dag_pipeline()

    @dag(
        dag_id="driftline_retrain",
        schedule=None,
        start_date=first_logical_date(pipeline),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["driftline", "retrain"],
        params={
            "reason": Param(
                "manual",
                enum=["manual", "schedule", "drift", "accuracy"],
                description="why this model is trained; recorded on the model version",
            )
        },
        doc_md=__doc__,
    )
    def driftline_retrain() -> None:
        @task
        def train_challenger(**context: Any) -> dict[str, Any]:
            from driftline.orchestration import run_step

            return run_step("train", context, reason=context["params"]["reason"])

        @task
        def promotion_gate(**context: Any) -> dict[str, Any]:
            from driftline.orchestration import run_step

            return run_step("promote", context)

        train_challenger() >> promotion_gate()

    return driftline_retrain()
