"""Reference profiles and the Population Stability Index.

A profile is taken from a model's training data and stored with the model version; each
night's data is binned on the same edges in one Spark aggregation, and PSI compares the
two distributions. Missing values get a bin of their own, so a feature that suddenly goes
null counts as drift.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from pyspark.sql import Column, DataFrame

MISSING = "__missing__"
OTHER = "__other__"
# Shares are floored at this value before taking logs, so an empty bin gives a large but
# finite PSI instead of infinity.
EPSILON = 1e-4


def numeric_profile(values: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Quantile edges (deduplicated) and the share of values in each bin plus missing."""
    import numpy as np

    finite = values[np.isfinite(values)]
    if finite.size == 0:
        edges: list[float] = []
    else:
        quantiles = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
        edges = sorted({float(q) for q in quantiles})
    counts = np.bincount(np.searchsorted(edges, finite, side="left"), minlength=len(edges) + 1)
    total = max(values.size, 1)
    shares = {str(i): float(c) / total for i, c in enumerate(counts)}
    shares[MISSING] = float(values.size - finite.size) / total
    return {"type": "numeric", "edges": edges, "shares": shares}


def categorical_profile(values: list[Any]) -> dict[str, Any]:
    from collections import Counter

    counts = Counter(MISSING if v is None else str(v) for v in values)
    total = max(len(values), 1)
    shares = {k: c / total for k, c in counts.items()}
    shares.setdefault(MISSING, 0.0)
    shares.setdefault(OTHER, 0.0)
    return {"type": "categorical", "shares": shares}


def bin_expression(column: Column, spec: dict[str, Any]) -> Column:
    """The bin label of each value, matching `numeric_profile`/`categorical_profile`."""
    from pyspark.sql import functions as F

    if spec["type"] == "categorical":
        known = [k for k in spec["shares"] if k not in (MISSING, OTHER)]
        value = column.cast("string")
        return (
            F.when(column.isNull(), F.lit(MISSING))
            .when(value.isin(known), value)
            .otherwise(F.lit(OTHER))
        )
    edges = spec["edges"]
    # searchsorted(side="left"): bin i holds edges[i-1] < x <= edges[i].
    expression = F.lit(str(len(edges)))
    for i in reversed(range(len(edges))):
        expression = F.when(column <= F.lit(edges[i]), F.lit(str(i))).otherwise(expression)
    return F.when(column.isNull() | F.isnan(column), F.lit(MISSING)).otherwise(expression)


def current_shares(
    df: DataFrame, profiles: dict[str, dict[str, Any]]
) -> dict[str, dict[str, float]]:
    """Shares per bin of every profiled column, in a single aggregation pass."""
    from pyspark.sql import functions as F

    aggregations = [F.count(F.lit(1)).alias("__rows")]
    labels: list[tuple[str, str, str]] = []
    for name, spec in profiles.items():
        bucket = bin_expression(F.col(name), spec)
        for bin_label in spec["shares"]:
            alias = f"b{len(labels)}"
            labels.append((name, bin_label, alias))
            aggregations.append(F.sum(F.when(bucket == bin_label, 1).otherwise(0)).alias(alias))
    row = df.agg(*aggregations).collect()[0]
    rows = max(int(row["__rows"]), 1)
    result: dict[str, dict[str, float]] = {name: {} for name in profiles}
    for name, bin_label, alias in labels:
        result[name][bin_label] = float(row[alias] or 0) / rows
    return result


def psi(expected: dict[str, float], actual: dict[str, float]) -> float:
    """sum((a - e) * ln(a / e)) over the bins of the reference, shares floored at EPSILON."""
    total = 0.0
    for key, e in expected.items():
        a = max(actual.get(key, 0.0), EPSILON)
        e = max(e, EPSILON)
        total += (a - e) * math.log(a / e)
    return total
