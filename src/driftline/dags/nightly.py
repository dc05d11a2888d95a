"""driftline_nightly: ingest -> validate -> conform -> features -> score -> monitor ->
retraining policy (-> trigger driftline_retrain when it fires) and the run's HTML report;
beside them, earlier dates whose files changed after their night are run again.

Wiring only: every task calls `driftline.orchestration.run_step` for one step, keyed on the
run's logical date, so any date can be re-run or backfilled and replaces its own data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
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
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
    "on_failure_callback": task_failed,
}


RETRAIN_RUN_ID = {
    False: "retrain__{{ ds }}",
    True: "retrain__{{ logical_date.strftime('%Y-%m-%dT%H') }}",
}


def build_all() -> dict[str, DAG]:
    """One DAG per pipeline of the project (a DAG file calls this each time Airflow
    parses it)."""
    return {chosen.dag_id("nightly"): build(chosen, config) for chosen, config in dag_pipelines()}


def build(chosen: PipelineFile | None = None, pipeline: PipelineConfig | None = None) -> DAG:
    """One pipeline's DAG; without arguments, the only pipeline's (older DAG files)."""
    chosen, pipeline = (chosen, pipeline) if chosen and pipeline else only_dag_pipeline()
    name = chosen.name

    @dag(
        dag_id=chosen.dag_id("nightly"),
        schedule=pipeline.schedule,
        start_date=first_logical_date(pipeline),
        catchup=True,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "on_failure_callback": task_failed_in(name)},
        tags=["driftline", pipeline.pipeline, "nightly"],
        doc_md=__doc__,
    )
    def nightly() -> None:
        @task
        def list_sources() -> list[str]:
            from driftline.orchestration import source_names

            return source_names(name)

        @task(max_active_tis_per_dagrun=4)
        def ingest(source: str, **context: Any) -> dict[str, Any]:
            from driftline.orchestration import run_step

            return run_step("ingest", context, pipeline=name, source=source)

        @task
        def step(
            which: str, options: dict[str, Any] | None = None, **context: Any
        ) -> dict[str, Any]:
            """Run one Driftline step for the logical date; the task id says which."""
            from driftline.orchestration import run_step

            return run_step(which, context, pipeline=name, **(options or {}))

        @task
        def late_reruns(found: dict[str, Any]) -> list[dict[str, Any]]:
            """One trigger per earlier date whose files changed after its night ran."""
            return list(found["metrics"]["reruns"])

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def retrain_fired(decision: dict[str, Any]) -> bool:
            """Let the trigger run only when the retraining policy fired."""
            return bool(decision["metrics"].get("fire"))

        monitor = (
            ingest.expand(source=list_sources())
            >> step.override(task_id="validate")("validate")
            >> step.override(task_id="conform")("conform")
            >> step.override(task_id="build_features")("features")
            # Trains the first champion once labels exist; a no-op when one is registered.
            >> step.override(task_id="bootstrap_champion")(
                "train", {"reason": "bootstrap", "only_if_no_champion": True}
            )
            >> step.override(task_id="score")("score")
            >> step.override(task_id="monitor")("monitor")
        )
        # Files that landed for earlier dates after their night: those dates run again.
        late = step.override(task_id="find_late_deliveries")("late")
        TriggerDagRunOperator.partial(
            task_id="rerun_late_dates",
            trigger_dag_id=chosen.dag_id("nightly"),
            skip_when_already_exists=True,
        ).expand_kwargs(late_reruns(late))  # type: ignore[arg-type]  # an XComArg
        policy = step.override(task_id="retrain_policy")("policy")
        monitor >> policy >> step.override(task_id="report")("report")
        (
            retrain_fired(policy)  # type: ignore[arg-type]  # an XComArg, resolved at run time
            >> TriggerDagRunOperator(
                task_id="trigger_retrain",
                trigger_dag_id=chosen.dag_id("retrain"),
                # One retrain run per nightly run (date, or hour of an hourly pipeline): a
                # re-run of it does not train twice.
                trigger_run_id=RETRAIN_RUN_ID[pipeline.hourly],
                logical_date="{{ logical_date }}",
                conf={
                    "reason": "{{ ti.xcom_pull(task_ids='retrain_policy')['metrics']['reason'] }}"
                },
                skip_when_already_exists=True,
            )
        )

    return nightly()
