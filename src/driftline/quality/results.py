"""Recording expectation outcomes and acting on them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.errors import ValidationFailedError
from driftline.quality.gx_runner import ExpectationOutcome

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)

RESULTS_DDL = (
    "table_name string, level string, expectation string, column_name string, "
    "severity string, success boolean, action string, observed_value string, "
    "unexpected_count long, element_count long, expected string, run_id string"
)


def cast_outcomes(table: str, bad: DataFrame, columns: list[str]) -> list[ExpectationOutcome]:
    """One type outcome per declared column, from a single aggregate over the failing rows."""
    from pyspark.sql import functions as F

    if not columns:
        return []
    counts = bad.agg(
        *[F.sum(F.col(f"_cast_failed_{c}").cast("long")).alias(c) for c in columns]
    ).collect()[0]
    return [
        ExpectationOutcome(
            table=table,
            level="row",
            expectation="expect_column_values_to_be_of_type",
            column=c,
            severity="warn",
            success=not counts[c],
            observed_value=None,
            unexpected_count=int(counts[c] or 0),
            element_count=None,
            expected='{"type": "as declared in driftline.yaml"}',
        )
        for c in columns
    ]


def write_results(ctx: RunContext, table: str, outcomes: list[ExpectationOutcome]) -> None:
    rows = [
        (
            table,
            o.level,
            o.expectation,
            o.column,
            o.severity,
            o.success,
            o.action,
            o.observed_value,
            o.unexpected_count,
            o.element_count,
            o.expected,
            ctx.run_id,
            *ctx.interval.values,
        )
        for o in outcomes
    ]
    ctx.lake.replace_partition_rows(
        tables.VALIDATION_RESULTS,
        rows,
        f"{RESULTS_DDL}, {tables.run_partition_ddl(ctx.interval.hourly)}",
        {"table_name": table, **ctx.interval.partition},
        ctx.commit_metadata("validate"),
    )
    warnings = [o for o in outcomes if o.action == "warn"]
    for outcome in warnings:
        logger.warning("expectation warning: %s", outcome.describe())
    if warnings:
        from driftline.core import notify

        notify.send(
            ctx.settings,
            notify.Event(
                "quality",
                f"{table} {ctx.ds}: {len(warnings)} warn-level expectation(s) failed",
                severity="warning",
                details={o.expectation: o.describe() for o in warnings},
            ),
        )


def raise_if_blocked(outcomes: list[ExpectationOutcome], what: str) -> None:
    blocking = [o for o in outcomes if o.action == "block"]
    if blocking:
        raise ValidationFailedError(
            f"{len(blocking)} blocking expectation(s) failed in {what}; nothing downstream "
            "ran. Fix the source data or the suite, then re-run this date:\n  "
            + "\n  ".join(o.describe() for o in blocking)
        )


def gate(
    ctx: RunContext,
    df: DataFrame,
    suite_table: str,
    recorded_as: str,
    row_count: int | None = None,
) -> None:
    """Run a whole suite on `df`, record it as `recorded_as`, stop on a block failure.

    The feature table's suite runs this way at build, training and scoring time, so a
    schema or range skew between training and serving is caught where it happens.
    `row_count`, where the caller knows it (from the Delta log), saves GE a pass.
    """
    from driftline.quality.gx_runner import validate
    from driftline.quality.suites import load_suite

    suite = load_suite(ctx.settings.resolved_expectations_dir, suite_table)
    outcomes = validate(
        df, suite, "all", parameters=ctx.interval.suite_parameters, row_count=row_count
    )
    write_results(ctx, recorded_as, outcomes)
    raise_if_blocked(outcomes, f"{recorded_as} for {ctx.ds}")
