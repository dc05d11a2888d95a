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


def with_row_numbers(df: DataFrame, column: str) -> DataFrame:
    """Number rows 1..n in their current order, without moving them to one partition.

    `row_number()` over an unpartitioned window pulls every row into a single task; instead
    each partition's count is taken once (a tiny aggregate) and turned into offsets.
    """
    from pyspark.sql import functions as F

    pid, idx = "__driftline_pid", "__driftline_idx"
    tagged = df.withColumn(pid, F.spark_partition_id()).withColumn(
        idx, F.monotonically_increasing_id()
    )
    counts = sorted(
        (int(r[0]), int(r[1])) for r in tagged.groupBy(pid).count().collect()
    )
    offsets: dict[int, int] = {}
    running = 0
    for partition_id, count in counts:
        offsets[partition_id] = running
        running += count
    if not offsets:
        return df.withColumn(column, F.lit(None).cast("long"))
    offset_expr = F.lit(0).cast("long")
    for partition_id, offset in offsets.items():
        offset_expr = F.when(F.col(pid) == partition_id, F.lit(offset)).otherwise(offset_expr)
    # monotonically_increasing_id puts the partition id in the upper 31 bits and the
    # position within the partition in the lower 33.
    position = F.col(idx) - F.shiftleft(F.col(pid).cast("long"), 33)
    return tagged.withColumn(column, offset_expr + position + 1).drop(pid, idx)
