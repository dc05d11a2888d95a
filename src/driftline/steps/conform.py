"""Conform: the rows that passed the quality gate, typed and deduplicated, merged into
`silver/<entity>`; the date's labels into `labels`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from driftline.context import RunContext, StepResult
from driftline.core import tables
from driftline.data.casting import latest_within_batch
from driftline.data.features import as_of_column
from driftline.quality.batches import checked_batch, conformed_batch

if TYPE_CHECKING:
    from pyspark.sql import Column

    from driftline.core.tasks import Task

logger = logging.getLogger(__name__)


def label_value(task: Task, column: str, positive: str) -> Column:
    """The label as the model learns it: 1/0 for binary (the positive value or not), the
    number for regression, the class index for multiclass (null outside the classes)."""
    from pyspark.sql import functions as F

    raw = F.col(column)
    if task.kind == "regression":
        return raw.cast("double")
    if task.kind == "multiclass":
        classes = F.array(*[F.lit(c) for c in task.classes])
        position = F.array_position(classes, F.trim(raw.cast("string")))
        return F.when(position > 0, (position - 1).cast("int"))
    return (raw.cast("string") == F.lit(positive)).cast("int")


def run(ctx: RunContext) -> StepResult:
    from pyspark.sql import functions as F

    pipeline = ctx.pipeline
    result = StepResult("conform", ctx.ds)
    metadata = ctx.commit_metadata("conform")

    silver_table = tables.silver(pipeline.entity.name)
    entity = conformed_batch(ctx, pipeline.entity.source, pipeline.entity.key, silver_table)
    silver = ctx.lake.merge(
        silver_table,
        entity,
        keys=[pipeline.entity.key],
        order_by=[*ctx.interval.partition_columns, "_row_number"],
        metadata=metadata,
    )
    result.table_versions[silver.table] = silver.version
    result.metrics["silver_rows"] = silver.rows

    label = pipeline.label
    labels = checked_batch(ctx, label.source, tables.LABELS).good
    labels = latest_within_batch(
        labels.withColumn(
            "__label_key",
            F.concat_ws(
                "|",
                F.col(pipeline.entity.key).cast("string"),
                F.col(label.date_column).cast("string"),
            ),
        ),
        "__label_key",
    ).select(
        F.col(pipeline.entity.key),
        as_of_column(pipeline.hourly, label.date_column).alias("label_date"),
        label_value(pipeline.task, label.column, label.positive).alias("label"),
        *ctx.interval.partition_columns,
    )
    if pipeline.task.kind == "multiclass":
        # A value outside label.classes has no class index: it cannot be learned from.
        unknown = labels.where(F.col("label").isNull()).count()
        if unknown:
            logger.warning(
                "%d label(s) of %s are none of label.classes %s; left out",
                unknown,
                ctx.ds,
                list(pipeline.task.classes),
            )
        result.metrics["labels_unknown_class"] = unknown
        labels = labels.where(F.col("label").isNotNull())
    written = ctx.lake.replace_partition(tables.LABELS, labels, ctx.interval.partition, metadata)
    result.table_versions[written.table] = written.version
    result.metrics["labels"] = written.rows
    return result
