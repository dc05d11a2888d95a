"""Scoring a Spark DataFrame with an XGBoost booster, one Arrow batch at a time.

The booster travels to executors as raw bytes in a broadcast; each Python worker rebuilds
it once and calls `inplace_predict` on whole Arrow batches (no per-row Python, no pandas).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from driftline.errors import ScoringError
from driftline.features import FeatureEncoding

if TYPE_CHECKING:
    import pyarrow as pa
    import xgboost as xgb
    from pyspark.sql import DataFrame


def score_frame(
    df: DataFrame, booster: xgb.Booster, encoding: FeatureEncoding, keep: list[str]
) -> DataFrame:
    """`keep` columns plus `score`; a NaN or infinite score fails the task with its row."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    spark = df.sparkSession
    model_bytes = spark.sparkContext.broadcast(bytes(booster.save_raw("ubj")))
    encoding_dict = encoding.to_dict()
    schema = StructType([*[df.schema[c] for c in keep], StructField("score", DoubleType())])

    def predict(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np
        import pyarrow as pa
        import xgboost as xgb

        model = xgb.Booster()
        model.load_model(bytearray(model_bytes.value))
        model.set_param({"nthread": 1})
        encoder = FeatureEncoding.from_dict(encoding_dict)
        for batch in batches:
            if batch.num_rows == 0:
                continue
            scores = model.inplace_predict(encoder.matrix(batch)).astype(np.float64)
            bad = ~np.isfinite(scores)
            if bad.any():
                first = int(np.argmax(bad))
                raise ScoringError(
                    f"{int(bad.sum())} non-finite score(s); first for "
                    f"{ {c: batch.column(c)[first].as_py() for c in keep} }: check the "
                    "model and the features of that row"
                )
            yield pa.RecordBatch.from_arrays(
                [*[batch.column(c) for c in keep], pa.array(scores)],
                names=[*keep, "score"],
            )

    return df.select(*keep, *encoding.names).mapInArrow(predict, schema)
