"""Validate: run the expectation suites on this date's typed bronze batches.

All outcomes are written to `validation_results` before a blocking failure is raised, so a
stopped run still says why it stopped.
"""

from __future__ import annotations

import logging

from driftline import tables
from driftline.batches import bronze_batch
from driftline.casting import typed
from driftline.context import RunContext, StepResult
from driftline.errors import ValidationFailedError
from driftline.quality import ExpectationOutcome, load_suite, validate

logger = logging.getLogger(__name__)


def targets(ctx: RunContext) -> dict[str, str]:
    """Table each validated batch is headed for -> the source it comes from."""
    return {
        tables.silver(ctx.pipeline.entity.name): ctx.pipeline.entity.source,
        tables.LABELS: ctx.pipeline.label.source,
    }


def run(ctx: RunContext) -> StepResult:
    result = StepResult("validate", ctx.ds)
    outcomes: list[ExpectationOutcome] = []
    for table, source_name in targets(ctx).items():
        source = ctx.pipeline.source(source_name)
        batch = typed(bronze_batch(ctx, source_name), source)
        suite = load_suite(ctx.settings.resolved_expectations_dir, table)
        table_outcomes = validate(batch, table, suite)
        outcomes.extend(table_outcomes)
        _write_results(ctx, table, table_outcomes)

    failed = [o for o in outcomes if not o.success]
    for outcome in failed:
        if outcome.severity == "warn":
            logger.warning("expectation warning: %s", outcome.describe())
    blocking = [o for o in failed if o.severity == "block"]
    result.metrics = {
        "expectations": len(outcomes),
        "failed_warn": len(failed) - len(blocking),
        "failed_block": len(blocking),
    }
    if blocking:
        raise ValidationFailedError(
            f"{len(blocking)} blocking expectation(s) failed for {ctx.ds}; nothing downstream "
            "ran. Fix the source data or the suite, then re-run this date:\n  "
            + "\n  ".join(o.describe() for o in blocking)
        )
    return result


def _write_results(ctx: RunContext, table: str, outcomes: list[ExpectationOutcome]) -> None:
    rows = [
        (
            table,
            o.expectation,
            o.column,
            o.severity,
            o.success,
            o.observed_value,
            o.unexpected_count,
            o.element_count,
            o.expected,
            ctx.run_id,
            ctx.run_date,
        )
        for o in outcomes
    ]
    df = ctx.spark.createDataFrame(
        rows,
        "table_name string, expectation string, column_name string, severity string, "
        "success boolean, observed_value string, unexpected_count long, element_count long, "
        f"expected string, run_id string, {tables.RUN_DATE} date",
    )
    ctx.lake.replace_partition(
        tables.VALIDATION_RESULTS,
        df,
        {"table_name": table, tables.RUN_DATE: ctx.ds},
        ctx.commit_metadata("validate"),
    )
