"""One Spark pass that sketches today's data on the reference profile's terms.

Each partition folds its Arrow batches into small per-column summaries with numpy (counts
per decile and grid bin, sums, tail gaps, counts below/at each value of a small reference
sample, category counts); only those summaries, one per partition, reach the driver,
where they are added up. No row of data is collected, and memory does not grow with the
number of rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from driftline.data.profile import (
    GRID_BINS,
    OTHER,
    grid_bin_index,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import DataFrame

# Distinct categories counted exactly per column; beyond this they are counted as OTHER.
MAX_CATEGORIES = 10_000


@dataclass
class NumericSketch:
    """Today's values of one numeric column, summarised against its reference."""

    rows: int = 0
    missing: int = 0
    count: int = 0
    total: float = 0.0
    total_squares: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")
    below: int = 0  # values under the reference's min ...
    below_gap: float = 0.0  # ... and the sum of their distances to it
    above: int = 0
    above_gap: float = 0.0
    # numpy arrays (lists in the JSON that travels between executors and driver)
    decile_counts: Any = None
    grid_counts: Any = None
    grid_sums: Any = None
    # Against the reference sample's distinct sorted values u: `less` holds counts per
    # gap (u[i-1] <= v < u[i]), so its cumulative sum at j is #(v < u[j]);
    # equal[j] = #(v == u[j]).
    less: Any = None
    equal: Any = None
    values: dict[str, int] = field(default_factory=dict)


@dataclass
class CategoricalSketch:
    rows: int = 0
    missing: int = 0
    counts: dict[str, int] = field(default_factory=dict)


Sketch = NumericSketch | CategoricalSketch


def scan(df: DataFrame, profiles: dict[str, dict[str, Any]]) -> dict[str, Sketch]:
    """Sketches of every profiled column of `df`, computed on the executors."""
    specs = {name: _spec(profile) for name, profile in profiles.items()}
    columns = list(specs)

    def fold(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        state = {name: _empty(spec) for name, spec in specs.items()}
        for batch in batches:
            for name, spec in specs.items():
                _add(state[name], spec, batch.column(batch.schema.get_field_index(name)))
        payload = json.dumps({name: _to_json(sketch) for name, sketch in state.items()})
        yield pa.RecordBatch.from_pydict({"payload": [payload]})

    partials = df.select(*columns).mapInArrow(fold, "payload string").collect()
    merged = {name: _empty(spec) for name, spec in specs.items()}
    for row in partials:
        for name, data in json.loads(row["payload"]).items():
            _merge(merged[name], data)
    return merged


def sketch_table(table: pa.Table, profiles: dict[str, dict[str, Any]]) -> dict[str, Sketch]:
    """The same sketches from an Arrow table in this process (small data, tests)."""
    specs = {name: _spec(profile) for name, profile in profiles.items()}
    state = {name: _empty(spec) for name, spec in specs.items()}
    for batch in table.to_batches():
        for name, spec in specs.items():
            _add(state[name], spec, batch.column(batch.schema.get_field_index(name)))
    return state


@dataclass(frozen=True)
class _Spec:
    """What the executors need from a profile (the profile minus its shares and sample)."""

    kind: str
    edges: tuple[float, ...] = ()
    low: float | None = None
    high: float | None = None
    sample_values: tuple[float, ...] = ()
    low_cardinality: bool = False


def _spec(profile: dict[str, Any]) -> _Spec:
    import numpy as np

    if profile["type"] == "categorical":
        return _Spec("categorical")
    sample = profile.get("sample")
    return _Spec(
        "numeric",
        edges=tuple(profile.get("edges", [])),
        low=profile.get("min"),
        high=profile.get("max"),
        sample_values=tuple(float(v) for v in np.unique(sample)) if sample else (),
        low_cardinality="values" in profile,
    )


def _empty(spec: _Spec) -> Sketch:
    if spec.kind == "categorical":
        return CategoricalSketch()
    import numpy as np

    grid = GRID_BINS if spec.low is not None else 0
    return NumericSketch(
        decile_counts=np.zeros(len(spec.edges) + 1, dtype=np.int64),
        grid_counts=np.zeros(grid, dtype=np.int64),
        grid_sums=np.zeros(grid, dtype=np.float64),
        less=np.zeros(len(spec.sample_values) + 1, dtype=np.int64),
        equal=np.zeros(len(spec.sample_values), dtype=np.int64),
    )


def _add(sketch: Sketch, spec: _Spec, column: pa.Array) -> None:
    if isinstance(sketch, CategoricalSketch):
        _add_categorical(sketch, column)
    else:
        _add_numeric(sketch, spec, column)


def _add_categorical(sketch: CategoricalSketch, column: pa.Array) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    sketch.rows += len(column)
    sketch.missing += column.null_count
    for item in pc.value_counts(pc.cast(column, pa.string()).drop_null()).to_pylist():
        key = str(item["values"])
        if key in sketch.counts or len(sketch.counts) < MAX_CATEGORIES:
            sketch.counts[key] = sketch.counts.get(key, 0) + int(item["counts"])
        else:
            sketch.counts[OTHER] = sketch.counts.get(OTHER, 0) + int(item["counts"])


def _add_numeric(sketch: NumericSketch, spec: _Spec, column: pa.Array) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    finite = values[np.isfinite(values)]
    sketch.rows += len(values)
    sketch.missing += len(values) - finite.size
    if finite.size == 0:
        return
    sketch.count += int(finite.size)
    sketch.total += float(finite.sum())
    sketch.total_squares += float(np.dot(finite, finite))
    sketch.minimum = min(sketch.minimum, float(finite.min()))
    sketch.maximum = max(sketch.maximum, float(finite.max()))
    sketch.decile_counts += np.bincount(
        np.searchsorted(np.asarray(spec.edges), finite, side="left"),
        minlength=len(spec.edges) + 1,
    )
    if spec.low is not None and spec.high is not None:
        below = finite[finite < spec.low]
        above = finite[finite > spec.high]
        sketch.below += int(below.size)
        sketch.below_gap += float((spec.low - below).sum())
        sketch.above += int(above.size)
        sketch.above_gap += float((above - spec.high).sum())
        inside = finite[(finite >= spec.low) & (finite <= spec.high)]
        index = grid_bin_index(inside, spec.low, spec.high)
        sketch.grid_counts += np.bincount(index, minlength=GRID_BINS)
        sketch.grid_sums += np.bincount(index, weights=inside, minlength=GRID_BINS)
    if spec.sample_values:
        _count_against_sample(sketch, np.asarray(spec.sample_values), finite)
    if spec.low_cardinality:
        distinct, counts = np.unique(finite, return_counts=True)
        for value, count in zip(distinct, counts, strict=True):
            key = repr(float(value))
            if key in sketch.values or len(sketch.values) < MAX_CATEGORIES:
                sketch.values[key] = sketch.values.get(key, 0) + int(count)
            else:
                sketch.values[OTHER] = sketch.values.get(OTHER, 0) + int(count)


def _count_against_sample(sketch: NumericSketch, distinct: np.ndarray, finite: np.ndarray) -> None:
    import numpy as np

    # right-searchsorted index i means distinct[i-1] <= v < distinct[i]; the cumulative sum
    # over i <= j then counts v < distinct[j] (done on the driver).
    sketch.less += np.bincount(
        np.searchsorted(distinct, finite, side="right"), minlength=distinct.size + 1
    )
    at = np.searchsorted(distinct, finite, side="left")
    hit = at < distinct.size
    hit[hit] = distinct[at[hit]] == finite[hit]
    sketch.equal += np.bincount(at[hit], minlength=distinct.size)


def _to_json(sketch: Sketch) -> dict[str, Any]:
    import numpy as np

    data = {
        key: value.tolist() if isinstance(value, np.ndarray) else value
        for key, value in sketch.__dict__.items()
    }
    if isinstance(sketch, NumericSketch) and sketch.count == 0:
        data["minimum"] = data["maximum"] = None
    return data


def _merge(target: Sketch, data: dict[str, Any]) -> None:
    import numpy as np

    for key, value in data.items():
        current = getattr(target, key)
        if key == "minimum":
            if value is not None:
                target.minimum = min(current, value)  # type: ignore[union-attr]
        elif key == "maximum":
            if value is not None:
                target.maximum = max(current, value)  # type: ignore[union-attr]
        elif isinstance(current, np.ndarray):
            current += np.asarray(value, dtype=current.dtype)
        elif isinstance(current, dict):
            merged = Counter(current)
            merged.update(value)
            setattr(target, key, dict(merged))
        else:
            setattr(target, key, current + value)


__all__ = ["CategoricalSketch", "NumericSketch", "Sketch", "scan", "sketch_table"]
