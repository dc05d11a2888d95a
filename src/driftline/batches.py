"""One date's batch of a source, as steps read it from bronze."""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftline import tables
from driftline.casting import latest_within_batch, typed
from driftline.context import RunContext

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def bronze_batch(ctx: RunContext, source: str) -> DataFrame:
    """The raw rows `ingest` wrote for this run date (partition pruned)."""
    from pyspark.sql import functions as F

    return ctx.lake.read(tables.bronze(source)).where(F.col(tables.RUN_DATE) == F.lit(ctx.run_date))


def conformed_batch(ctx: RunContext, source: str, key: str) -> DataFrame:
    """This date's rows of a source, typed, one per key (the last in file order wins)."""
    return latest_within_batch(typed(bronze_batch(ctx, source), ctx.pipeline.source(source)), key)
