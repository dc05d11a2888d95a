"""The promotion gate: may a challenger replace the champion?

`decide` is pure (numbers in, decision out) so the policy is testable on its own;
`evaluate` produces those numbers by scoring both models on the challenger's frozen
holdout, read at the Delta versions the challenger was trained from, and
`paired_interval` says how sure the gain is: a paired bootstrap, each round resampling the
holdout's rows once and judging both models on that one resample, so rows both find hard
cancel out and the interval is much narrower than two separate ones would be. It works
for any metric of any task (DeLong's would serve AUC alone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from driftline.core.pipeline import PromotionPolicy
from driftline.core.tasks import Task, better
from driftline.model.judging import metric_value, resampled_metric

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    import pyarrow as pa


@dataclass(frozen=True)
class Evaluation:
    """A model's metric on the holdout, overall and per slice (`region=north`)."""

    overall: float
    slices: dict[str, float] = field(default_factory=dict)
    rows: int = 0


# Fewest holdout rows of a class for a bootstrap interval of the gain to mean anything.
MIN_CLASS_ROWS = 5
# Drawn rows judged at once by the bootstrap: about 16 MB of indices per block.
BOOTSTRAP_BLOCK_VALUES = 2_000_000


@dataclass(frozen=True)
class Interval:
    """The challenger's gain over the champion (positive is better) at `confidence`."""

    low: float
    high: float
    confidence: float
    rounds: int

    def describe(self) -> str:
        return f"{self.confidence:.0%} interval {self.low:+.4f}..{self.high:+.4f}"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: list[str]
    improvement: float
    slice_changes: dict[str, float]
    interval: Interval | None = None
    slice_intervals: dict[str, Interval] = field(default_factory=dict)


def _gain(metric: str, champion: float, challenger: float) -> float:
    """Positive when the challenger is better, whatever direction the metric runs."""
    return better(metric, challenger, champion)


def decide(
    champion: Evaluation,
    challenger: Evaluation,
    policy: PromotionPolicy,
    metric: str,
    interval: Interval | None = None,
    slice_intervals: dict[str, Interval] | None = None,
    interval_required: bool = False,
) -> Decision:
    """`metric` is the pipeline's promotion metric (`PipelineConfig.promotion_metric`);
    `interval` the gain's paired interval. With `interval_required` (the policy asks for
    one) a holdout that cannot give one rejects: not knowing is not being sure."""
    improvement = _gain(metric, champion.overall, challenger.overall)
    reasons = []
    if improvement < policy.margin:
        reasons.append(
            f"{metric} {challenger.overall:.4f} vs champion {champion.overall:.4f}: "
            f"gain {improvement:+.4f} is below the margin {policy.margin}"
        )
    elif interval is None and interval_required:
        reasons.append(
            f"{metric} gain {improvement:+.4f} reaches the margin {policy.margin}, but "
            f"{challenger.rows} holdout rows cannot give a {policy.confidence:.0%} interval "
            f"of it (each class needs {MIN_CLASS_ROWS} rows): not promoted"
        )
    elif interval is not None and interval.low < policy.margin:
        reasons.append(
            f"{metric} {challenger.overall:.4f} vs champion {champion.overall:.4f}: gain "
            f"{improvement:+.4f} reaches the margin {policy.margin} but its "
            f"{interval.describe()} does not, on {challenger.rows} holdout rows: the win "
            "cannot be told from the holdout's luck"
        )
    changes = {
        name: _gain(metric, champion.slices[name], value)
        for name, value in challenger.slices.items()
        if name in champion.slices
    }
    worse = {name: change for name, change in changes.items() if change < -policy.slice_tolerance}
    for name, change in sorted(worse.items()):
        reasons.append(
            f"slice {name} gets worse by {-change:.4f} (tolerance {policy.slice_tolerance})"
        )
    if not reasons:
        sure = f", {interval.describe()}" if interval is not None else ""
        reasons.append(
            f"{metric} {challenger.overall:.4f} beats champion {champion.overall:.4f} by "
            f"{improvement:+.4f} (margin {policy.margin}{sure}); no slice worse than "
            f"{policy.slice_tolerance}"
        )
    sure_enough = interval.low >= policy.margin if interval is not None else not interval_required
    return Decision(
        not worse and improvement >= policy.margin and sure_enough,
        reasons,
        improvement,
        changes,
        interval,
        dict(slice_intervals or {}),
    )


def evaluate(
    scores: np.ndarray,
    labels: np.ndarray,
    data: pa.Table,
    policy: PromotionPolicy,
    task: Task,
    metric: str,
) -> Evaluation:
    """The model's `metric` on the holdout, overall and on each slice with enough rows."""

    overall = metric_value(task, metric, labels, scores)
    if overall is None:
        raise ValueError(f"{metric} is undefined on this holdout (a single label value)")
    slices: dict[str, float] = {}
    for name, mask in slice_masks(data, policy):
        result = metric_value(task, metric, labels[mask], scores[mask])
        if result is not None:
            slices[name] = result
    return Evaluation(overall, slices, len(labels))


def slice_masks(data: pa.Table, policy: PromotionPolicy) -> Iterator[tuple[str, np.ndarray]]:
    """(`column=value`, its rows) for each slice of `policy.slices` with enough rows."""
    import numpy as np

    for column in policy.slices:
        values = np.asarray(data.column(column).to_pylist(), dtype=object)
        for value in sorted({v for v in values if v is not None}, key=str):
            mask = values == value
            if mask.sum() >= policy.min_slice_rows:
                yield f"{column}={value}", mask


def paired_interval(
    task: Task,
    metric: str,
    labels: np.ndarray,
    champion_scores: np.ndarray,
    challenger_scores: np.ndarray,
    policy: PromotionPolicy,
    seed: int,
) -> Interval | None:
    """The challenger's gain at `policy.confidence` by a seeded paired percentile
    bootstrap; None when the policy turns it off or the holdout cannot give one. For a
    classification task each class is resampled within itself (its count kept), so every
    resample has both classes and the interval is not conditioned on the rare one turning
    up; a class with fewer than `MIN_CLASS_ROWS` rows gives no interval at all. Rounds
    shrink on large holdouts (at least 50; about 20M rows judged per model in all), where
    the interval is narrow anyway."""
    import numpy as np

    if policy.confidence == 0 or len(labels) < 2:
        return None
    rows = len(labels)
    if task.kind == "regression":
        strata = [np.arange(rows)]
    else:
        strata = [np.flatnonzero(labels == value) for value in np.unique(labels)]
        if len(strata) < 2 or min(len(s) for s in strata) < MIN_CLASS_ROWS:
            return None
    rng = np.random.default_rng(seed)
    rounds = max(50, min(policy.bootstrap_rounds, 20_000_000 // rows))
    # Rounds are drawn one by one (a re-run draws the same rows) and judged a block at a
    # time, a block holding about BOOTSTRAP_BLOCK_VALUES drawn rows.
    block = max(1, BOOTSTRAP_BLOCK_VALUES // rows)
    gains: list[float] = []
    for start in range(0, rounds, block):
        picks = np.stack(
            [
                np.concatenate([rng.choice(s, len(s)) for s in strata])
                for _ in range(min(block, rounds - start))
            ]
        )
        before = resampled_metric(task, metric, labels, champion_scores, picks)
        after = resampled_metric(task, metric, labels, challenger_scores, picks)
        judged = ~(np.isnan(before) | np.isnan(after))
        gains.extend(
            better(metric, float(a), float(b))
            for a, b in zip(after[judged], before[judged], strict=True)
        )
    if len(gains) < rounds // 2:
        return None
    tail = (1 - policy.confidence) / 2
    low, high = np.quantile(gains, [tail, 1 - tail])
    return Interval(float(low), float(high), policy.confidence, len(gains))


def slice_intervals(
    task: Task,
    metric: str,
    labels: np.ndarray,
    champion_scores: np.ndarray,
    challenger_scores: np.ndarray,
    data: pa.Table,
    policy: PromotionPolicy,
    seed: int,
) -> dict[str, Interval]:
    """The paired interval of each slice `evaluate` judges, on the slice's own rows."""
    found: dict[str, Interval] = {}
    for name, mask in slice_masks(data, policy):
        interval = paired_interval(
            task, metric, labels[mask], champion_scores[mask], challenger_scores[mask], policy, seed
        )
        if interval is not None:
            found[name] = interval
    return found


def as_numbers(evaluation: Evaluation) -> dict[str, Any]:
    return {"overall": evaluation.overall, "rows": evaluation.rows, **evaluation.slices}
