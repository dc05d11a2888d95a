"""Reference profiles: what a model's training data looked like, stored with the model.

Monitoring never re-reads the training data. Each model version carries, per feature and
for its score, the sketches the drift metrics need:

- `edges`/`shares`: deciles and the share of values in each (plus missing), for PSI and the
  Jensen-Shannon distance of numeric features;
- `grid`: counts and sums of values in `GRID_BINS` equal-width bins between the reference's
  min and max, from which the integral of the CDF over each bin is exact, so the
  Wasserstein distance is exact wherever the two CDFs do not cross inside a bin;
- `sample`: the sorted values themselves when the reference is small (where the
  Kolmogorov-Smirnov test is the one chosen, and is then exact);
- `values`: counts of each value of a numeric feature with few distinct values, tested
  like a categorical one.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

MISSING = "__missing__"
OTHER = "__other__"
# Shares are floored at this value before taking logs, so an empty bin gives a large but
# finite PSI instead of infinity.
EPSILON = 1e-4
GRID_BINS = 512
# A numeric feature with at most this many distinct values is tested like a categorical
# one (Evidently's rule), from exact value counts.
LOW_CARDINALITY = 5
# References up to this size keep their sorted values: enough for an exact KS test.
SAMPLE_LIMIT = 5000


def numeric_profile(values: np.ndarray, bins: int = 10) -> dict[str, Any]:
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    total = max(values.size, 1)
    if finite.size == 0:
        edges: list[float] = []
    else:
        quantiles = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
        edges = sorted({float(q) for q in quantiles})
    counts = np.bincount(np.searchsorted(edges, finite, side="left"), minlength=len(edges) + 1)
    shares = {str(i): float(c) / total for i, c in enumerate(counts)}
    shares[MISSING] = float(values.size - finite.size) / total
    profile: dict[str, Any] = {
        "type": "numeric",
        "rows": int(values.size),
        "count": int(finite.size),
        "edges": edges,
        "shares": shares,
    }
    if finite.size == 0:
        return profile
    low, high = float(finite.min()), float(finite.max())
    grid_counts, grid_sums = grid_histogram(finite, low, high)
    distinct = np.unique(finite)
    profile.update(
        {
            "min": low,
            "max": high,
            "mean": float(finite.mean()),
            "std": float(finite.std()),
            "n_unique": int(min(distinct.size, LOW_CARDINALITY + 1)),
            "grid": {"low": low, "high": high, "counts": grid_counts, "sums": grid_sums},
        }
    )
    if finite.size <= SAMPLE_LIMIT:
        profile["sample"] = [float(v) for v in np.sort(finite)]
    if distinct.size <= LOW_CARDINALITY:
        values_seen, counts_seen = np.unique(finite, return_counts=True)
        profile["values"] = {
            repr(float(v)): int(c) for v, c in zip(values_seen, counts_seen, strict=True)
        }
    return profile


def categorical_profile(values: list[Any]) -> dict[str, Any]:
    counts = Counter(MISSING if v is None else str(v) for v in values)
    total = max(len(values), 1)
    shares = {k: c / total for k, c in counts.items()}
    shares.setdefault(MISSING, 0.0)
    shares.setdefault(OTHER, 0.0)
    return {
        "type": "categorical",
        "rows": len(values),
        "count": len(values) - counts.get(MISSING, 0),
        "shares": shares,
        "counts": {k: c for k, c in counts.items() if k != MISSING},
    }


def grid_bin_index(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """The grid bin of each value in [low, high] (all in bin 0 when low == high)."""
    import numpy as np

    if high <= low:
        return np.zeros(values.shape, dtype=np.int64)
    index = np.floor((values - low) / (high - low) * GRID_BINS).astype(np.int64)
    return np.clip(index, 0, GRID_BINS - 1)


def grid_histogram(finite: np.ndarray, low: float, high: float) -> tuple[list[int], list[float]]:
    """Counts and sums of the values inside [low, high] per grid bin."""
    import numpy as np

    inside = finite[(finite >= low) & (finite <= high)]
    index = grid_bin_index(inside, low, high)
    counts = np.bincount(index, minlength=GRID_BINS)
    sums = np.bincount(index, weights=inside, minlength=GRID_BINS)
    return [int(c) for c in counts], [float(s) for s in sums]


def psi(expected: dict[str, float], actual: dict[str, float]) -> float:
    """sum((a - e) * ln(a / e)) over the bins of the reference, shares floored at EPSILON."""
    total = 0.0
    for key, e in expected.items():
        a = max(actual.get(key, 0.0), EPSILON)
        e = max(e, EPSILON)
        total += (a - e) * math.log(a / e)
    return total
