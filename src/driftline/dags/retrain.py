"""driftline_retrain: train a challenger -> promotion gate (promote or reject).

Triggered by `driftline_nightly` when the retraining policy fires, from the UI with a
reason, or from the CLI. Wiring only; the gate's rules live in `driftline.model.promotion`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, dag, task

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
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=4),
    "on_failure_callback": task_failed,
}


def build_all() -> dict[str, DAG]:
    """One DAG per pipeline of the project (a DAG file calls this each time Airflow
    parses it)."""
    return {chosen.dag_id("retrain"): build(chosen, config) for chosen, config in dag_pipelines()}


def build(chosen: PipelineFile | None = None, pipeline: PipelineConfig | None = None) -> DAG:
    """One pipeline's DAG; without arguments, the only pipeline's (older DAG files)."""
    chosen, pipeline = (chosen, pipeline) if chosen and pipeline else only_dag_pipeline()
    name = chosen.name

    @dag(
        dag_id=chosen.dag_id("retrain"),
        schedule=None,
        start_date=first_logical_date(pipeline),
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "on_failure_callback": task_failed_in(name)},
        tags=["driftline", pipeline.pipeline, "retrain"],
        params={
            "reason": Param(
                "manual",
                enum=["manual", "schedule", "drift", "accuracy"],
                description="why this model is trained; recorded on the model version",
            )
        },
        doc_md=__doc__,
    )
    def retrain() -> None:
        @task
        def train_challenger(**context: Any) -> dict[str, Any]:
            from driftline.orchestration import run_step

            return run_step("train", context, pipeline=name, reason=context["params"]["reason"])

        @task
        def promotion_gate(**context: Any) -> dict[str, Any]:
            from driftline.orchestration import run_step

            return run_step("promote", context, pipeline=name)

        train_challenger() >> promotion_gate()

    return retrain()
