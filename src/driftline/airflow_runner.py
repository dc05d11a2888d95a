"""Running Driftline's DAGs through real Airflow from one process (`dag.test()`).

Used by `driftline demo`, the integration tests and local backfills: a SQLite metadata
database under the work folder, the project's `dags/` folder, and every task executed in
this process, so the whole run shares one SparkSession.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

from driftline.errors import DriftlineError

logger = logging.getLogger(__name__)


def airflow_environment(
    airflow_home: Path, dags_folder: Path, db_url: str | None = None
) -> dict[str, str]:
    """The AIRFLOW__* settings of an embedded Airflow; set before Airflow is imported."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder.resolve()),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url
        or f"sqlite:///{(airflow_home / 'airflow.db').resolve()}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get(
            "AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"
        ),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
    }


def migrate_metadata_db(environment: dict[str, str]) -> None:
    """`airflow db migrate` in a child process (idempotent; creates the DB the first time)."""
    completed = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise DriftlineError(
            "could not prepare the Airflow metadata database "
            f"({environment['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN']}):\n{completed.stderr[-2000:]}"
        )


def load_dag(dag_id: str, dags_folder: Path) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(dags_folder))
    if bag.import_errors:
        raise DriftlineError(f"DAG files failed to import: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    if dag is None:
        raise DriftlineError(f"no DAG {dag_id!r} in {dags_folder}")
    return dag


def run_for_date(dag: Any, run_date: date, conf: dict[str, Any] | None = None) -> str:
    """Run `dag` for one logical date with `dag.test()`; return the final state."""
    logical = datetime.combine(run_date, time(0), tzinfo=timezone.utc)  # noqa: UP017
    if dag.start_date is not None and logical < dag.start_date:
        # Airflow would "succeed" without running a task: say why instead.
        raise DriftlineError(
            f"{run_date} is before {dag.dag_id}'s start_date {dag.start_date.date()}: set "
            "start_date in the pipeline file to the first date the data covers"
        )
    dag_run = dag.test(logical_date=logical, run_conf=conf)
    return str(getattr(dag_run.state, "value", dag_run.state))


def run_queued(dag: Any) -> list[tuple[date, str]]:
    """Run the queued runs of `dag` (those a `TriggerDagRunOperator` created) with
    `dag.test()`, since no scheduler runs under `dag.test()`; return (date, state) pairs.

    `dag.test()` replaces the queued run of the same logical date with the run it executes,
    keeping its conf, so the triggered run is what happens, not a copy of it.
    """
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    with create_session() as session:
        queued = [
            (run.logical_date, dict(run.conf or {}))
            for run in session.query(DagRun).filter(
                DagRun.dag_id == dag.dag_id, DagRun.state == DagRunState.QUEUED
            )
            if run.logical_date is not None
        ]
    outcomes: list[tuple[date, str]] = []
    for logical, conf in sorted(queued, key=lambda item: str(item[0])):
        dag_run = dag.test(logical_date=logical, run_conf=conf)
        assert logical is not None
        outcomes.append((logical.date(), str(getattr(dag_run.state, "value", dag_run.state))))
    return outcomes
