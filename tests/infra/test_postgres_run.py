"""`driftline_nightly` with Airflow's metadata DB and MLflow's backend on a real PostgreSQL.

`.ci/run` starts the machine's cluster and creates empty databases (`infra/postgres.sh`)
and passes the server URL in DRIFTLINE_TEST_POSTGRES. The run is `driftline demo` in a
child process: Airflow reads its database URL once per process, and the rest of the
test session is on SQLite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import demo_in_child

pytestmark = pytest.mark.integration

SERVER = os.environ.get("DRIFTLINE_TEST_POSTGRES", "")


@pytest.fixture(scope="module")
def postgres() -> str:
    if not SERVER:
        pytest.skip("no PostgreSQL: DRIFTLINE_TEST_POSTGRES is unset (.ci/run sets it)")
    import psycopg2

    try:
        psycopg2.connect(f"{SERVER}/driftline_airflow", connect_timeout=5).close()
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL at {SERVER} is not reachable: {error}")
    return SERVER


def test_nightly_on_postgres(postgres: str, tmp_path: Path) -> None:
    import psycopg2

    # psycopg2 named explicitly: SQLAlchemy 2.1's default PostgreSQL driver is psycopg 3.
    server = postgres.replace("postgresql://", "postgresql+psycopg2://")
    completed = demo_in_child(
        tmp_path,
        "--airflow-db-url",
        f"{server}/driftline_airflow",
        "--mlflow-tracking-uri",
        f"{server}/driftline_mlflow",
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    with psycopg2.connect(f"{postgres}/driftline_airflow") as airflow:
        cursor = airflow.cursor()
        cursor.execute(
            "SELECT logical_date::date, state FROM dag_run "
            "WHERE dag_id = 'driftline_nightly' ORDER BY logical_date"
        )
        runs = [(str(day), state) for day, state in cursor.fetchall()]
    assert runs == [
        ("2024-03-01", "success"),
        ("2024-03-02", "success"),
        ("2024-03-03", "success"),
    ]
    with psycopg2.connect(f"{postgres}/driftline_mlflow") as mlflow_db:
        cursor = mlflow_db.cursor()
        cursor.execute("SELECT name, version FROM model_versions ORDER BY version")
        versions = cursor.fetchall()
        cursor.execute("SELECT alias, version FROM registered_model_aliases")
        aliases = dict(cursor.fetchall())
    assert ("driftline-churn", 1) in versions
    assert aliases["champion"] == 1
