"""The one feature definition shared by training and scoring (no training/serving skew).

`build_features` turns a conformed entity batch, and the events of the feeds it joins,
into the `features` table rows;
`FeatureEncoding` turns those rows into the numeric matrix XGBoost sees, with categorical
vocabularies frozen at training time and shipped inside the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from driftline.core import tables
from driftline.core.errors import ConfigError
from driftline.core.pipeline import FeedConfig, PipelineConfig

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame

AS_OF = "as_of_date"
# Names the feed join gives the entity side, so no column of an event source can clash.
_ENTITY_KEY, _ENTITY_AS_OF, _EVENT_DATE = "__entity_key", "__entity_as_of", "__event_date"
_MATCHED = "__window_has_events"


def build_features(
    conformed: DataFrame, pipeline: PipelineConfig, feed_events: Sequence[DataFrame] = ()
) -> DataFrame:
    """Feature rows keyed on (entity key, as_of_date) from one date's conformed batch; the
    as-of date is the row's own observation date where the entity names one.

    `feed_events` holds, per entry of `pipeline.feeds`, that source's typed events as
    delivered up to the run date; their windowed aggregates become columns the features
    may name or use in `expr`.
    """
    from pyspark.sql import functions as F

    if len(feed_events) != len(pipeline.feeds):
        raise ValueError(f"{len(pipeline.feeds)} feeds configured, {len(feed_events)} given")
    key = pipeline.entity.key
    observed = pipeline.entity.date_column
    rows = conformed.withColumn(AS_OF, as_of_column(pipeline.hourly, observed))
    for index, (feed, events) in enumerate(zip(pipeline.feeds, feed_events, strict=True)):
        rows = with_feed_columns(rows, events, feed, key, f"feeds.{index}", pipeline.hourly)
    columns = [F.col(key), F.col(AS_OF)]
    for feature in pipeline.features:
        expression = F.expr(feature.expr) if feature.expr else F.col(feature.name)
        kind = "string" if feature.type == "categorical" else "double"
        columns.append(expression.try_cast(kind).alias(feature.name))
    return rows.select(*columns, *tables.run_partition_columns(pipeline.hourly))


def as_of_column(hourly: bool, observed: str | None) -> Column:
    """What a feature row is as of: the day it describes (`entity.date_column`, else the
    run's date); in an hourly pipeline the UTC hour it describes (a timestamp), so labels
    join each hour's row, not every row of the day."""
    from pyspark.sql import functions as F

    if not hourly:
        return F.to_date(F.col(observed)) if observed else F.col(tables.RUN_DATE)
    if observed:
        return F.date_trunc("hour", F.col(observed).cast("timestamp"))
    return F.expr(f"timestamp({tables.RUN_DATE}) + make_interval(0, 0, 0, 0, {tables.RUN_HOUR})")


def with_feed_columns(
    rows: DataFrame,
    events: DataFrame,
    feed: FeedConfig,
    key: str,
    where: str = "feeds",
    hourly: bool = False,
) -> DataFrame:
    """`rows` (entity key, `as_of_date`, ...) with the feed's aggregates over each row's
    trailing window of events: dated after `as_of - window_days` and up to `as_of` (by
    the hour in an hourly pipeline, so a row never sees a later hour's events)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    wanted = rows.select(
        F.col(key).alias(_ENTITY_KEY), F.col(AS_OF).alias(_ENTITY_AS_OF)
    ).distinct()
    dated = events.withColumn(_EVENT_DATE, as_of_column(hourly, feed.date_column))
    window_start = (
        wanted[_ENTITY_AS_OF] - F.expr(f"INTERVAL {feed.window_days} DAYS")
        if hourly
        else F.date_sub(wanted[_ENTITY_AS_OF], feed.window_days)
    )
    in_window = (
        (wanted[_ENTITY_KEY] == dated[feed.key])
        & (dated[_EVENT_DATE] <= wanted[_ENTITY_AS_OF])
        & (dated[_EVENT_DATE] > window_start)
    )
    try:
        aggregates = [F.expr(sql).alias(name) for name, sql in feed.columns.items()]
        per_row = (
            wanted.join(dated, in_window)
            .groupBy(_ENTITY_KEY, _ENTITY_AS_OF)
            .agg(*aggregates, F.lit(True).alias(_MATCHED))
        )
        # What each aggregate gives over no events (count 0, sum null): the value of an
        # entity whose window is empty, exactly as SQL would have it.
        nothing = dated.where(F.lit(False)).agg(*aggregates).first()
    except AnalysisException as error:
        raise ConfigError(
            f"{where}.columns of source {feed.source!r} is not a valid Spark SQL aggregate "
            f"over its columns ({sorted(events.columns)}): {error}"
        ) from None
    assert nothing is not None  # an aggregate without grouping always gives one row
    joined = rows.join(
        per_row,
        (rows[key] == per_row[_ENTITY_KEY]) & (rows[AS_OF] == per_row[_ENTITY_AS_OF]),
        "left",
    )
    # Only a row that has a date and no event in its window takes the empty value; a row
    # without a date has no window at all and stays null.
    empty_window = F.col(_MATCHED).isNull() & rows[AS_OF].isNotNull()
    filled = [
        F.when(empty_window, F.lit(nothing[name])).otherwise(F.col(name)).alias(name)
        if isinstance(nothing[name], int | float | str | bool)
        else F.col(name)
        for name in feed.columns
    ]
    return joined.select(*[rows[c] for c in rows.columns], *filled)


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
