"""Driftline's scoring of a features partition vs raw single-process XGBoost doing the same
work, and vs MLflow's spark_udf.

The rows are a Delta table of 20 features in `FILES` files, as the features step leaves a
night's partition; the same booster scores them on every side, each timed `--repeat`
times, best kept, throughput in rows/s. Driftline's side is the nightly's: the files
listed from the Delta log (`Lake.data_files`), read by Arrow inside Spark tasks, scored,
the results handed back to Spark (`score_frame` given the files). Pairs of equal work:

- with contributions: scores plus each row's top-3 approximate (Saabas) contributions,
  picked by magnitude, against raw XGBoost on all cores computing exactly that in one
  process on a matrix already in memory: `inplace_predict`, `pred_contribs` with
  `approx_contribs`, and the same top-3 pick;
- scores only (`top_contributions: 0`): against raw `inplace_predict` on the matrix in
  memory, against raw reading the same files with Arrow first (the floor for reading and
  scoring them), and against MLflow's `spark_udf` reading the table through Spark.

Also printed: the same scoring fed by Spark's reader (`score_frame`, the path a table
with deletion vectors takes) and a `mapInArrow` round trip with no model (what any
Python scoring of rows that pass through the JVM pays). Last line `RATIO <driftline/raw>`
for the with-contributions pair (higher is better; goals at 4M rows: >= 0.8 with
contributions, scores-only >= 0.8 of raw and >= 2x spark_udf).

    .venv/bin/python benchmarks/score.py --rows 4000000
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

FEATURES = 20
# Files in the features partition: as many as Spark's shuffle partitions here write.
FILES = 4


def best(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

    import mlflow
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq
    import xgboost as xgb
    from mlflow.models import infer_signature
    from pyspark.sql import functions as F

    from driftline.core.settings import load_settings
    from driftline.core.spark import get_spark
    from driftline.data.features import FeatureEncoding
    from driftline.lake import open_lake
    from driftline.model.scoring import contributions, score_frame, top_of

    names = [f"f{i}" for i in range(FEATURES)]
    rng = np.random.default_rng(0)
    train_x = rng.normal(size=(50_000, FEATURES)).astype(np.float32)
    train_y = (train_x[:, 0] + train_x[:, 1] > 0).astype(np.float32)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 6, "nthread": 2},
        xgb.DMatrix(train_x, label=train_y, feature_names=names),
        100,
    )
    encoding = FeatureEncoding(names=names, categorical={})

    spark = get_spark(
        load_settings(spark_shuffle_partitions=4, spark_driver_memory="8g"), app_name="bench-score"
    )
    folder = tempfile.mkdtemp(prefix="bench-score-")
    # The features partition a night scores: a Delta table, as the features step leaves it.
    lake = open_lake(f"{folder}/lake", spark, "delta-rs")
    partition = {"_run_date": "2024-01-01"}
    lake.replace_partition(
        "features",
        spark.range(args.rows)
        .select(
            F.col("id"),
            *[F.rand(i).cast("double").alias(n) for i, n in enumerate(names)],
            F.lit("2024-01-01").cast("date").alias("_run_date"),
        )
        .repartition(FILES),
        partition,
    )
    table = lake.read("features")
    files = lake.data_files("features", partition)
    assert files is not None
    cached = table.select("id", *names).cache()
    cached.count()
    array = encoding.matrix(pq.read_table(files, columns=names))

    def raw() -> None:
        booster.inplace_predict(array)

    def raw_with_contributions() -> None:
        booster.inplace_predict(array)
        top_of(contributions(booster, array, names, approx=True)[:, :-1], names, 3)

    def raw_from_files() -> None:
        rows = pq.read_table(files, columns=["id", *names])
        booster.inplace_predict(encoding.matrix(rows))

    def driftline(top_k: int) -> None:
        score_frame(table, booster, encoding, keep=["id"], top_k=top_k, files=files).write.format(
            "noop"
        ).mode("overwrite").save()

    def through_spark(df, top_k: int) -> None:  # type: ignore[no-untyped-def]
        score_frame(df, booster, encoding, keep=["id"], top_k=top_k).write.format("noop").mode(
            "overwrite"
        ).save()

    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    with mlflow.start_run():
        example = pd.DataFrame(train_x[:5].astype(np.float64), columns=names)
        info = mlflow.xgboost.log_model(
            booster,
            name="model",
            input_example=example,
            signature=infer_signature(example, booster.inplace_predict(train_x[:5])),
        )
    udf = mlflow.pyfunc.spark_udf(spark, info.model_uri, result_type="double")

    def transport_only() -> None:
        """The same Spark -> Arrow -> Python -> Spark round trip with no model at all: the
        ceiling any Python scoring of rows Spark holds has on this machine."""

        def passthrough(batches):  # type: ignore[no-untyped-def]
            import pyarrow as pa

            for batch in batches:
                yield pa.RecordBatch.from_arrays(
                    [batch.column("id"), pa.array(np.zeros(batch.num_rows))], names=["id", "score"]
                )

        cached.select("id", *names).mapInArrow(passthrough, "id long, score double").write.format(
            "noop"
        ).mode("overwrite").save()

    def spark_udf() -> None:
        table.select("id", udf(*names).alias("score")).write.format("noop").mode("overwrite").save()

    rows = args.rows
    rate = {
        "raw_scores": rows / best(raw, args.repeat),
        "raw_scores_from_files": rows / best(raw_from_files, args.repeat),
        "raw_with_top3_contributions": rows / best(raw_with_contributions, args.repeat),
        "driftline_scores_only": rows / best(lambda: driftline(0), args.repeat),
        "driftline_with_top3_contributions": rows / best(lambda: driftline(3), args.repeat),
        "through_spark_reader_scores_only": rows
        / best(lambda: through_spark(table, 0), args.repeat),
        "through_spark_cached_scores_only": rows
        / best(lambda: through_spark(cached, 0), args.repeat),
        "spark_udf": rows / best(spark_udf, args.repeat),
        "transport_only": rows / best(transport_only, args.repeat),
    }
    print(
        f"rows={rows} files={len(files)} rows/s: "
        + " ".join(f"{k}={v:,.0f}" for k, v in rate.items())
    )
    print(
        "through Spark's reader / Arrow in the tasks = "
        f"{rate['through_spark_reader_scores_only'] / rate['driftline_scores_only']:.3f}"
    )
    r = rate
    print(f"transport only (no model) / raw scores = {r['transport_only'] / r['raw_scores']:.3f}")
    print(
        "scores only against raw reading the same files = "
        f"{rate['driftline_scores_only'] / rate['raw_scores_from_files']:.3f}"
    )
    print(f"SCORES_ONLY_RATIO <driftline/raw> {r['driftline_scores_only'] / r['raw_scores']:.3f}")
    print(
        "SPARK_UDF_RATIO <driftline scores-only/spark_udf> "
        f"{rate['driftline_scores_only'] / rate['spark_udf']:.3f}"
    )
    print(f"RATIO {r['driftline_with_top3_contributions'] / r['raw_with_top3_contributions']:.3f}")


if __name__ == "__main__":
    main()
