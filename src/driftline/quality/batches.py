"""One date's batch of a source, as steps read it from bronze, through the quality gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from driftline.context import RunContext
from driftline.core import tables
from driftline.data.casting import cast_checked_columns, drop_checks, latest_within_batch, typed
from driftline.quality.rows import row_rules, split_rows
from driftline.quality.suites import load_suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def bronze_batch(ctx: RunContext, source: str, version: int | None = None) -> DataFrame:
    """The raw rows `ingest` wrote for this run date (partition pruned), at `version`."""

    return ctx.lake.read(tables.bronze(source), version).where(ctx.interval.is_this())


@dataclass(frozen=True)
class CheckedBatch:
    """A date's typed rows of a source, split by the row-level rules of a table's suite."""

    all: DataFrame  # every row, typed
    good: DataFrame  # rows passing every rule
    bad: DataFrame  # rows failing one, with `_raw`, `_dq_reasons` and `_cast_failed_*`
    version: int  # of bronze, which all three read


def checked_batch(ctx: RunContext, source: str, table: str) -> CheckedBatch:
    """Validate and conform both call this, so the rows validate quarantines are exactly
    the rows conform leaves out."""
    config = ctx.pipeline.source(source)
    suite = load_suite(ctx.settings.resolved_expectations_dir, table)
    version = ctx.lake.version(tables.bronze(source))
    checked = typed(bronze_batch(ctx, source, version), config, with_checks=True)
    good, bad = split_rows(checked, row_rules(suite, cast_checked_columns(config)))
    return CheckedBatch(drop_checks(checked), drop_checks(good), bad, version)


def conformed_batch(ctx: RunContext, source: str, keys: str | list[str], table: str) -> DataFrame:
    """This date's good rows of a source, one per key (the last in file order wins)."""
    return latest_within_batch(checked_batch(ctx, source, table).good, keys)
