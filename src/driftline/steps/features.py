"""Features: the shared feature definition applied to this date's conformed entities.

Built from the date's own conformed batch (not from silver, which only holds each entity's
latest state), and from the feeds' events delivered up to this date (never later ones), so
re-running an old date reproduces that date's features exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftline.context import RunContext, StepResult
from driftline.core import tables
from driftline.core.pipeline import FeedConfig, PipelineConfig
from driftline.data.casting import latest_within_batch, typed
from driftline.data.features import as_of_column, build_features
from driftline.quality.batches import checked_batch
from driftline.quality.results import gate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def run(ctx: RunContext) -> StepResult:
    from pyspark import StorageLevel

    entity = ctx.pipeline.entity
    good = checked_batch(ctx, entity.source, tables.silver(entity.name)).good
    batch = one_row_per_observation(good, ctx.pipeline)
    events = [delivered_events(ctx, feed) for feed in ctx.pipeline.feeds]
    features = build_features(batch, ctx.pipeline, events).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        gate(ctx, features, tables.FEATURES, recorded_as=tables.FEATURES)
        written = ctx.lake.replace_partition(
            tables.FEATURES,
            features,
            ctx.interval.partition,
            ctx.commit_metadata("features"),
        )
    finally:
        features.unpersist()
    return StepResult("features", ctx.ds, {written.table: written.version}, {"rows": written.rows})


def one_row_per_observation(rows: DataFrame, pipeline: PipelineConfig) -> DataFrame:
    """One row per entity and the day (the hour, in an hourly pipeline) it describes: a
    delivery of several days keeps each, and within one the last in file order wins."""
    entity = pipeline.entity
    if entity.date_column is None:
        return latest_within_batch(rows, entity.key)
    observed = "__observed"
    marked = rows.withColumn(observed, as_of_column(pipeline.hourly, entity.date_column))
    return latest_within_batch(marked, [entity.key, observed]).drop(observed)


def delivered_events(ctx: RunContext, feed: FeedConfig) -> DataFrame:
    """The feed source's typed rows from every delivery up to the run date (bronze; an
    empty frame of its declared columns while it has delivered nothing)."""
    from pyspark.sql.types import (
        DateType,
        IntegerType,
        StringType,
        StructField,
        StructType,
    )

    source = ctx.pipeline.source(feed.source)
    table = tables.bronze(feed.source)
    if ctx.lake.exists(table):
        raw = ctx.lake.read(table).where(ctx.interval.up_to())
    else:
        fields = [StructField(name, StringType()) for name in source.columns]
        partition = [StructField(tables.RUN_DATE, DateType())]
        if ctx.interval.hourly:
            partition.append(StructField(tables.RUN_HOUR, IntegerType()))
        raw = ctx.spark.createDataFrame([], StructType([*fields, *partition]))
    return typed(raw, source)


def previewed(ctx: RunContext) -> DataFrame:
    """The feature rows the run date's delivered files would give, built without touching
    the lake: what `driftline expectations suggest features --date` drafts `features.json`
    from before the first night. Every parseable entity row counts (there is no silver
    suite to apply yet), and each feed sees only what it delivered that date."""
    from pyspark.sql import functions as F

    from driftline.core.errors import SourceError
    from driftline.sources.preview import delivered_rows

    def delivered(name: str, required: bool) -> DataFrame:
        source = ctx.pipeline.source(name)
        try:
            rows = delivered_rows(ctx, source, ctx.interval)
        except SourceError:
            if required:
                raise
            rows = ctx.spark.createDataFrame([], ", ".join(f"`{c}` string" for c in source.columns))
        lineage = rows.select(
            "*",
            F.lit(f"{name} preview").alias("_source_file"),
            F.monotonically_increasing_id().alias("_row_number"),
            *ctx.interval.literals(),
        )
        return typed(lineage, source)

    entity = ctx.pipeline.entity
    batch = one_row_per_observation(delivered(entity.source, required=True), ctx.pipeline)
    events = [delivered(feed.source, required=False) for feed in ctx.pipeline.feeds]
    return build_features(batch, ctx.pipeline, events)
