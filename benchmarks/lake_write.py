"""Driftline's Delta write (Spark Parquet + delta-rs commit) vs a plain Spark Parquet write.

Same generated rows, same session, same run; each measured `--repeat` times, best kept.
Prints `RATIO <driftline/plain>` last (lower is better; the commit's extra cost is the
footer reads and one Delta transaction).

    .venv/bin/python benchmarks/lake_write.py --rows 2000000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from pyspark.sql import functions as F

    from driftline.core.settings import load_settings
    from driftline.core.spark import get_spark
    from driftline.lake import open_lake

    spark = get_spark(load_settings(spark_shuffle_partitions=4), app_name="bench-lake-write")
    df = (
        spark.range(args.rows)
        .select(
            F.col("id"),
            (F.rand(1) * 1000).alias("x"),
            F.concat(F.lit("k"), (F.col("id") % 997).cast("string")).alias("k"),
            F.lit("2024-03-01").cast("date").alias("_run_date"),
        )
        .cache()
    )
    df.count()
    root = Path(tempfile.mkdtemp(prefix="bench-lake-"))
    lake = open_lake(str(root / "lake"), spark, "delta-rs")
    plain_times, driftline_times = [], []
    for i in range(args.repeat):
        start = time.perf_counter()
        df.write.mode("overwrite").partitionBy("_run_date").parquet(str(root / f"plain{i}"))
        plain_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        lake.replace_partition("t", df, {"_run_date": "2024-03-01"})
        driftline_times.append(time.perf_counter() - start)
    shutil.rmtree(root, ignore_errors=True)
    plain, driftline = min(plain_times), min(driftline_times)
    print(f"rows={args.rows} plain_parquet_s={plain:.2f} driftline_delta_s={driftline:.2f}")
    print(f"RATIO {driftline / plain:.3f}")


if __name__ == "__main__":
    main()
