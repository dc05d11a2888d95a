"""Shared fixtures: one SparkSession for the whole run, and isolated Driftline settings.

Spark's JVM starts once (session scope); every test gets its own lakehouse folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftline.core.settings import Settings, load_settings

PROJECT = Path(__file__).resolve().parents[1]

# Real servers (SFTP, S3, PostgreSQL) for the source and file-drop tests.
pytest_plugins = ["tests.servers"]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

# Airflow reads its configuration when first imported, so its home is fixed before any test
# module can import it: a throwaway folder with a SQLite metadata DB.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="driftline-airflow-"))
from driftline.orchestration.airflow_runner import airflow_environment  # noqa: E402

AIRFLOW_ENV = airflow_environment(_AIRFLOW_HOME, PROJECT / "dags")
os.environ.update(AIRFLOW_ENV)


# The integration modules that take minutes, longest first (CI's durations on 2 cores).
# infra/test.sh runs the integration tests on two xdist workers, a module to a worker, in
# collection order: starting these first lets both workers finish at about the same time.
LONGEST_FIRST = (
    "tests/infra/test_spark_cluster.py",
    "tests/infra/test_faults.py",
    "tests/lake/test_contract.py",
    "tests/demo/test_elec2_replay.py",
    "tests/infra/test_airflow_ui.py",
    "tests/dags/test_nightly.py",
    "tests/demo/test_elec2_demand_replay.py",
    "tests/infra/test_postgres_run.py",
    "tests/dags/test_many_pipelines.py",
    "tests/model/test_lifecycle.py",
    "tests/dags/test_nightly_on_s3.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: every other module keeps its place and its order


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory, s3_lake_store: str) -> Iterator[object]:
    from driftline.core import object_store
    from driftline.core.spark import get_spark

    warehouse = tmp_path_factory.mktemp("spark")
    os.chdir(warehouse)  # keep derby/metastore litter out of the checkout
    # Delta's jars and extension are on the shared session, so the lake contract suite runs
    # on both backends; tests choose their backend explicitly (make_settings: delta-rs).
    # Hadoop's S3A connector is on it too, pointed (by the AWS variables) at the moto
    # server, so the suite also runs with the lake on an object store.
    session = get_spark(
        load_settings(
            spark_master="local[2]",
            spark_shuffle_partitions=2,
            spark_ui=False,
            lake_backend="delta-spark",
            spark_packages=object_store.s3a_package(),
        ),
        app_name="driftline-tests",
    )
    yield session
    session.stop()


def make_settings(root: Path, **overrides: object) -> Settings:
    """Settings whose lakehouse, drop folder and MLflow store all live under `root`."""
    values: dict[str, object] = {
        "home": PROJECT,
        "lake_uri": str(root / "lakehouse"),
        "drop_root": root / "drop",
        "staging_root": root / "staging",
        "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
        "mlflow_artifact_root": (root / "mlartifacts").as_uri(),
        "spark_shuffle_partitions": 2,
        "device": "cpu",
        "lake_backend": "delta-rs",
    }
    values.update(overrides)
    return load_settings(**values)


def settings_environment(settings: Settings) -> dict[str, str]:
    """The same settings as DRIFTLINE_* variables, for code that reads the environment."""
    environment = {
        "DRIFTLINE_HOME": str(settings.home),
        "DRIFTLINE_LAKE_URI": settings.resolved_lake_uri,
        "DRIFTLINE_DROP_ROOT": str(settings.resolved_drop_root),
        "DRIFTLINE_STAGING_ROOT": str(settings.resolved_staging_root),
        "DRIFTLINE_MLFLOW_TRACKING_URI": settings.resolved_mlflow_tracking_uri,
        "DRIFTLINE_MLFLOW_ARTIFACT_ROOT": settings.resolved_mlflow_artifact_root,
        "DRIFTLINE_SPARK_SHUFFLE_PARTITIONS": str(settings.spark_shuffle_partitions),
        "DRIFTLINE_DEVICE": settings.device,
        "DRIFTLINE_LAKE_BACKEND": settings.lake_backend,
    }
    if settings.pipeline_file is not None:
        environment["DRIFTLINE_PIPELINE_FILE"] = str(settings.pipeline_file)
    if settings.staging_uri is not None:
        environment["DRIFTLINE_STAGING_URI"] = settings.staging_uri
    return environment


@pytest.fixture(scope="session")
def airflow_db() -> dict[str, str]:
    """A migrated Airflow metadata DB (once per test run)."""
    from driftline.orchestration.airflow_runner import migrate_metadata_db

    migrate_metadata_db(AIRFLOW_ENV)
    return AIRFLOW_ENV


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def cli_in_child(
    *args: str, environment: dict[str, str] | None = None, timeout: int = 1200
) -> subprocess.CompletedProcess[str]:
    """`driftline ARGS...` in a child process (its own Airflow settings and JVM), on CPU,
    with this environment's scripts (`spark-submit`) first on its PATH, as an activated
    virtualenv has them."""
    scripts = str(Path(sys.executable).parent)
    path = os.pathsep.join([scripts, os.environ.get("PATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "driftline.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PATH": path, "DRIFTLINE_DEVICE": "cpu", **(environment or {})},
    )


def demo_in_child(
    workdir: Path, *options: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`driftline demo --days 3` in a child process."""
    return cli_in_child(
        "demo",
        "--days",
        "3",
        "--rows-per-day",
        "150",
        "--workdir",
        str(workdir),
        "--project",
        str(PROJECT),
        *options,
        environment=environment,
    )


def data_files_on_disk(uri: str) -> set[str]:
    """Parquet files in the table's folders (a local folder or an `s3://` prefix); hidden
    ones (`_delta_log`, `_staging`) aside, partition folders (`_run_date=...`) not."""
    from pyarrow import fs as pafs

    from driftline.core import object_store

    filesystem, root = object_store.filesystem(uri)

    def hidden(folder: str) -> bool:
        return folder.startswith(("_", ".")) and "=" not in folder

    relative = (
        info.path[len(root) + 1 :]
        for info in filesystem.get_file_info(pafs.FileSelector(root, recursive=True))
        if info.type == pafs.FileType.File and info.path.endswith(".parquet")
    )
    return {path for path in relative if not any(hidden(p) for p in path.split("/")[:-1])}
