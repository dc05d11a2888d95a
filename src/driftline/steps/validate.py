"""Validate: the quality gate between bronze and silver.

Per target table: rows breaking a row-level expectation (or whose values do not parse as
the declared type) go to `quarantine/<source>` with the expectation as reason; batch-level
expectations run on the remaining rows. Every outcome is written to `validation_results`
(and GE's Data Docs under the lakehouse) before a `block` failure stops the run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from driftline.context import RunContext, StepResult
from driftline.core import tables
from driftline.data.casting import cast_checked_columns
from driftline.quality import ExpectationOutcome, load_suite, publish_docs, validate
from driftline.quality.batches import checked_batch
from driftline.quality.results import cast_outcomes, raise_if_blocked, write_results

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)


def docs_dir(ctx: RunContext) -> Path | None:
    """Where this run's Data Docs go: under the lakehouse when it is a local folder."""
    root = ctx.settings.resolved_lake_uri
    if "://" in root and not root.startswith("file://"):
        return None
    return Path(root.removeprefix("file://")) / "_data_docs" / ctx.ds


def run(ctx: RunContext) -> StepResult:
    from pyspark import StorageLevel

    result = StepResult("validate", ctx.ds)
    outcomes: list[ExpectationOutcome] = []
    docs = docs_dir(ctx)
    by_source: dict[str, list[str]] = {}
    for table, source_name in tables.validated_sources(ctx.pipeline).items():
        by_source.setdefault(source_name, []).append(table)
    try:
        for source_name, source_tables in by_source.items():
            source = ctx.pipeline.source(source_name)
            rejected_rows = []
            persisted = []
            try:
                for table in source_tables:
                    suite = load_suite(ctx.settings.resolved_expectations_dir, table)
                    batch = checked_batch(ctx, source_name, table)
                    bad = batch.bad.persist(StorageLevel.MEMORY_AND_DISK)
                    persisted.append(bad)
                    if len(source_tables) == 1:  # the usual case: the write counts them
                        rejected = _quarantine(ctx, source_name, [(table, bad)], False)
                    else:
                        rejected = bad.count()
                        rejected_rows.append((table, bad))
                    table_outcomes = cast_outcomes(table, bad, cast_checked_columns(source))
                    # Counted by the Delta log, so GE needs no pass for it.
                    rows = ctx.lake.partition_rows(
                        tables.bronze(source_name), ctx.interval.partition, batch.version
                    )
                    table_outcomes += validate(batch.all, suite, "row", docs, row_count=rows)
                    table_outcomes += validate(
                        batch.good,
                        suite,
                        "batch",
                        docs,
                        ctx.interval.suite_parameters,
                        row_count=None if rows is None else rows - rejected,
                    )
                    write_results(ctx, table, table_outcomes)
                    outcomes.extend(table_outcomes)
                    result.metrics[f"{table}.quarantined"] = rejected
                if rejected_rows:
                    # One write per source: a source feeding two tables (features and labels in
                    # one file) keeps both tables' rejects, each reason naming its table.
                    _quarantine(ctx, source_name, rejected_rows, True)
            finally:
                for bad in persisted:
                    bad.unpersist()
            result.table_versions[tables.quarantine(source_name)] = ctx.lake.version(
                tables.quarantine(source_name)
            )
    finally:
        if docs is not None:
            # The pages of what was validated, even when a step fails midway.
            publish_docs()

    if docs is not None:
        logger.info("Data Docs for %s: %s", ctx.ds, (docs / "index.html").as_uri())
        result.metrics["data_docs"] = str(docs / "index.html")
    result.metrics.update(_summary(outcomes))
    raise_if_blocked(outcomes, f"validation of {ctx.ds}")
    return result


def _quarantine(
    ctx: RunContext,
    source: str,
    rejected: list[tuple[str, DataFrame]],
    name_tables: bool,
) -> int:
    from functools import reduce

    from pyspark.sql import functions as F

    parts = [
        bad.select(
            F.col("_raw"),
            F.concat(
                F.lit(f"failed {table}: " if name_tables else "failed "), F.col("_dq_reasons")
            ).alias("_reason"),
            *tables.bronze_metadata(ctx.pipeline.hourly),
            F.lit("validate").alias(tables.STAGE),
        )
        for table, bad in rejected
    ]
    written = ctx.lake.replace_partition(
        tables.quarantine(source),
        reduce(lambda left, right: left.unionByName(right), parts),
        {tables.STAGE: "validate", **ctx.interval.partition},
        ctx.commit_metadata("validate"),
    )
    if written.rows:
        logger.warning(
            "%s: quarantined %d row(s) that failed row-level expectations", source, written.rows
        )
    return written.rows


def _summary(outcomes: list[ExpectationOutcome]) -> dict[str, int]:
    return {
        "expectations": len(outcomes),
        "quarantine_rules_hit": sum(o.action == "quarantine" for o in outcomes),
        "failed_warn": sum(o.action == "warn" for o in outcomes),
        "failed_block": sum(o.action == "block" for o in outcomes),
    }
