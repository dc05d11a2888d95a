"""Pure DataFrame helpers shared by steps and backends: DataFrames in, DataFrames out."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


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


BlockCounter = Callable[[str, list[int]], "list[int] | None"]


def with_file_row_numbers(
    df: DataFrame, column: str, file_column: str, count_blocks: BlockCounter | None = None
) -> tuple[DataFrame, list[str]]:
    """Number each file's rows 1..n in file order, without moving rows between tasks.

    Returns the frame with `column` (the row number) and `file_column` (the index of the
    row's file in the returned list of file URIs).

    `row_number()` over a window would pull a whole file into one task. Instead one small
    aggregate counts the rows of every file block (split) a task reads and comes back to
    the driver, one row per block; a block's first row number is one more than the rows
    of the same file's earlier blocks, and inside a block rows keep their order. The main
    pass then finds each row's block from its `monotonically_increasing_id` alone (blocks
    occupy consecutive id ranges), through a binary search written as nested `CASE`s over
    literal boundaries: no per-row file path, no join, no hash lookup. `df` must come
    straight from a file scan, so `_metadata` is available to the counting pass.

    `count_blocks(file URI, block starts)`, where given, may answer the rows of each block
    without that pass (`driftline.sources.line_counts` does for line-based text); where it
    answers None for any file, Spark counts.
    """
    from pyspark.sql import functions as F

    idx = "__dl_idx"
    counted = _predicted_blocks(df, count_blocks) if count_blocks else None
    if counted is None:
        counted = [
            (str(r["path"]), int(r["start"]), int(r["first"]), int(r["rows"]))
            for r in df.select(
                F.col("_metadata.file_path").alias("path"),
                F.col("_metadata.file_block_start").alias("start"),
                F.monotonically_increasing_id().alias(idx),
            )
            .groupBy("path", "start")
            .agg(F.min(idx).alias("first"), F.count(F.lit(1)).alias("rows"))
            .collect()
        ]
    uris = sorted({path for path, _, _, _ in counted})
    if not counted:
        return (
            df.select(
                "*",
                F.lit(None).cast("long").alias(column),
                F.lit(None).cast("int").alias(file_column),
            ),
            uris,
        )
    # Per block, by first id: (first id, row number of id 0 relative to it, file index).
    rows_before: dict[str, int] = {}
    blocks = []
    for path, _, first, rows in sorted(counted, key=lambda block: block[:2]):
        before = rows_before.get(path, 0)
        blocks.append((first, before - first + 1, uris.index(path)))
        rows_before[path] = before + rows
    blocks.sort()
    numbered = df.select("*", F.monotonically_increasing_id().alias(idx))
    block = _bucket(F.col(idx), [b[0] for b in blocks], 0, len(blocks))
    shift = F.array(*[F.lit(b[1]) for b in blocks])
    position = F.col("__dl_block") + 1
    file_index = (
        F.lit(blocks[0][2])
        if len(uris) == 1
        else F.element_at(F.array(*[F.lit(b[2]) for b in blocks]), position)
    )
    return (
        numbered.withColumn("__dl_block", block)
        .select(
            "*",
            (F.col(idx) + F.element_at(shift, position)).alias(column),
            file_index.alias(file_column),
        )
        .drop(idx, "__dl_block"),
        uris,
    )


def _predicted_blocks(
    df: DataFrame, count_blocks: BlockCounter
) -> list[tuple[str, int, int, int]] | None:
    """(file URI, block start, first `monotonically_increasing_id`, rows) of every block
    `df`'s scan will read with rows in it, from the scan's planned splits and
    `count_blocks`; None where the plan is not a single file scan, a file is not
    countable or the session is a Spark Connect client.

    The splits are the scan's own (`FileSourceScanExec.inputRDD`), so nothing here
    re-derives how Spark splits files. A task's ids run from `partition index << 33` on
    through the blocks of its split in order.
    """
    from driftline.core.spark import is_connect

    if is_connect(df.sparkSession):
        return None  # the plan lives in the Connect server's JVM: Spark counts instead
    scan = _file_scan(df._jdf.queryExecution().executedPlan())
    if scan is None:
        return None
    partitions = scan.inputRDD().partitions()
    splits = [
        (index, str(f.filePath().toString()), int(f.start()))
        for index in range(len(partitions))
        for f in partitions[index].files()
    ]
    starts: dict[str, list[int]] = {}
    for _, uri, start in splits:
        starts.setdefault(uri, []).append(start)
    rows: dict[tuple[str, int], int] = {}
    for uri, file_starts in starts.items():
        ordered = sorted(file_starts)
        counts = count_blocks(uri, ordered)
        if counts is None:
            return None
        rows.update({(uri, s): n for s, n in zip(ordered, counts, strict=True)})
    blocks = []
    next_id: dict[int, int] = {}
    for index, uri, start in splits:
        first = next_id.get(index, index << 33)
        n = rows[(uri, start)]
        if n:
            blocks.append((uri, start, first, n))
        next_id[index] = first + n
    return blocks


def _file_scan(plan: Any) -> Any:
    """The one file scan under `plan` (a JVM SparkPlan), or None."""
    scans = []
    pending = [plan]
    while pending:
        node = pending.pop()
        if node.getClass().getSimpleName() == "FileSourceScanExec":
            scans.append(node)
        children = node.children().iterator()
        while children.hasNext():
            pending.append(children.next())
    return scans[0] if len(scans) == 1 else None


def _bucket(value: Column, starts: list[int], low: int, high: int) -> Column:
    """The position p in [low, high) with starts[p] <= value < starts[p + 1]."""
    from pyspark.sql import functions as F

    if high - low == 1:
        return F.lit(low)
    middle = (low + high) // 2
    return F.when(value < F.lit(starts[middle]), _bucket(value, starts, low, middle)).otherwise(
        _bucket(value, starts, middle, high)
    )
