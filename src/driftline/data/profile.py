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
  like a categorical one;
- `day_effect`: how far the reference's own days stray from the whole reference (the
  largest per-day effect size), so monitoring does not call a pattern the training window
  already covers, such as a weekday cycle, drift.

The profile of a model also records its training labels' positive rate, against which
monitoring tests the matured labels for prior shift.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
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
# Evidently divides the Wasserstein distance by the reference's standard deviation, with
# this floor for constant references.
MIN_NORM = 0.001


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


def jensenshannon(reference: Mapping[str, float], current: Mapping[str, float]) -> float | None:
    """Jensen-Shannon distance (natural log) between two count vectors over their union
    of keys; None when either side is empty."""
    from scipy.spatial.distance import jensenshannon as distance

    keys = sorted(set(reference) | set(current))
    p = [float(reference.get(k, 0.0)) for k in keys]
    q = [float(current.get(k, 0.0)) for k in keys]
    if sum(p) <= 0 or sum(q) <= 0:
        return None
    return float(distance(p, q))


def effect_size(profile: dict[str, Any], values: Sequence[Any] | np.ndarray) -> float | None:
    """The effect size monitoring judges a change by, from raw values: the Jensen-Shannon
    distance of value counts for categorical and few-valued numeric features, otherwise
    the Wasserstein distance divided by the reference's standard deviation."""
    import numpy as np
    from scipy.stats import wasserstein_distance

    if profile["type"] == "categorical":
        counts = Counter(str(v) for v in values if v is not None)
        return jensenshannon(profile.get("counts", {}), counts)
    array = np.asarray(values, dtype=np.float64)
    finite = array[np.isfinite(array)]
    if not finite.size or ("sample" not in profile and "grid" not in profile):
        return None
    if "values" in profile:
        seen = Counter(repr(float(v)) for v in finite)
        return jensenshannon(profile["values"], seen)
    reference, weights = _reference_values(profile)
    distance = float(wasserstein_distance(reference, finite, u_weights=weights))
    return distance / max(float(profile["std"]), MIN_NORM)


def day_effect(
    profile: dict[str, Any], values: Sequence[Any] | np.ndarray, days: np.ndarray, min_rows: int
) -> dict[str, Any] | None:
    """The largest effect size of one reference day against the whole reference, over the
    days with at least `min_rows` values; None with fewer than two such days."""
    import numpy as np

    column = np.asarray(values, dtype=object if profile["type"] == "categorical" else np.float64)
    effects: list[float] = []
    for day in np.unique(days):
        rows = column[days == day]
        if len(rows) < min_rows:
            continue
        effect = effect_size(profile, rows)
        if effect is not None:
            effects.append(effect)
    if len(effects) < 2:
        return None
    return {"days": len(effects), "max": float(max(effects)), "median": float(np.median(effects))}


def label_profile(labels: np.ndarray) -> dict[str, int]:
    """Rows and positives of the training labels (binary 0/1)."""
    import numpy as np

    known = np.asarray(labels, dtype=np.float64)
    known = known[np.isfinite(known)]
    return {"rows": int(known.size), "positives": int((known > 0.5).sum())}


def _reference_values(profile: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """The reference's values and their weights: its sample where kept, else its grid's
    bin means weighted by count (within a bin's width of the exact distance)."""
    import numpy as np

    if "sample" in profile:
        return np.asarray(profile["sample"], dtype=np.float64), None
    grid = profile["grid"]
    counts = np.asarray(grid["counts"], dtype=np.float64)
    sums = np.asarray(grid["sums"], dtype=np.float64)
    kept = counts > 0
    return sums[kept] / counts[kept], counts[kept]
