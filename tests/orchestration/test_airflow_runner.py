"""The embedded Airflow's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PROJECT


def test_the_embedded_sqlite_database_waits_for_its_lock(tmp_path: Path) -> None:
    """Airflow's components and a `driftline backfill` write to one SQLite file; a writer
    must wait for the lock longer than Python's 5 s default instead of failing."""
    import sqlalchemy

    from driftline.orchestration.airflow_runner import SQLITE_LOCK_WAIT_S, airflow_environment

    environment = airflow_environment(tmp_path / "airflow", tmp_path / "dags")
    url = sqlalchemy.make_url(environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    engine = sqlalchemy.create_engine(url)
    _, connect_args = engine.dialect.create_connect_args(url)
    assert url.database == str((tmp_path / "airflow" / "airflow.db").resolve())
    assert connect_args["timeout"] == SQLITE_LOCK_WAIT_S > 5
    # A database given explicitly (PostgreSQL in production) is used as it is.
    given = airflow_environment(tmp_path / "a", tmp_path / "dags", "postgresql://h/airflow")
    assert given["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == "postgresql://h/airflow"


@pytest.mark.integration
def test_a_failed_metadata_migration_does_not_print_the_password(tmp_path: Path) -> None:
    from driftline.core.errors import DriftlineError
    from driftline.orchestration.airflow_runner import airflow_environment, migrate_metadata_db

    url = "postgresql+nosuchdriver://airflow:hunter2@127.0.0.1:1/airflow"
    environment = airflow_environment(tmp_path / "airflow", tmp_path / "dags", url)
    with pytest.raises(DriftlineError) as caught:
        migrate_metadata_db(environment)
    assert "hunter2" not in str(caught.value)
    assert "airflow:***@127.0.0.1:1" in str(caught.value)


@pytest.mark.integration
def test_a_backfill_parses_an_unknown_dag_and_refuses_a_paused_one(  # type: ignore[no-untyped-def]
    airflow_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `driftline backfill` checks before asking Airflow: a DAG the metadata DB does not
    know yet is parsed (as the dag-processor would), and a paused one is refused with what
    to do, rather than leaving its runs queued without a word."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    from driftline.core.errors import DriftlineError
    from driftline.orchestration.airflow_runner import ready_for_backfill

    # The DAG files read the checkout's driftline.yaml wherever the tests' working directory
    # is (the shared SparkSession moves it to its warehouse).
    monkeypatch.setenv("DRIFTLINE_HOME", str(PROJECT))
    with create_session() as session:
        # Known already when another test ran it through dag.test(); paused either way.
        known = session.get(DagModel, "driftline_maintenance")
        if known is not None:
            known.is_paused = True
    with pytest.raises(DriftlineError, match=r"driftline_maintenance is paused.*unpause"):
        ready_for_backfill("driftline_maintenance")  # parsed first if unknown
    with create_session() as session:
        assert session.get(DagModel, "driftline_maintenance") is not None
        session.get(DagModel, "driftline_maintenance").is_paused = False
    ready_for_backfill("driftline_maintenance")  # known and unpaused: ready


def test_a_transaction_refused_by_a_busy_sqlite_is_run_again(tmp_path: Path) -> None:
    """Another connection holds SQLite's write lock for a moment; a writer that is refused
    at once (as a read-then-write transaction is) succeeds on a later attempt."""
    import sqlite3
    import threading

    from driftline.orchestration.airflow_runner import retry_while_sqlite_is_busy

    path = tmp_path / "metadata.db"
    sqlite3.connect(path).execute("create table dag_run (id integer)").connection.commit()
    holder = sqlite3.connect(path, check_same_thread=False)
    holder.execute("begin immediate")
    released = threading.Timer(0.5, holder.rollback)
    released.start()
    tries: list[int] = []

    def insert() -> int:
        tries.append(1)
        with sqlite3.connect(path, timeout=0) as connection:
            return connection.execute("insert into dag_run values (1)").rowcount

    assert retry_while_sqlite_is_busy(insert, first_wait_s=0.4) == 1
    released.join()
    assert len(tries) >= 2
    assert sqlite3.connect(path).execute("select count(*) from dag_run").fetchone() == (1,)


def test_other_errors_and_the_last_busy_attempt_are_raised(tmp_path: Path) -> None:
    import sqlite3

    from driftline.orchestration.airflow_runner import retry_while_sqlite_is_busy

    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise ValueError("no such DAG")

    with pytest.raises(ValueError, match="no such DAG"):
        retry_while_sqlite_is_busy(broken, first_wait_s=0)
    assert len(calls) == 1

    def always_busy() -> None:
        calls.append(1)
        raise sqlite3.OperationalError("database is locked")

    with pytest.raises(sqlite3.OperationalError):
        retry_while_sqlite_is_busy(always_busy, attempts=3, first_wait_s=0)
    assert len(calls) == 4
