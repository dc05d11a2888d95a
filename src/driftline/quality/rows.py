"""Row-level expectations as Spark predicates, so failing rows are routed by Spark itself.

GE counts a row-level expectation's failures but can only hand the rows back by collecting
them; the same rule written as a Spark column lets quarantine happen on the executors.
`tests/quality` checks each translation against GE's own unexpected counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from driftline.core.errors import ConfigError
from driftline.quality.suites import Suite, severity_of

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

REASONS = "_dq_reasons"


@dataclass(frozen=True)
class RowRule:
    reason: str
    fails: Column


def _describe(expectation: dict[str, Any]) -> str:
    column = expectation["kwargs"].get("column")
    return f"{expectation['type']}({column})" if column else expectation["type"]


def _failing(expectation: dict[str, Any]) -> Column:
    """True where the row breaks the expectation (nulls pass, as in GE, except not-null)."""
    from pyspark.sql import functions as F

    kind = expectation["type"]
    kwargs = expectation["kwargs"]
    column = F.col(kwargs["column"])
    present = column.isNotNull()
    if kind == "expect_column_values_to_not_be_null":
        return column.isNull()
    if kind == "expect_column_values_to_be_in_set":
        return present & ~column.isin(list(kwargs["value_set"]))
    if kind == "expect_column_values_to_not_be_in_set":
        return present & column.isin(list(kwargs["value_set"]))
    if kind == "expect_column_values_to_be_between":
        fails = F.lit(False)
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if low is not None:
            fails = fails | ((column <= low) if kwargs.get("strict_min") else (column < low))
        if high is not None:
            fails = fails | ((column >= high) if kwargs.get("strict_max") else (column > high))
        return present & fails
    if kind == "expect_column_values_to_match_regex":
        return present & ~column.cast("string").rlike(kwargs["regex"])
    if kind == "expect_column_values_to_not_match_regex":
        return present & column.cast("string").rlike(kwargs["regex"])
    if kind in ("expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list"):
        # Values were cast to the declared type on the way in; a value that did not parse
        # is flagged by the cast check instead, so the typed column itself always passes.
        return F.lit(False)
    raise ConfigError(f"no row-level rule for expectation type {kind!r}")


def row_rules(suite: Suite, cast_columns: list[str] | None = None) -> list[RowRule]:
    """The suite's `block` row-level rules, plus one type rule per column whose raw value
    did not parse as the declared type (`_cast_failed_<column>` flags from `casting.typed`).

    A `warn` row-level expectation keeps its rows: it is counted and alerted, so a bound
    drafted from a day or two of data (`expectations suggest`) flags the unusual rows
    instead of silently withholding them from the model."""
    from pyspark.sql import functions as F

    rules = [
        RowRule(_describe(e), _failing(e)) for e in suite.row_level if severity_of(e) == "block"
    ]
    for column in cast_columns or []:
        rules.append(
            RowRule(
                f"expect_column_values_to_be_of_type({column})", F.col(f"_cast_failed_{column}")
            )
        )
    return rules


def split_rows(df: DataFrame, rules: list[RowRule]) -> tuple[DataFrame, DataFrame]:
    """(rows passing every rule, rows failing any) with `_dq_reasons` on the failing ones."""
    from pyspark.sql import functions as F

    if not rules:
        return df, df.limit(0).withColumn(REASONS, F.lit(None).cast("string"))
    reasons = F.concat_ws(
        "; ", *[F.when(F.coalesce(rule.fails, F.lit(False)), F.lit(rule.reason)) for rule in rules]
    )
    tagged = df.withColumn(REASONS, reasons)
    good = tagged.where(F.col(REASONS) == "").drop(REASONS)
    bad = tagged.where(F.col(REASONS) != "")
    return good, bad
