"""Features: the shared feature definition applied to this date's conformed entities.

Built from the date's own conformed batch (not from silver, which only holds each entity's
latest state), so re-running an old date reproduces that date's features exactly.
"""

from __future__ import annotations

from driftline.context import RunContext, StepResult
from driftline.core import tables
from driftline.data.features import build_features
from driftline.quality.batches import conformed_batch
from driftline.quality.results import gate


def run(ctx: RunContext) -> StepResult:
    from pyspark import StorageLevel

    entity = ctx.pipeline.entity
    # One row per entity and observed day: a delivery of several days keeps each day.
    keys = [entity.key, *([entity.date_column] if entity.date_column else [])]
    batch = conformed_batch(ctx, entity.source, keys, tables.silver(entity.name))
    features = build_features(batch, ctx.pipeline).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        gate(ctx, features, tables.FEATURES, recorded_as=tables.FEATURES)
        written = ctx.lake.replace_partition(
            tables.FEATURES,
            features,
            {tables.RUN_DATE: ctx.ds},
            ctx.commit_metadata("features"),
        )
    finally:
        features.unpersist()
    return StepResult("features", ctx.ds, {written.table: written.version}, {"rows": written.rows})
