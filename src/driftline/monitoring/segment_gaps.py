"""Segment gaps: does the champion serve some segments worse than others?

For each segment feature (`monitoring.accuracy.segments`), the best and the worst of its
values on live AUC, recall and positive-prediction rate, from the per-segment accuracy the
night already computed. A gap alerts only when it is both above its configured maximum and
larger than the two segments' sampling noise explains: a two-proportion test for recall
and positive rate, Hanley and McNeil's standard error for AUC. Pure: counts in, gaps out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from driftline.core.pipeline import SegmentGapConfig
from driftline.monitoring.accuracy import OVERALL, Accuracy


@dataclass(frozen=True)
class SegmentGap:
    feature: str  # the segment feature, e.g. "region"
    metric: str  # auc | recall | positive_rate
    gap: float  # best minus worst, >= 0
    best: str  # "region=north"
    worst: str
    values: dict[str, float]  # every compared segment's value
    support: dict[str, int]  # its matured labels (auc, recall) or predictions
    p_value: float | None
    threshold: float | None
    breached: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def segment_gaps(accuracy: list[Accuracy], config: SegmentGapConfig) -> list[SegmentGap]:
    """One gap per segment feature and metric where at least two segments have support."""
    by_feature: dict[str, list[Accuracy]] = {}
    for a in accuracy:
        if a.segment != OVERALL:
            by_feature.setdefault(a.segment.split("=", 1)[0], []).append(a)
    limits = {
        "auc": config.max_auc_gap,
        "recall": config.max_recall_gap,
        "positive_rate": config.max_positive_rate_gap,
    }
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
    return (a.auc if metric == "auc" else a.recall), a.labelled


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
    best = max(values, key=lambda k: (values[k], k))
    worst = min(values, key=lambda k: (values[k], k))
    gap = values[best] - values[worst]
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
    else:
        if metric == "recall":
            counts = [(round((a.recall or 0.0) * a.positives), a.positives) for a in (best, worst)]
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


def _auc_standard_error(a: Accuracy) -> float | None:
    """Hanley and McNeil (1982): the AUC's standard error from its value and class sizes."""
    if a.auc is None:
        return None
    positives, negatives = a.positives, a.labelled - a.positives
    if not positives or not negatives:
        return None
    auc = a.auc
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))
