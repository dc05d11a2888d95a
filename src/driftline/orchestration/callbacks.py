"""Airflow callbacks of Driftline's DAGs.

They read Airflow's task context, which the alerting in `core.notify` knows nothing of.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from driftline.core.notify import Event, send

logger = logging.getLogger(__name__)


def task_failed(context: dict[str, Any]) -> None:
    """Airflow `on_failure_callback`: one alert naming the DAG, task, date and error."""
    _alert(context, None)


def task_failed_in(pipeline: str | None) -> Callable[[dict[str, Any]], None]:
    """`task_failed` for a DAG of `pipeline` (in a project of many), whose alerts say so."""
    return partial(_alert, pipeline=pipeline) if pipeline else task_failed


def _alert(context: dict[str, Any], pipeline: str | None) -> None:
    from driftline.core.loading import pipeline_settings
    from driftline.core.settings import load_settings

    ti = context.get("task_instance") or context.get("ti")
    error = context.get("exception")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    settings = load_settings()
    try:
        settings = pipeline_settings(settings, pipeline) if pipeline else settings
    except Exception:  # an alert about a broken pipeline file must still go out
        logger.exception("alerting without the settings of pipeline %s", pipeline)
    send(
        settings,
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
