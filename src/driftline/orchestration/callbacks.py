"""Airflow callbacks of Driftline's DAGs.

They read Airflow's task context, which the alerting in `core.notify` knows nothing of.
"""

from __future__ import annotations

from typing import Any

from driftline.core.notify import Event, send


def task_failed(context: dict[str, Any]) -> None:
    """Airflow `on_failure_callback`: one alert naming the DAG, task, date and error."""
    from driftline.core.settings import load_settings

    ti = context.get("task_instance") or context.get("ti")
    error = context.get("exception")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    send(
        load_settings(),
        Event(
            "task_failed",
            f"{dag_id}.{task_id} failed for {context.get('ds', '?')}: {error}",
            severity="error",
            details={
                "dag_id": dag_id,
                "task_id": task_id,
                "run_id": context.get("run_id"),
                "try_number": getattr(ti, "try_number", None),
            },
        ),
    )
