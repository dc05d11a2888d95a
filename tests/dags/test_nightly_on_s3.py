"""`driftline_nightly` through real Airflow (`dag.test()`) with the lakehouse on S3 (moto's
server, reached through the standard AWS variables): Spark reads and writes it through
`s3a://`, delta-rs commits to it with conditional writes, reports land there too, and
nothing of the lake is left on the local disk. The delivered files are shared through the
bucket too (`DRIFTLINE_STAGING_URI`), as a cluster whose executors cannot see the driver's
disk needs: Spark parses the bucket's copies."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest

from driftline.core import tables
from driftline.demo.data import DemoData, write_demo_drop
from tests.conftest import PROJECT, make_settings, settings_environment

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def night_on_s3(spark, airflow_db, s3_lake_store, tmp_path_factory):  # type: ignore[no-untyped-def]
    from driftline.lake import open_lake
    from driftline.orchestration.airflow_runner import load_dag, run_for_date

    root = tmp_path_factory.mktemp("nightly-s3")
    lake_uri = f"{s3_lake_store}/{uuid.uuid4().hex}/lakehouse"
    staging_uri = f"{s3_lake_store}/{uuid.uuid4().hex}/staging"
    settings = make_settings(root, lake_uri=lake_uri, staging_uri=staging_uri)
    spec = DemoData(start=date(2024, 3, 1), days=2, drift_day=5, rows_per_day=200)
    write_demo_drop(root / "drop", spec)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings_environment(settings).items():
            patch.setenv(name, value)
        dag = load_dag("driftline_nightly", PROJECT / "dags")
        yield {
            "states": [run_for_date(dag, day) for day in spec.dates],
            "root": root,
            "spec": spec,
            "lake_uri": lake_uri,
            "staging_uri": staging_uri,
            "lake": open_lake(lake_uri, spark, "delta-rs"),
            "through_spark": open_lake(lake_uri, spark, "delta-spark"),
        }


def test_two_nights_succeed_with_nothing_of_the_lake_on_local_disk(night_on_s3) -> None:  # type: ignore[no-untyped-def]
    assert night_on_s3["states"] == ["success", "success"]
    # Neither the default folder nor one named after the URI (`s3:/...` made by a path
    # join) may appear where the run worked.
    for folder in (night_on_s3["root"], Path.cwd(), PROJECT):
        assert not (folder / "lakehouse").exists(), folder
        assert not (folder / "s3:").exists() and not (folder / "s3a:").exists(), folder


def test_every_delivered_row_is_in_bronze_or_quarantine(night_on_s3) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    lake = night_on_s3["lake"]
    for day in night_on_s3["spec"].dates:
        (extract,) = (night_on_s3["root"] / "drop" / "customers" / day.isoformat()).glob("*")
        delivered = len(extract.read_text().splitlines()) - 1  # the header
        landed = sum(
            lake.read(table).where(F.col(tables.RUN_DATE) == F.lit(day)).count()
            for table in (tables.bronze("customers"), tables.quarantine("customers"))
        )
        assert landed == delivered, day


def test_the_delivered_files_were_shared_through_the_bucket_and_cleared(  # type: ignore[no-untyped-def]
    night_on_s3, s3_endpoint
) -> None:
    from pyarrow import fs as pafs

    from driftline.core import object_store

    # Each ingest copied its files under the staging URI, Spark read those copies (S3A's
    # GETs, in the store's own request log), and they were removed once committed.
    requests = s3_endpoint.log.read_text(errors="replace")
    prefix = night_on_s3["staging_uri"].removeprefix("s3://")
    for source in ("customers", "churn_labels"):
        for day in night_on_s3["spec"].dates:
            key = f"/{prefix}/{source}/{day.isoformat()}/unpacked/00000-"
            assert f"PUT {key}" in requests, key
            assert f"GET {key}" in requests, key
    filesystem, root = object_store.filesystem(night_on_s3["staging_uri"])
    found = filesystem.get_file_info(pafs.FileSelector(root, recursive=True))
    assert [i.path for i in found if i.type == pafs.FileType.File and i.size] == []


def test_predictions_read_the_same_through_either_backend(night_on_s3) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    predictions = night_on_s3["lake"].read(tables.PREDICTIONS)
    # The first night has no champion yet; the second scores its 200 customers.
    assert predictions.count() == 200
    assert predictions.where(F.col("model_version").isNull()).count() == 0
    columns = predictions.columns
    rows = sorted(tuple(r) for r in predictions.select(*columns).collect())
    other = night_on_s3["through_spark"].read(tables.PREDICTIONS).select(*columns)
    assert sorted(tuple(r) for r in other.collect()) == rows
    assert night_on_s3["through_spark"].version(tables.PREDICTIONS) == night_on_s3["lake"].version(
        tables.PREDICTIONS
    )


def test_each_night_writes_its_report_to_the_bucket(night_on_s3) -> None:  # type: ignore[no-untyped-def]
    from driftline.monitoring.report import read_report

    for day in night_on_s3["spec"].dates:
        page = read_report(night_on_s3["lake_uri"], day)
        assert page is not None, day
        assert b"Drift per feature" in page
