"""Row numbers per file survive Spark splitting a file into several blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.core.transforms import with_file_row_numbers

pytestmark = pytest.mark.integration


def test_rows_are_numbered_per_file_in_order_across_splits(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name, rows in (("a.txt", 20_000), ("b.txt", 7)):
        (tmp_path / name).write_text("".join(f"{name}:{i}\n" for i in range(1, rows + 1)))
    spark.conf.set("spark.sql.files.maxPartitionBytes", "16k")  # many blocks per file
    try:
        lines = spark.read.text(str(tmp_path))
        assert lines.rdd.getNumPartitions() > 4
        frame, uris = with_file_row_numbers(lines, "n", "file")
        numbered = frame.collect()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert len(numbered) == 20_007
    for row in numbered:
        name, i = row["value"].split(":")
        assert uris[row["file"]].endswith(name)
        assert row["n"] == int(i)
