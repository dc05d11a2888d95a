"""Pure DataFrame helpers shared by steps and backends: DataFrames in, DataFrames out."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def latest_per_key(
    current: DataFrame | None, incoming: DataFrame, keys: list[str], order_by: list[str]
) -> DataFrame:
    """One row per key: the largest by `order_by`; on a tie the incoming row wins.

    Used for MERGE semantics ("latest wins") without trusting arrival order, so re-running
    an old date cannot overwrite what a newer date already wrote.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    priority = "__driftline_priority"
    frames = incoming.withColumn(priority, F.lit(1))
    if current is not None:
        frames = current.withColumn(priority, F.lit(0)).unionByName(
            frames, allowMissingColumns=True
        )
    window = Window.partitionBy(*keys).orderBy(
        *[F.col(c).desc_nulls_last() for c in order_by], F.col(priority).desc()
    )
    rank = "__driftline_rank"
    return (
        frames.withColumn(rank, F.row_number().over(window))
        .where(F.col(rank) == 1)
        .drop(rank, priority)
    )


def with_file_row_numbers(df: DataFrame, column: str, path_column: str) -> DataFrame:
    """Number each file's rows 1..n in file order, without moving rows between tasks.

    `row_number()` over a window would pull a whole file into one task. Instead one small
    aggregate counts the rows of every file block (split) a task read; a block's offset is
    the rows of the same file's earlier blocks, and inside a block rows keep their order.
    `df` must come straight from a file scan, so `_metadata` is available; the file's URI
    is kept as `path_column`.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    path, start, idx = path_column, "__dl_block", "__dl_idx"
    tagged = df.select(
        "*",
        F.col("_metadata.file_path").alias(path),
        F.col("_metadata.file_block_start").alias(start),
        F.monotonically_increasing_id().alias(idx),
    )
    blocks = tagged.groupBy(path, start).agg(
        F.min(idx).alias("__dl_first"), F.count(F.lit(1)).alias("__dl_rows")
    )
    earlier = F.sum("__dl_rows").over(
        Window.partitionBy(path).orderBy(start).rowsBetween(Window.unboundedPreceding, -1)
    )
    offsets = blocks.select(
        path, start, "__dl_first", F.coalesce(earlier, F.lit(0)).alias("__dl_offset")
    )
    return (
        tagged.join(F.broadcast(offsets), [path, start])
        .withColumn(column, F.col("__dl_offset") + F.col(idx) - F.col("__dl_first") + 1)
        .drop(start, idx, "__dl_first", "__dl_offset")
    )
