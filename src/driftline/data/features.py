"""The one feature definition shared by training and scoring (no training/serving skew).

`build_features` turns a conformed entity batch into the `features` table rows;
`FeatureEncoding` turns those rows into the numeric matrix XGBoost sees, with categorical
vocabularies frozen at training time and shipped inside the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from driftline.core import tables
from driftline.core.pipeline import PipelineConfig

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame

AS_OF = "as_of_date"


def build_features(conformed: DataFrame, pipeline: PipelineConfig) -> DataFrame:
    """Feature rows keyed on (entity key, as_of_date) from one date's conformed batch; the
    as-of date is the row's own observation date where the entity names one."""
    from pyspark.sql import functions as F

    key = pipeline.entity.key
    observed = pipeline.entity.date_column
    as_of = F.to_date(F.col(observed)) if observed else F.col(tables.RUN_DATE)
    columns = [F.col(key), as_of.alias(AS_OF)]
    for feature in pipeline.features:
        expression = F.expr(feature.expr) if feature.expr else F.col(feature.name)
        kind = "string" if feature.type == "categorical" else "double"
        columns.append(expression.try_cast(kind).alias(feature.name))
    return conformed.select(*columns, F.col(tables.RUN_DATE))


@dataclass(frozen=True)
class FeatureEncoding:
    """Feature order and categorical vocabularies, as the model was trained on them."""

    names: list[str]
    categorical: dict[str, list[str]]

    @classmethod
    def fit(cls, pipeline: PipelineConfig, data: pa.Table) -> FeatureEncoding:
        """Vocabularies (sorted, nulls excluded) from the training table."""
        import pyarrow.compute as pc

        vocab = {}
        for feature in pipeline.features:
            if feature.type == "categorical":
                values = pc.unique(data.column(feature.name).drop_null()).to_pylist()
                vocab[feature.name] = sorted(str(v) for v in values)
        return cls(names=pipeline.feature_names, categorical=vocab)

    def to_dict(self) -> dict[str, Any]:
        return {"names": self.names, "categorical": self.categorical}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureEncoding:
        return cls(names=list(data["names"]), categorical=dict(data["categorical"]))

    @classmethod
    def fit_frame(cls, pipeline: PipelineConfig, data: DataFrame) -> FeatureEncoding:
        """`fit` for rows that stay in Spark: the same vocabularies, from distinct values."""
        from pyspark.sql import functions as F

        vocab = {}
        for feature in pipeline.features:
            if feature.type == "categorical":
                rows = data.select(F.col(feature.name).cast("string")).distinct().collect()
                vocab[feature.name] = sorted(str(r[0]) for r in rows if r[0] is not None)
        return cls(names=pipeline.feature_names, categorical=vocab)

    def columns(self) -> list[Column]:
        """`matrix` as Spark columns (float, category code, null for missing or unseen), for
        `xgboost.spark`, which reads one numeric column per feature."""
        from pyspark.sql import functions as F

        out = []
        for name in self.names:
            if name in self.categorical and not self.categorical[name]:
                value = F.lit(None)
            elif name in self.categorical:
                vocabulary = F.array(*[F.lit(v) for v in self.categorical[name]])
                position = F.array_position(vocabulary, F.col(name).cast("string"))
                value = F.when(position > 0, position - 1)
            else:
                value = F.col(name)
            out.append(value.cast("float").alias(name))
        return out

    def matrix(self, data: pa.RecordBatch | pa.Table) -> np.ndarray:
        """A float32 matrix in training order; a null or an unseen category is NaN.

        Used by training (on the whole training table) and by scoring (per Arrow batch on
        the executors), so both see exactly the same encoding.
        """
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        out = np.empty((data.num_rows, len(self.names)), dtype=np.float32)
        for j, name in enumerate(self.names):
            column = data.column(name)
            if name in self.categorical:
                codes = pc.index_in(
                    pc.cast(column, pa.string()), value_set=pa.array(self.categorical[name])
                )
                column = codes
            as_float = pc.cast(column, pa.float64())
            if isinstance(as_float, pa.ChunkedArray):
                as_float = as_float.combine_chunks()
            out[:, j] = as_float.to_numpy(zero_copy_only=False)
        return out
