"""A starter expectation suite from a table's current data, for a person to review.

One aggregation pass collects null shares, min/max and distinct counts; columns with few
distinct values get an in-set expectation from a second, small query.

A numeric range learned from one delivery is wider than that delivery's min and max
(`RANGE_MARGIN` of its span on each side): tomorrow's extremes are almost never exactly
today's, and a suite that warns every night on ordinary values teaches people to ignore it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

MAX_CATEGORIES = 25
RANGE_MARGIN = 0.1
INTEGRAL = ("int", "bigint", "smallint", "tinyint")
NUMERIC = (*INTEGRAL, "double", "float", "decimal")


def suggest_suite(df: DataFrame, name: str) -> dict[str, Any]:
    from pyspark.sql import functions as F

    fields = [f for f in df.schema.fields if not f.name.startswith("_")]
    aggregations = [F.count(F.lit(1)).alias("__rows")]
    for field in fields:
        column = F.col(field.name)
        aggregations.append(F.sum(column.isNull().cast("long")).alias(f"{field.name}__nulls"))
        aggregations.append(F.approx_count_distinct(column).alias(f"{field.name}__distinct"))
        if field.dataType.simpleString().startswith(NUMERIC):  # the only ranges suggested
            aggregations.append(F.min(column).alias(f"{field.name}__min"))
            aggregations.append(F.max(column).alias(f"{field.name}__max"))
    stats = df.agg(*aggregations).collect()[0].asDict()
    rows = int(stats["__rows"])
    expectations: list[dict[str, Any]] = [
        _expectation(
            "expect_table_row_count_to_be_between",
            {"min_value": max(1, rows // 2), "max_value": rows * 2},
            "warn",
        ),
        _expectation(
            "expect_table_columns_to_match_set",
            {"column_set": [f.name for f in df.schema.fields], "exact_match": True},
            "block",
        ),
    ]
    for field in fields:
        nulls = int(stats[f"{field.name}__nulls"] or 0)
        if nulls == 0:
            expectations.append(
                _expectation("expect_column_values_to_not_be_null", {"column": field.name}, "block")
            )
        else:
            share = 1 - nulls / max(rows, 1)
            expectations.append(
                _expectation(
                    "expect_column_proportion_of_non_null_values_to_be_between",
                    {"column": field.name, "min_value": round(max(0.0, share - 0.05), 4)},
                    "warn",
                )
            )
        kind = field.dataType.simpleString()
        if kind.startswith(NUMERIC) and stats.get(f"{field.name}__min") is not None:
            expectations.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    {
                        "column": field.name,
                        **widened_range(
                            float(stats[f"{field.name}__min"]),
                            float(stats[f"{field.name}__max"]),
                            integral=kind.startswith(INTEGRAL),
                        ),
                    },
                    "warn",
                )
            )
        elif kind == "string" and 0 < int(stats[f"{field.name}__distinct"]) <= MAX_CATEGORIES:
            values = sorted(
                r[0]
                for r in df.select(field.name)
                .where(F.col(field.name).isNotNull())
                .distinct()
                .limit(MAX_CATEGORIES * 2)
                .collect()
            )
            if len(values) <= MAX_CATEGORIES:
                expectations.append(
                    _expectation(
                        "expect_column_values_to_be_in_set",
                        {"column": field.name, "value_set": values},
                        "warn",
                    )
                )
    return {
        "name": name,
        "meta": {
            "notes": f"Suggested by `driftline expectations suggest` from {rows} rows; "
            f"numeric ranges are the observed ones widened by {RANGE_MARGIN:.0%} of their "
            "span each side. Review every bound and severity before use."
        },
        "expectations": expectations,
    }


def widened_range(low: float, high: float, *, integral: bool) -> dict[str, float | int]:
    """The observed [low, high] widened by RANGE_MARGIN of its span each side (of the value
    itself where the span is 0), never below 0 for a column that had no negative values,
    rounded outwards."""
    margin = RANGE_MARGIN * ((high - low) or abs(high) or 1.0)
    lower = low - margin
    if low >= 0:
        lower = max(0.0, lower)
    upper = high + margin
    if integral:
        return {"min_value": math.floor(lower), "max_value": math.ceil(upper)}
    # Six decimals keep the JSON readable; rounding outwards keeps every observed value in.
    return {
        "min_value": math.floor(lower * 1e6) / 1e6,
        "max_value": math.ceil(upper * 1e6) / 1e6,
    }


def _expectation(kind: str, kwargs: dict[str, Any], severity: str) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"severity": severity}}
