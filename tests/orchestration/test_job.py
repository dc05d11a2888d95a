"""The one job entry point through a real `spark-submit` (its own JVM), from the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from driftline.orchestration.launch import job_file
from tests.conftest import make_settings, settings_environment
from tests.steps.conftest import HEADER, row

pytestmark = pytest.mark.integration


def test_ingest_job_runs_under_spark_submit(tmp_path: Path) -> None:
    from deltalake import DeltaTable

    settings = make_settings(tmp_path)
    folder = tmp_path / "drop" / "customers" / "2024-03-01"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(HEADER + row(1) + row(2))
    spark_submit = Path(sys.executable).parent / "spark-submit"
    completed = subprocess.run(
        [
            str(spark_submit),
            "--master",
            "local[1]",
            "--conf",
            "spark.ui.enabled=false",
            str(job_file(settings)),
            "ingest",
            "--run-date",
            "2024-03-01",
            "--source",
            "customers",
            "--result-file",
            str(tmp_path / "result.json"),
        ],
        env={**os.environ, **settings_environment(settings), "PYSPARK_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["step"] == "ingest"
    assert result["metrics"]["customers"]["rows_bronze"] == 2
    bronze = DeltaTable(f"{settings.resolved_lake_uri}/bronze/customers")
    assert bronze.to_pyarrow_table().num_rows == 2


def test_job_reports_a_bad_date_clearly(tmp_path: Path) -> None:
    from driftline.orchestration.job import parse_args

    with pytest.raises(SystemExit):
        parse_args(["ingest", "--source", "customers"])
