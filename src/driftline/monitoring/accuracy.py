"""Live accuracy once delayed labels arrive, overall and per segment.

One Spark aggregation per run: labelled predictions are grouped by segment and by score
bin (`SCORE_BINS` bins in [0, 1]); log loss and the confusion counts at the decision
threshold are summed exactly, and AUC is computed from the binned counts on the driver
(pairs inside one bin count one half, the usual treatment of ties). Only the aggregate
reaches the driver.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SCORE_BINS = 10_000
OVERALL = "all"
# Scores are clipped to [EPS, 1 - EPS] for log loss, as scikit-learn does.
EPS = 1e-15


@dataclass(frozen=True)
class Accuracy:
    segment: str  # "all" or "<feature>=<value>"
    predictions: int
    labelled: int
    positives: int
    auc: float | None
    logloss: float | None
    precision: float | None
    recall: float | None
    # Predictions at or above the decision threshold, labelled or not.
    flagged: int = 0

    @property
    def maturity(self) -> float:
        """The share of predictions whose label has arrived."""
        return self.labelled / self.predictions if self.predictions else 0.0

    @property
    def positive_rate(self) -> float | None:
        """The share of predictions called positive (labels not needed)."""
        return self.flagged / self.predictions if self.predictions else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "maturity": self.maturity, "positive_rate": self.positive_rate}


def accuracy_limit(metric: str, holdout: float, margin: float) -> float:
    """The worst live value the policy tolerates: the champion's frozen-holdout value
    worsened by `margin` (lower for AUC, higher for log loss)."""
    return holdout - margin if metric == "auc" else holdout + margin


def accuracy_breached(
    metric: str, value: float, holdout: float, margin: float, labelled: int, minimum: int
) -> bool:
    """Whether the live metric is worse than its limit, on enough matured labels."""
    limit = accuracy_limit(metric, holdout, margin)
    worse = value < limit if metric == "auc" else value > limit
    return bool(worse and labelled >= minimum)


def live_accuracy(
    scored: DataFrame, segments: list[str], threshold: float, label: str = "label"
) -> list[Accuracy]:
    """`scored` has `score`, a nullable `label` (null until it matures) and the segment
    columns; the result has the overall row first, then one per segment value."""
    from pyspark.sql import functions as F

    pairs = [F.struct(F.lit(OVERALL).alias("name"), F.lit(OVERALL).alias("value"))] + [
        F.struct(
            F.lit(s).alias("name"),
            F.coalesce(F.col(s).cast("string"), F.lit("null")).alias("value"),
        )
        for s in segments
    ]
    labelled = F.col(label).isNotNull()
    y = F.col(label).cast("double")
    p = F.least(F.greatest(F.col("score").cast("double"), F.lit(EPS)), F.lit(1 - EPS))
    predicted = F.col("score") >= F.lit(threshold)
    grouped = (
        scored.select("score", label, F.explode(F.array(*pairs)).alias("segment"))
        .groupBy(
            F.when(F.col("segment.name") == OVERALL, F.lit(OVERALL))
            .otherwise(F.concat_ws("=", "segment.name", "segment.value"))
            .alias("segment"),
            F.when(
                labelled,
                F.least(F.floor(F.col("score") * SCORE_BINS), F.lit(SCORE_BINS - 1)),
            ).alias("bin"),
        )
        .agg(
            F.count(F.lit(1)).alias("predictions"),
            F.count(label).alias("labelled"),
            F.sum(F.when(labelled, y)).alias("positives"),
            F.sum(F.when(labelled, -(y * F.log(p) + (1 - y) * F.log(1 - p)))).alias("loss"),
            F.sum(F.when(labelled & predicted & (y == 1), 1)).alias("tp"),
            F.sum(F.when(labelled & predicted & (y == 0), 1)).alias("fp"),
            F.sum(F.when(predicted, 1)).alias("flagged"),
        )
        .collect()
    )
    by_segment: dict[str, list[Any]] = {}
    for row in grouped:
        by_segment.setdefault(str(row["segment"]), []).append(row)
    results = [_summarise(name, rows) for name, rows in by_segment.items()]
    return sorted(results, key=lambda a: (a.segment != OVERALL, a.segment))


def _summarise(segment: str, rows: list[Any]) -> Accuracy:
    predictions = sum(int(r["predictions"]) for r in rows)
    flagged = sum(int(r["flagged"] or 0) for r in rows)
    binned = sorted((r for r in rows if r["bin"] is not None), key=lambda r: r["bin"])
    labelled = sum(int(r["labelled"]) for r in binned)
    positives = sum(int(r["positives"] or 0) for r in binned)
    negatives = labelled - positives
    if not labelled:
        return Accuracy(segment, predictions, 0, 0, None, None, None, None, flagged)
    tp = sum(int(r["tp"] or 0) for r in binned)
    fp = sum(int(r["fp"] or 0) for r in binned)
    auc = None
    if positives and negatives:
        # Walk the bins from the highest score down: each negative ranks below every
        # positive seen so far, and ties with the positives of its own bin count half.
        above = 0
        concordant = 0.0
        for row in reversed(binned):
            bin_positives = int(row["positives"] or 0)
            bin_negatives = int(row["labelled"]) - bin_positives
            concordant += bin_negatives * (above + 0.5 * bin_positives)
            above += bin_positives
        auc = concordant / (positives * negatives)
    return Accuracy(
        segment=segment,
        predictions=predictions,
        labelled=labelled,
        positives=positives,
        auc=auc,
        logloss=sum(float(r["loss"] or 0.0) for r in binned) / labelled,
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / positives if positives else None,
        flagged=flagged,
    )
