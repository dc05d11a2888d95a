"""`driftline demo` on the delta-spark backend (Delta's own Spark jars, resolved from the
cache `infra/setup.sh` fills), and its tables read back through delta-rs as delta-spark
reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.core import tables
from tests.conftest import demo_in_child

pytestmark = pytest.mark.integration


def test_the_demo_runs_on_delta_spark_and_delta_rs_reads_what_it_wrote(
    spark, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql.types import MapType

    from driftline.lake import open_lake

    completed = demo_in_child(
        tmp_path / "demo", environment={"DRIFTLINE_LAKE_BACKEND": "delta-spark"}
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.stdout.count("success") >= 3

    root = str(tmp_path / "demo" / "lakehouse")
    written, other = open_lake(root, spark, "delta-spark"), open_lake(root, spark, "delta-rs")
    history = written.history(tables.PREDICTIONS)
    assert all("delta-rs" not in str(entry.get("engineInfo")) for entry in history)
    for table in (
        tables.bronze("customers"),
        tables.INGEST_MANIFEST,
        tables.VALIDATION_RESULTS,
        tables.FEATURES,
        tables.PREDICTIONS,
        tables.MONITORING_METRICS,
        tables.DECISIONS,
    ):
        assert other.version(table) == written.version(table), table
        mine, theirs = written.read(table), other.read(table)
        comparable = [f.name for f in mine.schema.fields if not isinstance(f.dataType, MapType)]
        mine, theirs = mine.select(*comparable), theirs.select(*comparable)
        assert mine.count() == theirs.count() > 0, table
        assert mine.exceptAll(theirs).count() == 0 == theirs.exceptAll(mine).count(), table
