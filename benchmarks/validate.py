"""A 12-expectation GE suite on Spark vs one Spark aggregation computing the same numbers.

The rows (2M and 4M by default) are one date's partition of a Delta table written through
`driftline.lake`, read the way the validate step reads bronze; both sides scan that same
read, in the same session and run, each timed `--repeat` times with the best kept.
Driftline's side is `driftline.quality.validate`, as the validate step calls it: GE on
Spark with the one-pass engine and the partition's row count from the Delta log. The line
above the ratio also times it without that count (GE then counts in a pass of its own).
GE's own work per validation (building the metric graph, PySpark column calls) is a
fixed cost, so the ratio falls as the table grows. It is measured in the same run as the
floor: both sides on a 1,000-row partition, where the scan costs next to nothing; the
difference is what any GE suite pays per validation, and the line for each size shows the
best ratio a GE-based gate could reach there. One line per size; prints
`RATIO <suite/one-pass>` for the smallest size asked last (goal: <= 1.3 at 2M rows).

    .venv/bin/python benchmarks/validate.py --rows 2000000 4000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

SUITE = {
    "name": "bench",
    "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "region"}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "spend", "min_value": 0, "max_value": 1000},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "calls", "min_value": 0, "max_value": 50},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "region", "value_set": ["north", "south", "east", "west"]},
        },
        {
            "type": "expect_column_values_to_match_regex",
            "kwargs": {"column": "code", "regex": "^C[0-9]+$"},
        },
        {
            "type": "expect_column_mean_to_be_between",
            "kwargs": {"column": "spend", "min_value": 0, "max_value": 1000},
        },
        {
            "type": "expect_column_stdev_to_be_between",
            "kwargs": {"column": "spend", "min_value": 0, "max_value": 1000},
        },
        {
            "type": "expect_column_max_to_be_between",
            "kwargs": {"column": "calls", "min_value": 0, "max_value": 50},
        },
        {
            "type": "expect_column_min_to_be_between",
            "kwargs": {"column": "calls", "min_value": 0, "max_value": 50},
        },
        {
            "type": "expect_column_proportion_of_non_null_values_to_be_between",
            "kwargs": {"column": "spend", "min_value": 0.9},
        },
    ],
}


def one_pass(df):  # type: ignore[no-untyped-def]
    """The same statistics the suite asks for, in a single Spark aggregation."""
    from pyspark.sql import functions as F

    spend, calls, region = F.col("spend"), F.col("calls"), F.col("region")
    return df.agg(
        F.count(F.lit(1)),
        F.sum(F.col("id").isNull().cast("long")),
        F.sum(region.isNull().cast("long")),
        F.sum(((spend < 0) | (spend > 1000)).cast("long")),
        F.sum(((calls < 0) | (calls > 50)).cast("long")),
        F.sum((~region.isin("north", "south", "east", "west")).cast("long")),
        F.sum((~F.col("code").rlike("^C[0-9]+$")).cast("long")),
        F.mean(spend),
        F.stddev(spend),
        F.max(calls),
        F.min(calls),
        F.count(spend),
    ).collect()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 4_000_000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    import logging

    from driftline.core.settings import load_settings
    from driftline.core.spark import get_spark

    logging.disable(logging.INFO)
    spark = get_spark(load_settings(spark_shuffle_partitions=4), app_name="bench-validate")
    small_suite, small_pass = measure(spark, 1_000, args.repeat)
    fixed = small_suite - small_pass
    print(f"GE's fixed cost per validation (1,000 rows): {fixed:.3f} s")
    ratios = {}
    for rows in sorted(args.rows):
        best_suite, best_pass = measure(spark, rows, args.repeat)
        ratios[rows] = best_suite / best_pass
        print(f"  floor for a GE suite at {rows:,} rows: {(best_pass + fixed) / best_pass:.3f}")
    print(f"RATIO {ratios[min(ratios)]:.3f}")


def measure(spark, rows: int, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Write `rows` rows to a Delta partition, time both sides on it, print a line and
    return the best seconds of (the suite, the one pass)."""
    from pyspark.sql import functions as F

    from driftline.lake import open_lake
    from driftline.quality import load_suite, validate

    root = Path(tempfile.mkdtemp(prefix="bench-validate-"))
    lake = open_lake(str(root / "lake"), spark, "delta-rs")
    regions = F.array(*[F.lit(r) for r in ("north", "south", "east", "west")])
    lake.replace_partition(
        "bronze/bench",
        spark.range(rows).select(
            F.col("id"),
            (F.rand(3) * 500).alias("spend"),
            (F.rand(4) * 10).cast("int").alias("calls"),
            F.element_at(regions, (F.col("id") % 4 + 1).cast("int")).alias("region"),
            F.concat(F.lit("C"), F.col("id").cast("string")).alias("code"),
            F.lit("2024-03-01").cast("date").alias("_run_date"),
        ),
        {"_run_date": "2024-03-01"},
    )
    folder = root / "expectations"
    folder.mkdir()
    (folder / "bench.json").write_text(json.dumps(SUITE))
    suite = load_suite(folder, "bench")

    def batch():  # type: ignore[no-untyped-def]
        return lake.read("bronze/bench").where(F.col("_run_date") == F.lit("2024-03-01"))

    suite_times, counted_times, pass_times = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        known = lake.partition_rows("bronze/bench", {"_run_date": "2024-03-01"})
        outcomes = validate(batch(), suite, "all", row_count=known)
        suite_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        validate(batch(), suite, "all")
        counted_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        one_pass(batch())
        pass_times.append(time.perf_counter() - start)
    assert known == rows and all(o.success for o in outcomes), outcomes
    shutil.rmtree(root, ignore_errors=True)
    best_suite, best_counted, best_pass = min(suite_times), min(counted_times), min(pass_times)
    print(
        f"rows={rows} expectations={len(SUITE['expectations'])} ge_suite_s={best_suite:.2f} "
        f"one_pass_s={best_pass:.2f} suite/one-pass={best_suite / best_pass:.3f} "
        f"(GE counting the rows itself: {best_counted / best_pass:.3f})"
    )
    return best_suite, best_pass


if __name__ == "__main__":
    main()
