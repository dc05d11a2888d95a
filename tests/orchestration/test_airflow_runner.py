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
