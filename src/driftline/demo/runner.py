"""`driftline demo`: synthetic drop files, then `driftline_nightly` per day through Airflow."""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftline.core import object_store
from driftline.core.errors import DriftlineError
from driftline.demo.data import DemoData, write_demo_drop

if TYPE_CHECKING:
    from driftline.orchestration.nights import NightReport

logger = logging.getLogger(__name__)


def prepare_environment(
    workdir: Path,
    project: Path,
    airflow_db_url: str | None = None,
    mlflow_tracking_uri: str | None = None,
    lake_uri: str | None = None,
) -> dict[str, str]:
    """Environment for a demo run: every path under `workdir`, config from `project`;
    Airflow's metadata and MLflow's backend in SQLite files there, and the lakehouse in a
    folder there, unless URLs are given (e.g. PostgreSQL, as the stack runs them, or a
    lake on `s3://`). `driftline demo` and `ui` run in it, and `driftline --workdir`
    points the other commands at it."""
    from driftline.orchestration.airflow_runner import airflow_environment

    workdir = workdir.resolve()
    lake_uri = lake_uri or remembered_lake_uri(workdir)
    environment = {
        "DRIFTLINE_HOME": str(project.resolve()),
        "DRIFTLINE_LAKE_URI": lake_uri or str(workdir / "lakehouse"),
        "DRIFTLINE_DROP_ROOT": str(workdir / "drop"),
        "DRIFTLINE_STAGING_ROOT": str(workdir / "staging"),
        "DRIFTLINE_MLFLOW_TRACKING_URI": mlflow_tracking_uri
        or f"sqlite:///{workdir / 'mlflow.db'}",
        "DRIFTLINE_MLFLOW_ARTIFACT_ROOT": (workdir / "mlartifacts").as_uri(),
        **airflow_environment(workdir / "airflow", project / "dags", airflow_db_url),
    }
    os.environ.update(environment)
    return environment


# A demo run with `--lake-uri` leaves its lake's URI here, so that `driftline --workdir`
# points later commands (audit, report, lake) at the same lake.
LAKE_URI_FILE = "lake-uri"


def remembered_lake_uri(workdir: Path) -> str | None:
    marker = workdir / LAKE_URI_FILE
    if not marker.is_file():
        return None
    return marker.read_text().strip() or None


def remember_lake_uri(workdir: Path, lake_uri: str | None) -> None:
    marker = workdir / LAKE_URI_FILE
    if lake_uri:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(lake_uri + "\n")
    else:
        marker.unlink(missing_ok=True)


def run_demo(
    days: int,
    workdir: Path,
    project: Path,
    start: date = date(2024, 3, 1),
    rows_per_day: int = 400,
    on_day: Any = None,
    airflow_db_url: str | None = None,
    mlflow_tracking_uri: str | None = None,
    lake_uri: str | None = None,
) -> list[NightReport]:
    from driftline.orchestration.airflow_runner import migrate_metadata_db
    from driftline.orchestration.nights import run_nights

    if not (project / "driftline.yaml").is_file():
        raise DriftlineError(
            f"{project} has no driftline.yaml: run the demo from the Driftline checkout "
            "or pass --project"
        )
    # A malformed store endpoint fails here, not inside the first task that reaches it.
    object_store.endpoint()
    remember_lake_uri(workdir.resolve(), lake_uri)
    environment = prepare_environment(
        workdir, project, airflow_db_url, mlflow_tracking_uri, lake_uri
    )
    spec = DemoData(start=start, days=days, drift_day=max(2, days // 2), rows_per_day=rows_per_day)
    write_demo_drop(Path(environment["DRIFTLINE_DROP_ROOT"]), spec)
    migrate_metadata_db(environment)
    return run_nights(spec.dates, project / "dags", on_day)
