"""Segment gaps: does the champion serve some segments worse than others?

For each segment feature (`monitoring.accuracy.segments`), the best and the worst of its
values on the task's live metrics, from the per-segment accuracy the night already
computed: AUC, recall and positive-prediction rate for a binary model, mean absolute error
for a regression, accuracy for a multiclass one. A gap alerts only when it is both above
its configured maximum and larger than the two segments' sampling noise explains: a
two-proportion test for recall, positive rate and accuracy, Hanley and McNeil's standard
error for AUC, and Welch's test on the absolute errors for MAE (their variance is
RMSE² - MAE², so the sums already kept suffice). Pure: counts in, gaps out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from driftline.core.pipeline import SegmentGapConfig
from driftline.core.tasks import Task
from driftline.monitoring.accuracy import OVERALL, Accuracy, auc_standard_error


@dataclass(frozen=True)
class SegmentGap:
    feature: str  # the segment feature, e.g. "region"
    metric: str  # auc | recall | positive_rate | mae | accuracy
    gap: float  # how much worse the worst segment is than the best, >= 0
    best: str  # "region=north"
    worst: str
    values: dict[str, float]  # every compared segment's value
    support: dict[str, int]  # its matured labels (auc, recall) or predictions
    p_value: float | None
    threshold: float | None
    breached: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def segment_gaps(
    accuracy: list[Accuracy], config: SegmentGapConfig, task: Task | None = None
) -> list[SegmentGap]:
    """One gap per segment feature and metric where at least two segments have support."""
    by_feature: dict[str, list[Accuracy]] = {}
    for a in accuracy:
        if a.segment != OVERALL:
            by_feature.setdefault(a.segment.split("=", 1)[0], []).append(a)
    kind = task.kind if task is not None else "binary"
    limits = {
        "binary": {
            "auc": config.max_auc_gap,
            "recall": config.max_recall_gap,
            "positive_rate": config.max_positive_rate_gap,
        },
        "regression": {"mae": config.max_mae_gap},
        "multiclass": {"accuracy": config.max_accuracy_gap},
    }[kind]
    gaps = []
    for feature, segments in sorted(by_feature.items()):
        for metric, limit in limits.items():
            gap = _gap(feature, metric, segments, config.min_support)
            if gap is None:
                continue
            worst = next(a for a in segments if a.segment == gap.worst)
            best = next(a for a in segments if a.segment == gap.best)
            p_value = _p_value(metric, best, worst)
            breached = (
                limit is not None
                and gap.gap > limit
                and p_value is not None
                and p_value < config.p_value
            )
            gaps.append(
                SegmentGap(
                    feature,
                    metric,
                    gap.gap,
                    gap.best,
                    gap.worst,
                    gap.values,
                    gap.support,
                    p_value,
                    limit,
                    bool(breached),
                )
            )
    return gaps


def _value(metric: str, a: Accuracy) -> tuple[float | None, int]:
    """The segment's value of `metric` and the rows it stands on."""
    if metric == "positive_rate":
        return a.positive_rate, a.predictions
    return a.value(metric), a.labelled


def _gap(
    feature: str, metric: str, segments: list[Accuracy], min_support: int
) -> SegmentGap | None:
    values: dict[str, float] = {}
    support: dict[str, int] = {}
    for a in segments:
        value, rows = _value(metric, a)
        if value is not None and rows >= min_support:
            values[a.segment], support[a.segment] = value, rows
    if len(values) < 2:
        return None
    highest = max(values, key=lambda k: (values[k], k))
    lowest = min(values, key=lambda k: (values[k], k))
    # An error (MAE) is best where it is lowest; the positive rate has no better side and
    # reads highest against lowest, like the scores.
    best, worst = (highest, lowest) if metric != "mae" else (lowest, highest)
    gap = abs(values[best] - values[worst])
    return SegmentGap(feature, metric, gap, best, worst, values, support, None, None, False)


def _p_value(metric: str, best: Accuracy, worst: Accuracy) -> float | None:
    """Two-sided p-value of the difference between the two segments."""
    from scipy.stats import norm

    if metric == "auc":
        errors = [_auc_standard_error(a) for a in (best, worst)]
        if best.auc is None or worst.auc is None or None in errors:
            return None
        spread = math.sqrt(sum(e * e for e in errors if e is not None))
        difference = best.auc - worst.auc
    elif metric == "mae":
        return _welch_p_value(best, worst)
    else:
        if metric == "recall":
            counts = [(round((a.recall or 0.0) * a.positives), a.positives) for a in (best, worst)]
        elif metric == "accuracy":
            counts = [
                (round((a.value("accuracy") or 0.0) * a.labelled), a.labelled)
                for a in (best, worst)
            ]
        else:
            counts = [(a.flagged, a.predictions) for a in (best, worst)]
        (hits_a, n_a), (hits_b, n_b) = counts
        if not n_a or not n_b:
            return None
        pooled = (hits_a + hits_b) / (n_a + n_b)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
        difference = hits_a / n_a - hits_b / n_b
    if spread == 0:
        return 0.0 if difference else 1.0
    return float(2 * norm.sf(abs(difference) / spread))


def _welch_p_value(best: Accuracy, worst: Accuracy) -> float | None:
    """Welch's two-sided t-test that the segments' mean absolute errors differ: each
    segment's sample variance of |error| is (RMSE² - MAE²) n / (n - 1), the degrees of
    freedom Welch-Satterthwaite's; equal to scipy's `ttest_ind(equal_var=False)` on the
    absolute errors themselves."""
    from scipy.stats import t

    moments = []
    for a in (best, worst):
        mae, rmse = a.value("mae"), a.value("rmse")
        n = a.labelled
        if mae is None or rmse is None or n < 2:
            return None
        moments.append((mae, max(rmse * rmse - mae * mae, 0.0) * n / (n - 1), n))
    (mean_a, var_a, n_a), (mean_b, var_b, n_b) = moments
    share_a, share_b = var_a / n_a, var_b / n_b
    spread = math.sqrt(share_a + share_b)
    difference = mean_a - mean_b
    if spread == 0:
        return 0.0 if difference else 1.0
    freedom = (share_a + share_b) ** 2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
    return float(2 * t.sf(abs(difference) / spread, freedom))


def _auc_standard_error(a: Accuracy) -> float | None:
    if a.auc is None:
        return None
    positives, negatives = a.positives, a.labelled - a.positives
    if not positives or not negatives:
        return None
    return auc_standard_error(a.auc, positives, negatives)
