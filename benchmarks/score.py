"""Driftline's Spark scoring vs raw single-process XGBoost doing the same work, and vs
MLflow's spark_udf.

Same booster, same 20-feature rows, same run; throughput in rows/s, each side timed
`--repeat` times, best kept. Two pairs of equal work:

- with contributions: Driftline's scoring step as the nightly runs it (scores plus each
  row's top-3 approximate (Saabas) contributions, picked by magnitude) against raw XGBoost
  on all cores computing exactly that in one process: `inplace_predict`, `pred_contribs`
  with `approx_contribs`, and the same top-3 pick;
- scores only: Driftline with `top_contributions: 0` against raw `inplace_predict`, and
  against MLflow's `spark_udf` (scores only is all it computes).

A pass-through `mapInArrow` with no model shows what the Spark <-> Python round trip alone
allows here; the round trip and then raw prediction, costs that add up on the same cores,
is the floor for scores only. Last line `RATIO <driftline/raw>` for the
with-contributions pair (higher is better; goals at 4M rows: >= 0.8 with contributions,
scores-only >= 0.8 of raw and >= 2x spark_udf).

    .venv/bin/python benchmarks/score.py --rows 4000000
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

FEATURES = 20


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
    import xgboost as xgb
    from mlflow.models import infer_signature
    from pyspark.sql import functions as F

    from driftline.core.settings import load_settings
    from driftline.core.spark import get_spark
    from driftline.data.features import FeatureEncoding
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
    df = (
        spark.range(args.rows)
        .select(F.col("id"), *[F.rand(i).cast("double").alias(n) for i, n in enumerate(names)])
        .cache()
    )
    df.count()
    array = np.asarray(df.select(*names).toPandas().to_numpy(), dtype=np.float32)

    def raw() -> None:
        booster.inplace_predict(array)

    def raw_with_contributions() -> None:
        booster.inplace_predict(array)
        top_of(contributions(booster, array, names, approx=True)[:, :-1], names, 3)

    def driftline(top_k: int) -> None:
        score_frame(df, booster, encoding, keep=["id"], top_k=top_k).write.format("noop").mode(
            "overwrite"
        ).save()

    folder = tempfile.mkdtemp(prefix="bench-score-")
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
        ceiling any Python scoring in Spark has on this machine."""

        def passthrough(batches):  # type: ignore[no-untyped-def]
            import pyarrow as pa

            for batch in batches:
                yield pa.RecordBatch.from_arrays(
                    [batch.column("id"), pa.array(np.zeros(batch.num_rows))], names=["id", "score"]
                )

        df.select("id", *names).mapInArrow(passthrough, "id long, score double").write.format(
            "noop"
        ).mode("overwrite").save()

    def spark_udf() -> None:
        df.select("id", udf(*names).alias("score")).write.format("noop").mode("overwrite").save()

    rows = args.rows
    raw_rate = rows / best(raw, args.repeat)
    raw_contrib_rate = rows / best(raw_with_contributions, args.repeat)
    scores_rate = rows / best(lambda: driftline(0), args.repeat)
    contrib_rate = rows / best(lambda: driftline(3), args.repeat)
    udf_rate = rows / best(spark_udf, args.repeat)
    floor_rate = rows / best(transport_only, args.repeat)
    print(
        f"rows={rows} rows/s: raw_scores={raw_rate:,.0f} "
        f"raw_with_top3_contributions={raw_contrib_rate:,.0f} "
        f"driftline_scores_only={scores_rate:,.0f} "
        f"driftline_with_top3_contributions={contrib_rate:,.0f} spark_udf={udf_rate:,.0f} "
        f"transport_only={floor_rate:,.0f}"
    )
    print(f"transport only (no model) / raw scores = {floor_rate / raw_rate:.3f}")
    # Inside Spark each core carries its rows through the round trip and then predicts
    # them: the two costs add up per row, they do not overlap.
    both = 1 / (1 / floor_rate + 1 / raw_rate)
    print(
        f"round trip then raw predict on the same cores: {both:,.0f} rows/s, "
        f"{both / raw_rate:.3f} of raw (the floor for scores only in Spark)"
    )
    print(f"SCORES_ONLY_RATIO <driftline/raw> {scores_rate / raw_rate:.3f}")
    print(f"SPARK_UDF_RATIO <driftline scores-only/spark_udf> {scores_rate / udf_rate:.3f}")
    print(f"RATIO {contrib_rate / raw_contrib_rate:.3f}")


if __name__ == "__main__":
    main()
