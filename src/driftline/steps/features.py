"""Features: the shared feature definition applied to this date's conformed entities.

Built from the date's own conformed batch (not from silver, which only holds each entity's
latest state), so re-running an old date reproduces that date's features exactly.
"""

from __future__ import annotations

from driftline import tables
from driftline.batches import conformed_batch
from driftline.context import RunContext, StepResult
from driftline.features import build_features


def run(ctx: RunContext) -> StepResult:
    entity = ctx.pipeline.entity
    batch = conformed_batch(ctx, entity.source, entity.key)
    written = ctx.lake.replace_partition(
        tables.FEATURES,
        build_features(batch, ctx.pipeline),
        {tables.RUN_DATE: ctx.ds},
        ctx.commit_metadata("features"),
    )
    return StepResult("features", ctx.ds, {written.table: written.version}, {"rows": written.rows})
