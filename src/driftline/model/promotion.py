"""The promotion gate: may a challenger replace the champion?

`decide` is pure (numbers in, decision out) so the policy is testable on its own;
`evaluate` produces those numbers by scoring both models on the challenger's frozen
holdout, read at the Delta versions the challenger was trained from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from driftline.core.pipeline import PromotionPolicy

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


@dataclass(frozen=True)
class Evaluation:
    """A model's metric on the holdout, overall and per slice (`region=north`)."""

    overall: float
    slices: dict[str, float] = field(default_factory=dict)
    rows: int = 0


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: list[str]
    improvement: float
    slice_changes: dict[str, float]


def _gain(metric: str, champion: float, challenger: float) -> float:
    """Positive when the challenger is better, whatever direction the metric runs."""
    return challenger - champion if metric == "auc" else champion - challenger


def decide(champion: Evaluation, challenger: Evaluation, policy: PromotionPolicy) -> Decision:
    improvement = _gain(policy.metric, champion.overall, challenger.overall)
    reasons = []
    if improvement < policy.margin:
        reasons.append(
            f"{policy.metric} {challenger.overall:.4f} vs champion {champion.overall:.4f}: "
            f"gain {improvement:+.4f} is below the margin {policy.margin}"
        )
    changes = {
        name: _gain(policy.metric, champion.slices[name], value)
        for name, value in challenger.slices.items()
        if name in champion.slices
    }
    worse = {name: change for name, change in changes.items() if change < -policy.slice_tolerance}
    for name, change in sorted(worse.items()):
        reasons.append(
            f"slice {name} gets worse by {-change:.4f} (tolerance {policy.slice_tolerance})"
        )
    if not reasons:
        reasons.append(
            f"{policy.metric} {challenger.overall:.4f} beats champion {champion.overall:.4f} by "
            f"{improvement:+.4f} (margin {policy.margin}); no slice worse than "
            f"{policy.slice_tolerance}"
        )
    return Decision(not worse and improvement >= policy.margin, reasons, improvement, changes)


def metric_value(metric: str, labels: np.ndarray, scores: np.ndarray) -> float | None:
    """The metric, or None where it is undefined (a slice with one class only)."""
    import numpy as np
    from sklearn.metrics import log_loss, roc_auc_score

    if metric == "auc":
        return float(roc_auc_score(labels, scores)) if len(np.unique(labels)) == 2 else None
    return float(log_loss(labels, scores, labels=[0, 1]))


def evaluate(
    scores: np.ndarray, labels: np.ndarray, data: pa.Table, policy: PromotionPolicy
) -> Evaluation:
    import numpy as np

    overall = metric_value(policy.metric, labels, scores)
    if overall is None:
        raise ValueError("the holdout has a single class: it cannot rank two models")
    slices: dict[str, float] = {}
    for column in policy.slices:
        values = np.asarray(data.column(column).to_pylist(), dtype=object)
        for value in sorted({v for v in values if v is not None}, key=str):
            mask = values == value
            if mask.sum() < policy.min_slice_rows:
                continue
            result = metric_value(policy.metric, labels[mask], scores[mask])
            if result is not None:
                slices[f"{column}={value}"] = result
    return Evaluation(overall, slices, len(labels))


def as_numbers(evaluation: Evaluation) -> dict[str, Any]:
    return {"overall": evaluation.overall, "rows": evaluation.rows, **evaluation.slices}
