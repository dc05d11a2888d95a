"""A 12-expectation GE suite on Spark vs one Spark aggregation computing the same numbers.

Same cached DataFrame (default 2M rows), same session, same run; each side timed
`--repeat` times and the best kept. Prints `RATIO <suite/one-pass>` last (goal: <= 1.5).

    .venv/bin/python benchmarks/validate.py --rows 2000000
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import logging

    from pyspark.sql import functions as F

    from driftline.config import load_settings
    from driftline.quality import load_suite, validate
    from driftline.spark import get_spark

    logging.disable(logging.INFO)
    spark = get_spark(load_settings(spark_shuffle_partitions=4), app_name="bench-validate")
    regions = F.array(*[F.lit(r) for r in ("north", "south", "east", "west")])
    df = (
        spark.range(args.rows)
        .select(
            F.col("id"),
            (F.rand(3) * 500).alias("spend"),
            (F.rand(4) * 10).cast("int").alias("calls"),
            F.element_at(regions, (F.col("id") % 4 + 1).cast("int")).alias("region"),
            F.concat(F.lit("C"), F.col("id").cast("string")).alias("code"),
        )
        .cache()
    )
    df.count()
    folder = Path(tempfile.mkdtemp(prefix="bench-suite-"))
    (folder / "bench.json").write_text(json.dumps(SUITE))
    suite = load_suite(folder, "bench")

    suite_times, pass_times = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        validate(df, suite, "all")
        suite_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        one_pass(df)
        pass_times.append(time.perf_counter() - start)
    best_suite, best_pass = min(suite_times), min(pass_times)
    print(
        f"rows={args.rows} expectations={len(SUITE['expectations'])} "
        f"ge_suite_s={best_suite:.2f} one_pass_s={best_pass:.2f}"
    )
    print(f"RATIO {best_suite / best_pass:.3f}")


if __name__ == "__main__":
    main()
