"""driftline_file_drop: ingest a source as soon as its files for the date have landed.

For every source marked `on_arrival: true` in the pipeline file, a deferrable sensor of the
matching Airflow provider (SFTP, S3, or the standard file sensor) waits for the date's
files, or for their done-markers, without holding a worker slot; then the source is
ingested for that date. Ingest replaces the date's partition, so the nightly run ingesting
the same files again later changes nothing.

Wiring only: sensors come from `driftline.orchestration.arrival_watch`, ingest from
`driftline.orchestration.run_step`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.sftp.sensors.sftp import SFTPSensor
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG, dag, task

from driftline.core.loading import (
    PipelineFile,
    dag_pipelines,
    first_logical_date,
    only_dag_pipeline,
)
from driftline.core.pipeline import PipelineConfig
from driftline.orchestration.arrival_watch import drop_root, sensor_kwargs
from driftline.orchestration.callbacks import task_failed, task_failed_in

DEFAULT_ARGS = {
    "owner": "driftline",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
    "execution_timeout": timedelta(hours=24),
    "on_failure_callback": task_failed,
}
SENSORS = {"sftp": SFTPSensor, "s3": S3KeySensor, "local": FileSensor}


def build_all() -> dict[str, DAG]:
    """One DAG per pipeline of the project (a DAG file calls this each time Airflow
    parses it)."""
    return {chosen.dag_id("file_drop"): build(chosen, config) for chosen, config in dag_pipelines()}


def build(chosen: PipelineFile | None = None, pipeline: PipelineConfig | None = None) -> DAG:
    """One pipeline's DAG; without arguments, the only pipeline's (older DAG files)."""
    chosen, pipeline = (chosen, pipeline) if chosen and pipeline else only_dag_pipeline()
    name = chosen.name

    @dag(
        dag_id=chosen.dag_id("file_drop"),
        schedule=pipeline.schedule,
        start_date=first_logical_date(pipeline),
        catchup=False,
        max_active_runs=3,
        default_args={**DEFAULT_ARGS, "on_failure_callback": task_failed_in(name)},
        user_defined_macros={"driftline_drop_root": drop_root},
        tags=["driftline", pipeline.pipeline, "ingest", "file-drop"],
        doc_md=__doc__,
    )
    def file_drop() -> None:
        @task
        def ingest(source: str, **context: Any) -> dict[str, Any]:
            from driftline.orchestration import run_step

            return run_step("ingest", context, pipeline=name, source=source)

        for source in [s for s in pipeline.sources if s.on_arrival]:
            landed = SENSORS[source.kind](
                task_id=f"wait_for_{source.name}", **sensor_kwargs(source)
            )
            landed >> ingest.override(task_id=f"ingest_{source.name}")(source.name)

    return file_drop()
