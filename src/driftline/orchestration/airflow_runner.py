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
import time as time_module
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from driftline.core.errors import DriftlineError, redact
from driftline.core.intervals import RunInterval

logger = logging.getLogger(__name__)


SQLITE_LOCK_WAIT_S = 60
T = TypeVar("T")


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
        # SQLite lets one writer in at a time; the others wait up to `timeout` seconds for
        # the lock (Python's default is 5). With the scheduler, the dag-processor, the API
        # server and a `driftline backfill` all writing on a busy 2-core machine, 5 s was
        # not always enough and a backfill failed with "database is locked".
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url
        or f"sqlite:///{(airflow_home / 'airflow.db').resolve()}?timeout={SQLITE_LOCK_WAIT_S}",
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
            redact(
                "could not prepare the Airflow metadata database "
                f"({environment['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN']}):\n"
                f"{completed.stderr[-2000:]}"
            )
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


def run_for_date(dag: Any, run_date: date | RunInterval, conf: dict[str, Any] | None = None) -> str:
    """Run `dag` for one logical date (or hour, of an hourly pipeline) with `dag.test()`;
    return the final state."""
    run = run_date if isinstance(run_date, RunInterval) else RunInterval(run_date)
    logical = run.start
    if dag.start_date is not None and logical < dag.start_date:
        # Airflow would "succeed" without running a task: say why instead.
        raise DriftlineError(
            f"{run.label} is before {dag.dag_id}'s start_date {dag.start_date.date()}: set "
            "start_date in the pipeline file to the first date the data covers"
        )
    dag_run = dag.test(logical_date=logical, run_conf=conf)
    return str(getattr(dag_run.state, "value", dag_run.state))


def run_queued(dag: Any) -> list[tuple[datetime | str, str]]:
    """Run the queued runs of `dag` (those a `TriggerDagRunOperator` created) with
    `dag.test()`, since no scheduler runs under `dag.test()`; return (logical date, or the
    conf's `run_date` of a re-run, state) pairs.

    `dag.test()` replaces the queued run of the same logical date with the run it executes,
    keeping its conf, so the triggered run is what happens, not a copy of it. A run without
    a logical date (a re-run of an earlier date, named by `run_date` in its conf) is run as
    such and its queued original removed.
    """
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState

    with create_session() as session:
        queued = [
            (run.run_id, run.logical_date, dict(run.conf or {}))
            for run in session.query(DagRun).filter(
                DagRun.dag_id == dag.dag_id, DagRun.state == DagRunState.QUEUED
            )
        ]
    outcomes: list[tuple[datetime | str, str]] = []
    for run_id, logical, conf in sorted(queued, key=lambda item: str(item[1] or item[0])):
        if logical is None and not conf.get("run_date"):
            continue  # neither a date nor a run_date: not one of ours to run here
        if logical is None:
            # Stamped now (dag.test() would clear every run's task instances for a run
            # without a logical date); its tasks work on the conf's run_date.
            dag_run = dag.test(run_conf=conf)
        else:
            dag_run = dag.test(logical_date=logical, run_conf=conf)
        if logical is None:
            with create_session() as session:
                session.query(DagRun).filter(
                    DagRun.dag_id == dag.dag_id, DagRun.run_id == run_id
                ).delete()
        run = logical if logical is not None else str(conf["run_date"])
        outcomes.append((run, str(getattr(dag_run.state, "value", dag_run.state))))
    return outcomes


def ui_environment(port: int, schedule: bool) -> dict[str, str]:
    """Settings for `airflow standalone` serving the project's DAGs on `port`.

    DAGs start unpaused so a run triggered from the UI starts at once; with `schedule`
    off the scheduler creates no runs of its own (no catch-up storm over the pipeline's
    history) while manual runs and backfills still run.
    """
    base_url = f"http://localhost:{port}"
    return {
        # Every task is a process with its own Spark JVM: more of them at once than there
        # are cores only makes each slower.
        "AIRFLOW__CORE__PARALLELISM": str(max(2, os.cpu_count() or 2)),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(schedule),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    }


def create_backfill(
    dag_id: str, start: date, end: date, max_active_runs: int = 1, reprocess: str = "completed"
) -> tuple[int, list[date]]:
    """Ask Airflow 3 for a backfill of `dag_id` over [start, end]; its scheduler runs it.

    Returns the backfill's id and the logical dates of the runs it created. `reprocess`
    says what to do with dates that already have a run: `none` skips them, `failed`
    re-runs failed ones, `completed` re-runs all of them (each date replaces its own data).
    """
    from airflow.models.backfill import ReprocessBehavior, _create_backfill
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=timezone.utc)  # noqa: UP017

    if end < start:
        raise DriftlineError(f"--to {end} is before --from {start}")
    ready_for_backfill(dag_id)
    try:
        backfill = retry_while_sqlite_is_busy(
            _create_backfill,
            dag_id=dag_id,
            # Whole days, both ends included: a cron schedule's runs are at its hour, not
            # at midnight (a nightly at 02:00 has logical dates at 02:00).
            from_date=midnight(start),
            to_date=midnight(end + timedelta(days=1)) - timedelta(seconds=1),
            max_active_runs=max_active_runs,
            reverse=False,
            dag_run_conf=None,
            triggering_user_name="driftline-cli",
            reprocess_behavior=ReprocessBehavior(reprocess),
        )
    except Exception as error:  # Airflow's own errors: unknown DAG, running backfill, ...
        raise DriftlineError(
            f"Airflow refused the backfill of {dag_id} from {start} to {end}: {error}. Is the "
            "DAG parsed (dag-processor running) and no other backfill of it active?"
        ) from error
    with create_session() as session:
        runs = session.query(DagRun).filter(DagRun.backfill_id == backfill.id).all()
        dates = sorted(r.logical_date.date() for r in runs if r.logical_date is not None)
    return int(backfill.id), dates


def retry_while_sqlite_is_busy(
    action: Callable[..., T],
    *args: Any,
    attempts: int = 5,
    first_wait_s: float = 2.0,
    **kwargs: Any,
) -> T:
    """Run one metadata-DB transaction, again when SQLite answers "database is locked".

    The busy timeout does not cover every case: a transaction that read first and then
    wants to write is refused at once when another connection is committing (SQLite
    cannot wait there without deadlocking), and the scheduler, dag-processor and API
    server write all the time. The failed transaction was rolled back, so running it
    again is safe; any other error is raised as it is.
    """
    wait = first_wait_s
    for attempt in range(1, attempts + 1):
        try:
            return action(*args, **kwargs)
        except Exception as error:
            if attempt == attempts or "database is locked" not in str(error):
                raise
            logger.warning(
                "Airflow's SQLite database was busy (attempt %d of %d); trying again in %.0f s",
                attempt,
                attempts,
                wait,
            )
            time_module.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")


def ready_for_backfill(dag_id: str) -> None:
    """Make sure a backfill of `dag_id` can run, or say exactly what is missing.

    Airflow backfills only DAGs its metadata DB knows: one never parsed is parsed here
    (`airflow dags reserialize`, what the dag-processor would do). A paused DAG would leave
    every backfill run queued without a word, so it is refused with what to do.
    """
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    def known() -> DagModel | None:
        with create_session() as session:
            model = session.get(DagModel, dag_id)
            if model is not None:
                session.expunge(model)
            return model

    model = known()
    if model is None:
        logger.info("%s is not in Airflow's metadata DB yet: parsing the DAG files", dag_id)
        completed = subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "reserialize"],
            capture_output=True,
            text=True,
            check=False,
        )
        model = known()
        if model is None:
            folder = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
            raise DriftlineError(
                f"Airflow knows no DAG {dag_id!r} after parsing {folder}: check the DAG files "
                f"(`driftline check`); `airflow dags reserialize` exited {completed.returncode}:\n"
                f"{redact((completed.stdout + completed.stderr)[-3000:])}"
            )
    if model.is_paused:
        raise DriftlineError(
            f"{dag_id} is paused, so a backfill's runs would wait in 'queued' and never start: "
            f"unpause it (the toggle in the UI, or `airflow dags unpause {dag_id}`) and run the "
            "backfill again"
        )


def scheduler_running(within_seconds: int = 120) -> bool:
    """Whether a scheduler has heartbeated recently: without one a backfill's runs wait."""
    from airflow.jobs.job import Job
    from airflow.utils.session import create_session

    since = datetime.now(timezone.utc) - timedelta(seconds=within_seconds)  # noqa: UP017
    with create_session() as session:
        alive = (
            session.query(Job)
            .filter(Job.job_type == "SchedulerJob", Job.latest_heartbeat >= since)
            .count()
        )
    return alive > 0
