"""The embedded Airflow's settings."""

from __future__ import annotations

from pathlib import Path

import pytest


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
def test_a_backfill_parses_an_unknown_dag_and_refuses_a_paused_one(airflow_db) -> None:  # type: ignore[no-untyped-def]
    """What `driftline backfill` checks before asking Airflow: a DAG the metadata DB does not
    know yet is parsed (as the dag-processor would), and a paused one is refused with what
    to do, rather than leaving its runs queued without a word."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    from driftline.core.errors import DriftlineError
    from driftline.orchestration.airflow_runner import ready_for_backfill

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
