"""The spark-submit launcher: each step its own Spark application, handing Airflow the
result (or the error) the job itself wrote."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

import pytest

from driftline.orchestration.launch import run_step
from tests.conftest import make_settings, settings_environment
from tests.steps.conftest import HEADER, row

pytestmark = pytest.mark.integration

CONTEXT = {"logical_date": date(2024, 3, 1), "run_id": "scheduled__2024-03-01"}


@pytest.fixture
def launch_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings for a spark-submit launcher on a `local[1]` master, through a real Airflow
    connection given as an environment variable."""
    settings = make_settings(tmp_path)
    environment = {
        **settings_environment(settings),
        "DRIFTLINE_STEP_LAUNCHER": "spark-submit",
        "DRIFTLINE_SPARK_CONN_ID": "driftline_test_spark",
        "AIRFLOW_CONN_DRIFTLINE_TEST_SPARK": '{"conn_type": "spark", "host": "local[1]"}',
        "PYSPARK_PYTHON": sys.executable,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def test_the_task_gets_the_jobs_own_result(launch_env: Path) -> None:
    folder = launch_env / "drop" / "customers" / "2024-03-01"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(HEADER + row(1) + row(2) + "C9,not-a-row\n")

    result = run_step("ingest", CONTEXT, source="customers")

    assert result["step"] == "ingest"
    assert result["run_date"] == "2024-03-01"
    assert result["metrics"]["customers"]["rows_bronze"] == 2
    assert result["metrics"]["customers"]["rows_quarantined"] == 1
    assert "bronze/customers" in result["table_versions"]


def test_a_permanent_error_fails_the_task_with_the_jobs_message(
    launch_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also: with no Airflow connection of that name, spark-submit follows
    DRIFTLINE_SPARK_MASTER."""
    from airflow.sdk.exceptions import AirflowFailException

    missing = launch_env / "no-such-pipeline.yaml"
    monkeypatch.setenv("DRIFTLINE_PIPELINE_FILE", str(missing))
    monkeypatch.setenv("DRIFTLINE_SPARK_CONN_ID", "driftline_no_such_connection")
    monkeypatch.setenv("DRIFTLINE_SPARK_MASTER", "local[1]")
    defined = "AIRFLOW_CONN_DRIFTLINE_NO_SUCH_CONNECTION"
    try:
        with pytest.raises(AirflowFailException, match=f"pipeline file {missing} not found"):
            run_step("conform", CONTEXT)
        assert '"host": "local[1]"' in os.environ[defined]
    finally:
        os.environ.pop(defined, None)
