"""Driftline's ingest of a dropped CSV into bronze vs plain Spark CSV -> Parquet.

One generated CSV of `--rows` rows (eight columns, like the example pipeline's extract,
with a blank, a short and a long line every 250,000 rows, so quarantine has work), the same
SparkSession, the same run. Driftline's side is the whole ingest step: checksum, arrival
check, UTF-8 validation, parsing with malformed-row capture, per-file row numbers, row
accounting, and Delta commits of bronze, quarantine and the manifest; it parses the file
with Arrow on the executors (`driftline.sources.arrow_csv`). The same step with
`DRIFTLINE_CSV_READER=spark` (Spark's CSV reader, what a file Arrow would read differently
gets) is timed beside it and must land the same rows. The plain side reads the file with an
all-string schema and writes Parquet. The floor side is what that contract costs inside
Spark's reader: the plain read with the malformed-row column quarantine needs and a row
number, written as Parquet, with no lineage, no bookkeeping and no Delta commit. Each is
measured `--repeat` times and the best kept; prints `RATIO <driftline/plain>` last (lower
is better).

    .venv/bin/python benchmarks/ingest.py --rows 1000000
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

PIPELINE = Path(__file__).resolve().parents[1] / "driftline.yaml"


def same_rows(arrow_lake: Path, spark_lake: Path) -> None:
    """Either reader lands the same records in bronze and the same malformed lines, with
    the same row numbers and reasons, in quarantine."""
    from deltalake import DeltaTable

    for table, columns in (
        (
            "bronze/customers",
            ["_row_number", "_source_file", "customer_id", "monthly_spend", "plan"],
        ),
        ("quarantine/customers", ["_row_number", "_source_file", "_raw", "_reason"]),
    ):
        key = [("_row_number", "ascending")]
        arrow = DeltaTable(str(arrow_lake / table)).to_pyarrow_table(columns=columns)
        spark = DeltaTable(str(spark_lake / table)).to_pyarrow_table(columns=columns)
        if not arrow.sort_by(key).equals(spark.sort_by(key)):
            raise AssertionError(f"{table}: Arrow's and Spark's readers landed different rows")


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    regions = ["north", "south", "east", "west"]
    plans = ["basic", "plus", "pro"]
    with path.open("w") as handle:
        handle.write(
            "customer_id,snapshot_date,tenure_months,monthly_spend,support_calls,age,region,plan\n"
        )
        for i in range(rows):
            handle.write(
                f"C{i:08d},2024-03-01,{rng.randint(0, 120)},{rng.uniform(5, 300):.2f},"
                f"{rng.randint(0, 9)},{rng.randint(18, 90)},{rng.choice(regions)},"
                f"{rng.choice(plans)}\n"
            )
            if i % 250_000 == 0:  # what quarantine is for: a blank and two malformed lines
                handle.write(f"\nC{i:08d},2024-03-01,short\nC{i:08d},2024-03-01,1,2,3,4,5,6,7\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from driftline.context import RunContext
    from driftline.core.intervals import RunInterval
    from driftline.core.loading import load_pipeline
    from driftline.core.settings import load_settings
    from driftline.core.spark import get_spark
    from driftline.lake import open_lake
    from driftline.sources.readers import CORRUPT, ROW
    from driftline.steps import ingest

    root = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    drop = root / "drop" / "customers" / "2024-03-01"
    drop.mkdir(parents=True)
    csv = drop / "extract.csv"
    write_csv(csv, args.rows)
    size_mb = csv.stat().st_size / 1e6

    settings = load_settings(
        home=root,
        lake_uri=str(root / "lake"),
        drop_root=root / "drop",
        staging_root=root / "staging",
        spark_shuffle_partitions=4,
    )
    spark = get_spark(settings, app_name="bench-ingest")
    pipeline = load_pipeline(PIPELINE)
    source = pipeline.source("customers")
    schema = StructType([StructField(c, StringType()) for c in source.columns])

    floor_schema = StructType([*schema.fields, StructField(CORRUPT, StringType())])
    plain_times: list[float] = []
    floor_times: list[float] = []
    driftline_times: list[float] = []
    spark_reader_times: list[float] = []
    for i in range(args.repeat):
        start = time.perf_counter()
        spark.read.schema(schema).option("header", True).csv(str(csv)).write.mode(
            "overwrite"
        ).parquet(str(root / f"plain{i}"))
        plain_times.append(time.perf_counter() - start)

        start = time.perf_counter()
        spark.read.schema(floor_schema).option("header", True).option("mode", "PERMISSIVE").option(
            "columnNameOfCorruptRecord", CORRUPT
        ).csv(str(csv)).withColumn(ROW, F.monotonically_increasing_id() + 1).write.mode(
            "overwrite"
        ).parquet(str(root / f"floor{i}"))
        floor_times.append(time.perf_counter() - start)

        for reader, times in (("auto", driftline_times), ("spark", spark_reader_times)):
            lake = open_lake(str(root / f"{reader}{i}"), spark, "delta-rs")
            step_settings = settings.model_copy(update={"csv_reader": reader})
            run = RunInterval(date(2024, 3, 1))
            ctx = RunContext(run, f"bench-{i}", step_settings, pipeline, spark, lake)
            start = time.perf_counter()
            result = ingest.run(ctx, source="customers")
            times.append(time.perf_counter() - start)
            assert result.metrics["customers"]["rows_bronze"] == args.rows

    same_rows(root / "auto0", root / "spark0")
    shutil.rmtree(root, ignore_errors=True)
    plain, floor, driftline = min(plain_times), min(floor_times), min(driftline_times)
    by_spark = min(spark_reader_times)
    print(
        f"rows={args.rows} csv_mb={size_mb:.0f} plain_csv_to_parquet_s={plain:.2f} "
        f"contract_floor_s={floor:.2f} driftline_ingest_s={driftline:.2f} "
        f"driftline_spark_reader_s={by_spark:.2f} (all runs: plain {plain_times}, floor "
        f"{floor_times}, driftline {driftline_times}, spark reader {spark_reader_times})"
    )
    print(f"contract floor inside Spark's reader / plain = {floor / plain:.3f}")
    print(f"Driftline with Spark's CSV reader (same rows landed) / plain = {by_spark / plain:.3f}")
    print(f"RATIO {driftline / plain:.3f}")


if __name__ == "__main__":
    main()
