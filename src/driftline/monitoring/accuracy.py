"""Live accuracy once delayed labels arrive, overall and per segment.

One Spark aggregation per run: labelled predictions are grouped by segment and by score
bin (`SCORE_BINS` bins in [0, 1]); log loss and the confusion counts at the decision
threshold are summed exactly, and AUC is computed from the binned counts on the driver
(pairs inside one bin count one half, the usual treatment of ties). Only the aggregate
reaches the driver.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from driftline.core.tasks import Task

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
    # A regression or multiclass model's live metrics (rmse, mae, r2; mlogloss, accuracy,
    # macro_f1): the binary fields above stay None for them.
    metrics: dict[str, float | None] = field(default_factory=dict)

    def value(self, metric: str) -> float | None:
        """The live value of any task's metric."""
        if metric in self.metrics:
            return self.metrics[metric]
        found = getattr(self, metric, None)
        return float(found) if isinstance(found, int | float) else None

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


def auc_standard_error(auc: float, positives: float, negatives: float) -> float:
    """Hanley and McNeil (1982): an AUC's standard error from its value and class sizes."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    return math.sqrt(max(variance, 0.0))


def accuracy_limit(metric: str, holdout: float, margin: float) -> float:
    """The worst live value the policy tolerates: the champion's frozen-holdout value
    worsened by `margin` (lower for AUC or R², higher for a loss or an error)."""
    from driftline.core.tasks import HIGHER_IS_BETTER

    return holdout - margin if metric in HIGHER_IS_BETTER else holdout + margin


def accuracy_breached(
    metric: str, value: float, holdout: float, margin: float, labelled: int, minimum: int
) -> bool:
    """Whether the live metric is worse than its limit, on enough matured labels."""
    from driftline.core.tasks import HIGHER_IS_BETTER

    limit = accuracy_limit(metric, holdout, margin)
    worse = value < limit if metric in HIGHER_IS_BETTER else value > limit
    return bool(worse and labelled >= minimum)


def _segment_pairs(segments: list[str]) -> Column:
    """An array of (segment name, value) per row: the overall one and one per segment."""
    from pyspark.sql import functions as F

    return F.array(
        F.struct(F.lit(OVERALL).alias("name"), F.lit(OVERALL).alias("value")),
        *[
            F.struct(
                F.lit(s).alias("name"),
                F.coalesce(F.col(s).cast("string"), F.lit("null")).alias("value"),
            )
            for s in segments
        ],
    )


def _segment_name() -> Column:
    from pyspark.sql import functions as F

    return (
        F.when(F.col("segment.name") == OVERALL, F.lit(OVERALL))
        .otherwise(F.concat_ws("=", "segment.name", "segment.value"))
        .alias("segment")
    )


def live_accuracy(
    scored: DataFrame,
    segments: list[str],
    threshold: float,
    label: str = "label",
    task: Task | None = None,
) -> list[Accuracy]:
    """`scored` has `score` (and `class_probabilities` for a multiclass model), a nullable
    `label` (null until it matures) and the segment columns; the result has the overall
    row first, then one per segment value. Without a task, or for a binary one, AUC, log
    loss, precision and recall; otherwise the task's metrics (see `regression_accuracy`,
    `multiclass_accuracy`)."""
    from pyspark.sql import functions as F

    if task is not None and task.kind == "regression":
        return regression_accuracy(scored, segments, label)
    if task is not None and task.kind == "multiclass":
        return multiclass_accuracy(scored, segments, len(task.classes), label)
    labelled = F.col(label).isNotNull()
    y = F.col(label).cast("double")
    p = F.least(F.greatest(F.col("score").cast("double"), F.lit(EPS)), F.lit(1 - EPS))
    predicted = F.col("score") >= F.lit(threshold)
    grouped = (
        scored.select("score", label, F.explode(_segment_pairs(segments)).alias("segment"))
        .groupBy(
            _segment_name(),
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


def regression_accuracy(
    scored: DataFrame, segments: list[str], label: str = "label"
) -> list[Accuracy]:
    """RMSE, MAE and R² per segment from exact sums (of errors, absolute and squared
    errors, labels and squared labels) in one Spark aggregation."""
    from pyspark.sql import functions as F

    labelled = F.col(label).isNotNull()
    y = F.col(label).cast("double")
    error = F.col("score").cast("double") - y
    rows = (
        scored.select("score", label, F.explode(_segment_pairs(segments)).alias("segment"))
        .groupBy(_segment_name())
        .agg(
            F.count(F.lit(1)).alias("predictions"),
            F.count(label).alias("labelled"),
            F.sum(F.when(labelled, error * error)).alias("squared"),
            F.sum(F.when(labelled, F.abs(error))).alias("absolute"),
            F.sum(F.when(labelled, y)).alias("y"),
            F.sum(F.when(labelled, y * y)).alias("yy"),
        )
        .collect()
    )
    results = []
    for row in rows:
        n = int(row["labelled"])
        metrics: dict[str, float | None] = {"rmse": None, "mae": None, "r2": None}
        if n:
            squared = float(row["squared"])
            spread = float(row["yy"]) - float(row["y"]) ** 2 / n
            metrics = {
                "rmse": math.sqrt(squared / n),
                "mae": float(row["absolute"]) / n,
                "r2": 1.0 - squared / spread if spread > 0 else None,
            }
        results.append(
            Accuracy(
                str(row["segment"]),
                int(row["predictions"]),
                n,
                0,
                None,
                None,
                None,
                None,
                metrics=metrics,
            )
        )
    return sorted(results, key=lambda a: (a.segment != OVERALL, a.segment))


def multiclass_accuracy(
    scored: DataFrame, segments: list[str], classes: int, label: str = "label"
) -> list[Accuracy]:
    """Multiclass log loss, accuracy and macro-F1 per segment from each segment's
    confusion counts (true class x predicted class, with the summed log loss of each
    cell), aggregated in Spark; the F1 average is over the classes that occur in the
    segment's labels or predictions, as scikit-learn's is over the labels it is given."""
    from pyspark.sql import functions as F

    labelled = F.col(label).isNotNull()
    probabilities = F.col("class_probabilities")
    predicted = F.array_position(probabilities, F.array_max(probabilities)) - 1
    true_probability = F.element_at(probabilities, F.col(label).cast("int") + 1)
    clipped = F.least(F.greatest(true_probability, F.lit(EPS)), F.lit(1 - EPS))
    rows = (
        scored.select(
            label,
            predicted.alias("predicted"),
            clipped.alias("p"),
            F.explode(_segment_pairs(segments)).alias("segment"),
        )
        .groupBy(_segment_name(), F.col(label).alias("actual"), "predicted")
        .agg(F.count(F.lit(1)).alias("rows"), F.sum(F.when(labelled, -F.log("p"))).alias("loss"))
        .collect()
    )
    cells: dict[str, list[Any]] = {}
    for row in rows:
        cells.setdefault(str(row["segment"]), []).append(row)
    results = []
    for segment, segment_rows in cells.items():
        predictions = sum(int(r["rows"]) for r in segment_rows)
        known = [r for r in segment_rows if r["actual"] is not None]
        n = sum(int(r["rows"]) for r in known)
        metrics: dict[str, float | None] = {"mlogloss": None, "accuracy": None, "macro_f1": None}
        if n:
            correct = sum(int(r["rows"]) for r in known if int(r["actual"]) == int(r["predicted"]))
            scores = []
            present = {int(r["actual"]) for r in known} | {int(r["predicted"]) for r in known}
            for k in sorted(present & set(range(classes))):
                tp = sum(int(r["rows"]) for r in known if r["actual"] == k and r["predicted"] == k)
                fp = sum(int(r["rows"]) for r in known if r["actual"] != k and r["predicted"] == k)
                fn = sum(int(r["rows"]) for r in known if r["actual"] == k and r["predicted"] != k)
                scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
            metrics = {
                "mlogloss": sum(float(r["loss"] or 0.0) for r in known) / n,
                "accuracy": correct / n,
                "macro_f1": sum(scores) / len(scores) if scores else None,
            }
        results.append(
            Accuracy(segment, predictions, n, 0, None, None, None, None, metrics=metrics)
        )
    return sorted(results, key=lambda a: (a.segment != OVERALL, a.segment))
