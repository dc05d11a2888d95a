"""Conform: the rows that passed the quality gate, typed and deduplicated, merged into
`silver/<entity>`; the date's labels into `labels`."""

from __future__ import annotations

from driftline.context import RunContext, StepResult
from driftline.core import tables
from driftline.data.casting import latest_within_batch
from driftline.quality.batches import checked_batch, conformed_batch


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
        order_by=[tables.RUN_DATE, "_row_number"],
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
        F.col(label.date_column).cast("date").alias("label_date"),
        (F.col(label.column).cast("string") == F.lit(label.positive)).cast("int").alias("label"),
        F.col(tables.RUN_DATE),
    )
    written = ctx.lake.replace_partition(tables.LABELS, labels, {tables.RUN_DATE: ctx.ds}, metadata)
    result.table_versions[written.table] = written.version
    result.metrics["labels"] = written.rows
    return result
