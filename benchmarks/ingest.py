"""Driftline's ingest of a dropped CSV into bronze vs plain Spark CSV -> Parquet.

One generated CSV of `--rows` rows (eight columns, like the example pipeline's extract),
the same SparkSession, the same run. Driftline's side is the whole ingest step: checksum,
arrival check, UTF-8 validation, parsing with malformed-row capture, per-file row
numbers, row accounting, and Delta commits of bronze, quarantine and the manifest. The
plain side reads the same file with an all-string schema and writes Parquet. A third
side shows the floor bronze's contract sets for any implementation: the plain read with
the malformed-row column that quarantine needs and a row number, written as Parquet, with
no lineage, no bookkeeping and no Delta commit. Each is measured `--repeat` times and the
best kept; prints `RATIO <driftline/plain>` last (lower is better).

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from driftline.context import RunContext
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
    plain_times, floor_times, driftline_times = [], [], []
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

        lake = open_lake(str(root / f"lake{i}"), spark, "delta-rs")
        ctx = RunContext(date(2024, 3, 1), f"bench-{i}", settings, pipeline, spark, lake)
        start = time.perf_counter()
        result = ingest.run(ctx, source="customers")
        driftline_times.append(time.perf_counter() - start)
        assert result.metrics["customers"]["rows_bronze"] == args.rows

    shutil.rmtree(root, ignore_errors=True)
    plain, floor, driftline = min(plain_times), min(floor_times), min(driftline_times)
    print(
        f"rows={args.rows} csv_mb={size_mb:.0f} plain_csv_to_parquet_s={plain:.2f} "
        f"contract_floor_s={floor:.2f} driftline_ingest_s={driftline:.2f} (all runs: plain "
        f"{plain_times}, floor {floor_times}, driftline {driftline_times})"
    )
    print(f"contract floor (malformed-row capture + row number) / plain = {floor / plain:.3f}")
    print(f"RATIO {driftline / plain:.3f}")


if __name__ == "__main__":
    main()
