"""Features: the shared feature definition applied to this date's conformed entities.

Built from the date's own conformed batch (not from silver, which only holds each entity's
latest state), and from the feeds' events delivered up to this date (never later ones), so
re-running an old date reproduces that date's features exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftline.context import RunContext, StepResult
from driftline.core import tables
from driftline.core.pipeline import FeedConfig
from driftline.data.casting import latest_within_batch, typed
from driftline.data.features import build_features
from driftline.quality.batches import conformed_batch
from driftline.quality.results import gate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def run(ctx: RunContext) -> StepResult:
    from pyspark import StorageLevel

    entity = ctx.pipeline.entity
    # One row per entity and observed day: a delivery of several days keeps each day.
    keys = [entity.key, *([entity.date_column] if entity.date_column else [])]
    batch = conformed_batch(ctx, entity.source, keys, tables.silver(entity.name))
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
    keys = [entity.key, *([entity.date_column] if entity.date_column else [])]
    batch = latest_within_batch(delivered(entity.source, required=True), keys)
    events = [delivered(feed.source, required=False) for feed in ctx.pipeline.feeds]
    return build_features(batch, ctx.pipeline, events)
