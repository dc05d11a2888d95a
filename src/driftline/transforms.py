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
    aggregate counts the rows of every file block (split) a task read and comes back to the
    driver (one row per block); a block's offset is the rows of the same file's earlier
    blocks, and inside a block rows keep their order. The offsets go back into the plan as
    a literal map, so numbering costs a map lookup per row, not a join. `df` must come
    straight from a file scan, so `_metadata` is available; the file's URI is kept as
    `path_column`.
    """
    from pyspark.sql import functions as F

    start, idx = "__dl_block", "__dl_idx"
    tagged = df.select(
        "*",
        F.col("_metadata.file_path").alias(path_column),
        F.col("_metadata.file_block_start").alias(start),
        F.monotonically_increasing_id().alias(idx),
    )
    blocks = sorted(
        tagged.groupBy(path_column, start).agg(F.min(idx), F.count(F.lit(1))).collect(),
        key=lambda row: (row[0], row[1]),
    )
    # Row number = id + (rows of the file's earlier blocks - the block's first id + 1).
    shift: dict[str, int] = {}
    rows_before: dict[str, int] = {}
    for path, block, first_id, rows in blocks:
        before = rows_before.get(path, 0)
        shift[f"{block}#{path}"] = before - int(first_id) + 1
        rows_before[path] = before + int(rows)
    if not shift:
        return tagged.withColumn(column, F.lit(None).cast("long")).drop(start, idx)
    lookup = F.create_map(*[F.lit(v) for pair in shift.items() for v in pair])
    key = F.concat_ws("#", F.col(start).cast("string"), F.col(path_column))
    return tagged.withColumn(column, F.col(idx) + lookup[key]).drop(start, idx)
