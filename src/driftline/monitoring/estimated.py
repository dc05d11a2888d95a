"""Performance before labels: the champion's live metric estimated from its scores alone.

Labels arrive days or weeks after a prediction, and a model can go bad in between. If the
scores are calibrated probabilities, each one is the expected share of positives among
rows scored like it, so the night's expected confusion counts at every threshold, and with
them its expected ROC curve and AUC, follow from the scores alone (confidence-based
performance estimation, as NannyML's CBPE does for binary classifiers). It stays honest
under covariate shift, where the model's P(y | x) still holds; it cannot see concept
drift (P(y | x) itself changing), which only matured labels show.

A map from score to probability is fitted on the frozen holdout when the model trains
(`driftline.model.calibration`: Platt's sigmoid or an isotonic map, whichever predicts
held-out rows better) and applied before estimating.

The same reasoning serves the other tasks:

- multiclass: the score is the predicted class's probability; if it is calibrated (checked
  and mapped on the holdout as above, for "the predicted class is right"), the night's
  expected accuracy is its mean (`estimate_accuracy`); with the rest of each row's mass
  spread over the other classes as the model spreads it, each class's expected right
  predictions, predictions and rows follow, and with them the expected macro-F1
  (`estimate_macro_f1`);
- regression: a predicted value carries no probability, so two small models learn each
  row's absolute and squared error from its features on the holdout
  (`driftline.model.loss_model`, direct loss estimation as NannyML's DLE), and the
  night's expected MAE and RMSE are their means over tonight's rows
  (`estimate_from_losses`); R² follows from the expected MSE and the variance of
  tonight's predictions (`estimate_r2`). On a holdout too small to learn from, its errors are kept
  per quantile bin of the prediction instead (`model.loss_model.error_by_score`),
  weighed by how many of tonight's predictions fall in each bin (`estimate_errors`):
  that sees covariate shift
  that moves rows towards predictions the model gets more or less wrong, not noise that
  grows with a feature the prediction ignores. Neither sees extrapolation beyond the
  holdout's range, where a tree's output stays flat while the truth moves on (the
  out-of-range shares and drift tell of that), nor concept drift.

Pure: histograms and sums of the night's scores in, an estimate with its sampling
interval out, so the monitor step adds no Spark pass and the benchmarks need none; the
per-row columns the sums come from are added in the monitor's existing scans
(`with_expectations` here, `model.loss_model.expected_losses` for the features).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from driftline.data.profile import GRID_BINS, grid_bin_index
from driftline.model.calibration import (
    calibrated,
    expected_logloss,
    expected_outcomes,
    macro_f1,
)
from driftline.monitoring.accuracy import auc_standard_error

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import pyarrow as pa
    from pyspark.sql import DataFrame

# The night's score histogram is the drift scan's grid over [0, 1] (`GRID_BINS` bins, the
# same pass that sketches the score for drift): fine enough that ties within a bin move
# the estimate by far less than its sampling error.
ESTIMATE_BINS = GRID_BINS


@dataclass(frozen=True)
class Estimate:
    metric: str  # auc, logloss, mlogloss, accuracy, macro_f1, mae, rmse or r2
    value: float
    low: float
    high: float
    predictions: int
    # The expected positives (AUC) or expected correct predictions (accuracy, macro-F1);
    # None for a regression.
    expected_positives: float | None
    calibrated: bool  # whether the holdout's map was applied
    # confidence (calibrated scores), loss_model (a regression's expected errors per row,
    # `model.loss_model`) or error_bins (its holdout errors per bin of the prediction)
    method: str = "confidence"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_histogram(scores: np.ndarray) -> np.ndarray:
    """Counts of scores per bin of [0, 1] (`ESTIMATE_BINS`), as the monitor's drift scan
    counts them (`score_grid_profile`)."""
    import numpy as np

    index = grid_bin_index(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    return np.bincount(index, minlength=ESTIMATE_BINS)


def score_grid_profile(threshold: float | None) -> dict[str, Any]:
    """A profile that makes the drift scan (`monitoring.drift_scan.scan`) count tonight's
    scores per bin of [0, 1] (and, given a binary model's `threshold`, at or above it) in
    the pass that sketches the score for drift: its grid is the histogram the estimates
    read, and its one edge splits the scores at the threshold (the largest double below
    it, since the scan counts a value equal to an edge below it)."""
    import numpy as np

    return {
        "type": "numeric",
        "min": 0.0,
        "max": 1.0,
        "edges": [] if threshold is None else [float(np.nextafter(threshold, -np.inf))],
    }


def estimate_auc(
    counts: Sequence[int] | np.ndarray,
    calibration: dict[str, Any] | None,
    z: float = 1.96,
) -> Estimate | None:
    """The night's expected AUC from its score histogram: each bin's rows are expected
    positives in the share its (calibrated) score says; a negative ranks below every
    expected positive of higher bins and ties with those of its own bin (half). The
    interval is the AUC's sampling error on that many expected positives and negatives
    (Hanley and McNeil). None without rows or without both classes expected."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return None
    probability, applied = _probabilities(counts, calibration)
    positives = counts * probability
    negatives = counts - positives
    expected_positives, expected_negatives = float(positives.sum()), float(negatives.sum())
    if expected_positives < 1 or expected_negatives < 1:
        return None
    above = np.cumsum(positives[::-1])[::-1] - positives  # positives in higher bins
    auc = float(np.sum(negatives * (above + 0.5 * positives))) / (
        expected_positives * expected_negatives
    )
    error = auc_standard_error(auc, expected_positives, expected_negatives)
    return Estimate(
        "auc",
        auc,
        max(0.0, auc - z * error),
        min(1.0, auc + z * error),
        int(counts.sum()),
        expected_positives,
        applied,
    )


def _probabilities(counts: np.ndarray, calibration: dict[str, Any] | None) -> tuple[Any, bool]:
    """Each grid bin's probability: the holdout's map of its centre."""
    import numpy as np

    centres = (np.arange(len(counts)) + 0.5) / len(counts)
    return calibrated(centres, calibration), bool(calibration and calibration.get("applied"))


def estimate_accuracy(
    counts: Sequence[int] | np.ndarray,
    calibration: dict[str, Any] | None,
    z: float = 1.96,
) -> Estimate | None:
    """A multiclass night's expected accuracy from the histogram of its predicted classes'
    probabilities: each row is right with its (calibrated) probability. The interval is
    the sampling error of that many independent right-or-wrong rows (a Poisson-binomial's
    variance, the sum of p(1 - p)) and of the holdout's accuracy."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.float64)
    rows = float(counts.sum())
    if rows == 0:
        return None
    probability, applied = _probabilities(counts, calibration)
    right = float(np.sum(counts * probability))
    value = right / rows
    variance = float(np.sum(counts * probability * (1 - probability))) / rows**2
    # The limit it is judged against is the holdout's realised accuracy, itself a sample
    # (and the calibration fitted there): its sampling error widens the interval, as the
    # holdout's does for a regression's errors.
    holdout = float((calibration or {}).get("rows", 0))
    if holdout:
        variance += value * (1 - value) / holdout
    error = math.sqrt(variance)
    return Estimate(
        "accuracy",
        value,
        max(0.0, value - z * error),
        min(1.0, value + z * error),
        int(rows),
        right,
        applied,
    )


def error_bin_profile(reference: dict[str, Any]) -> dict[str, Any]:
    """A profile that makes the drift scan count tonight's predictions in the bins of
    `error_by_score` (its `decile_counts`)."""
    return {"type": "numeric", "edges": reference["edges"]}


def estimate_errors(
    counts: Sequence[int] | np.ndarray, reference: dict[str, Any], z: float = 1.96
) -> list[Estimate]:
    """A regression night's expected MAE and RMSE from how many of its predictions fall
    in each bin of `error_by_score`: the holdout's per-bin errors weighted by tonight's
    rows. Each interval adds the night's sampling error (that many rows drawn with the
    bin's error spread) to the holdout's (its per-bin means are themselves estimates);
    RMSE's through the delta method. A bin with predictions tonight but none on the
    holdout borrows its nearest neighbour's errors. Empty without rows."""
    import numpy as np

    counts = np.asarray(counts, dtype=np.float64)
    night = float(counts.sum())
    held = np.asarray(reference["rows"], dtype=np.float64)
    if night == 0 or held.sum() == 0 or len(counts) != len(held):
        return []
    # A bin with no holdout rows takes its nearest filled neighbour's errors: tonight's
    # rows of both are then one group with one holdout mean.
    filled = np.flatnonzero(held > 0)
    nearest = filled[np.abs(np.arange(len(held))[:, None] - filled[None, :]).argmin(axis=1)]
    counts = np.bincount(nearest, weights=counts, minlength=len(held))[filled]
    held = held[filled]
    absolute = np.asarray(reference["absolute"])[filled]
    squared = np.asarray(reference["squared"])[filled]
    fourth = np.asarray(reference["fourth"])[filled]
    weights = counts / night
    # Var of tonight's mean = sum over bins of w^2 * spread * (1/tonight's rows + 1/holdout's)
    share = np.divide(weights**2, counts, out=np.zeros_like(weights), where=counts > 0)
    share = share + weights**2 / held
    mae = float(np.sum(weights * absolute))
    mae_error = float(np.sqrt(np.sum(share * np.maximum(squared - absolute**2, 0.0))))
    mse = float(np.sum(weights * squared))
    mse_error = float(np.sqrt(np.sum(share * np.maximum(fourth - squared**2, 0.0))))
    return _errors(mae, mae_error, mse, mse_error, int(night), "error_bins", z)


# Estimates recorded beside the realised metric but never judged: R² depends on the spread
# of the rows it is measured on, and one night spans less than the holdout's days (their
# differences in level drop out), so a night's R² reads low with nothing wrong. A policy
# on R² judges the matured labels'; one on RMSE or MAE acts before them.
NOT_JUDGED = frozenset({"r2"})


def estimate_breached(
    estimate: Estimate, policy_metric: str, holdout: dict[str, float], margin: float
) -> tuple[float | None, bool]:
    """The live limit of the policy's metric (its holdout value worsened by the policy's
    margin) and whether the estimate's whole interval is on the wrong side of it. An
    estimate of another metric is not judged (None, False): the margin is in the policy
    metric's units; nor is one in `NOT_JUDGED`."""
    from driftline.core.tasks import HIGHER_IS_BETTER
    from driftline.monitoring.accuracy import accuracy_limit

    metric = estimate.metric
    if metric != policy_metric or metric not in holdout or metric in NOT_JUDGED:
        return None, False
    limit = accuracy_limit(metric, holdout[metric], margin)
    if metric in HIGHER_IS_BETTER:
        return limit, estimate.high < limit
    return limit, estimate.low > limit


def estimate_from_losses(
    absolute_total: float,
    squared_total: float,
    rows: int,
    reference: dict[str, Any],
    z: float = 1.96,
) -> list[Estimate]:
    """A regression night's expected MAE and RMSE from the sums of its rows' expected
    absolute and squared errors (`model.loss_model`). Each interval holds tonight's and
    the holdout's sampling error of a mean of that loss (its spread measured on the
    holdout); RMSE's through the delta method. Empty without rows."""
    if rows <= 0 or not reference:
        return []
    scale = math.sqrt(1 / rows + 1 / reference["rows"])
    return _errors(
        max(absolute_total / rows, 0.0),
        reference["absolute_sd"] * scale,
        max(squared_total / rows, 0.0),
        reference["squared_sd"] * scale,
        rows,
        "loss_model",
        z,
    )


def _errors(
    mae: float, mae_error: float, mse: float, mse_error: float, rows: int, method: str, z: float
) -> list[Estimate]:
    """MAE and RMSE estimates with their intervals; RMSE's error from MSE's by the delta
    method (d sqrt(m) = dm / 2 sqrt(m))."""
    rmse = math.sqrt(mse)
    rmse_error = mse_error / (2 * rmse) if rmse > 0 else 0.0
    return [
        Estimate(
            metric,
            value,
            max(0.0, value - z * error),
            value + z * error,
            rows,
            None,
            False,
            method,
        )
        for metric, value, error in (("mae", mae, mae_error), ("rmse", rmse, rmse_error))
    ]


# The column the monitor adds to tonight's predictions: each row's expected log loss.
EXPECTED_LOGLOSS = "__expected_logloss"


def estimate_logloss(
    metric: str, total: float, rows: int, reference: dict[str, Any], z: float = 1.96
) -> Estimate | None:
    """The night's expected log loss (`metric`: logloss or mlogloss) from the sum of its
    rows' `expected_logloss`, less the holdout's gap between expected and realised: only
    the predicted class's probability is calibrated, so the rest of a multiclass row's
    mass carries a bias the holdout measures; a binary map leaves little
    (`benchmarks/estimates.py`: the multiclass error 0.018 -> 0.012 on a 1-sd shift).
    The interval holds tonight's and the holdout's sampling error of a mean loss."""
    if rows <= 0 or not reference:
        return None
    value = max(total / rows - reference["gap"], 0.0)
    half = z * reference["sd"] * math.sqrt(1 / rows + 1 / reference["rows"])
    return Estimate(
        metric,
        value,
        max(0.0, value - half),
        value + half,
        rows,
        None,
        bool(reference.get("applied")),
    )


# What each class's columns hold, per row (`f1_columns`).
F1_COUNTS = ("right", "predicted", "support")


def f1_columns(classes: int) -> dict[str, list[str]]:
    """The per-class columns the monitor adds to a multiclass night's predictions for its
    expected macro-F1: each row's expected right prediction of class k, whether it
    predicts k, and its chance of being k (`model.calibration.f1_counts`, summed by the
    scan)."""
    return {count: [f"__expected_{count}_{k}" for k in range(classes)] for count in F1_COUNTS}


def with_expectations(
    predictions: DataFrame, calibration: dict[str, Any], multiclass: bool, f1_classes: int = 0
) -> DataFrame:
    """Tonight's scores with each row's expected log loss beside them (`EXPECTED_LOGLOSS`)
    and, given a multiclass model's number of classes, its `f1_columns`: computed on the
    executors in the pass that sketches the score."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    columns = ["score", "class_probabilities"] if multiclass else ["score"]
    names = ["score", EXPECTED_LOGLOSS]
    names += [c for group in f1_columns(f1_classes).values() for c in group]
    schema = StructType([StructField(name, DoubleType()) for name in names])

    def add(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for batch in batches:
            if batch.num_rows:
                found = batch_expectations(batch, calibration, multiclass, f1_classes)
                yield pa.RecordBatch.from_arrays(
                    [pa.array(found[name]) for name in names], names=names
                )

    return predictions.select(*columns).mapInArrow(add, schema)


def batch_expectations(
    batch: pa.RecordBatch, calibration: dict[str, Any], multiclass: bool, f1_classes: int = 0
) -> dict[str, np.ndarray]:
    """One Arrow batch of predictions' scores, expected log losses and (`f1_classes` > 0)
    `f1_columns`. A multiclass row without its full vector of probabilities (never
    written by scoring) gets no expectation: NaN, which the scan counts as missing."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    scores = pc.cast(batch.column("score"), pa.float64()).to_numpy(zero_copy_only=False)
    if not multiclass:
        return {"score": scores, EXPECTED_LOGLOSS: expected_logloss(scores, calibration)}
    vectors = batch.column("class_probabilities")
    lengths = pc.fill_null(pc.list_value_length(vectors), 0).to_numpy(zero_copy_only=False)
    classes = int(lengths.max()) if len(lengths) else 0
    whole = lengths == classes
    found = {"score": scores, EXPECTED_LOGLOSS: np.full(batch.num_rows, np.nan)}
    counts = f1_columns(f1_classes)
    for group in counts.values():
        found.update({name: np.full(batch.num_rows, np.nan) for name in group})
    if not classes or not whole.any():
        return found
    kept = pc.filter(vectors, pa.array(whole))
    flat = pc.list_flatten(kept).to_numpy(zero_copy_only=False)
    matrix = np.asarray(flat, dtype=np.float64).reshape(-1, classes)
    found[EXPECTED_LOGLOSS][whole] = expected_logloss(scores[whole], calibration, matrix)
    if f1_classes == classes:
        # The predicted class's probability from the vector itself, as at training (a
        # row's score could be missing); a row whose chances are not all numbers is left
        # out of every count, never counted as a prediction without its outcomes.
        outcomes = expected_outcomes(matrix.max(axis=1), calibration, matrix)
        counted = np.flatnonzero(whole)[np.isfinite(outcomes).all(axis=1)]
        outcomes = outcomes[np.isfinite(outcomes).all(axis=1)]
        chosen = np.argmax(outcomes, axis=1)
        for k in range(classes):
            mine = chosen == k
            found[counts["right"][k]][counted] = np.where(mine, outcomes[:, k], 0.0)
            found[counts["predicted"][k]][counted] = mine.astype(np.float64)
            found[counts["support"][k]][counted] = outcomes[:, k]
    return found


def estimate_macro_f1(
    right: Sequence[float] | np.ndarray,
    predicted: Sequence[float] | np.ndarray,
    support: Sequence[float] | np.ndarray,
    reference: dict[str, Any],
    applied: bool,
    z: float = 1.96,
) -> Estimate | None:
    """A multiclass night's expected macro-F1 from the sums of its `f1_columns`: each
    class's expected right predictions, predictions and rows, less the holdout's gap
    between expected and realised (the other classes' probabilities are not calibrated,
    as for the log loss). None without predictions.

    The interval is conservative: macro-F1 is (1/K) sum of 2 TP_k / D_k (D_k a class's
    predictions plus rows), and by the delta method each row adds the variance of
    (1/K) sum_k a_k y_k over its chances of each class, a_k = (2 [predicted k] - F_k) /
    D_k. Its first moment, sum_k [(4 - 4 F_k) TP_k + F_k² S_k] / (K D_k)², comes from the
    sums at hand; the square of the mean, which would take K² more sums, is left out, so
    the variance is bounded from above (about 40% too wide in sd on a calibrated
    three-class night, against about 15% too narrow for a share of D_k trials). The
    holdout's F1 counts as sampled as tonight's."""
    import numpy as np

    right, predicted, support = (
        np.asarray(counts, dtype=np.float64) for counts in (right, predicted, support)
    )
    value, f1, present = macro_f1(right, predicted, support)
    rows = float(np.sum(predicted))
    if rows == 0 or not present.any() or not reference:
        return None
    f1, right, support = f1[present], right[present], support[present]
    trials = (predicted[present] + support) * present.sum()
    variance = float(np.sum(((4 - 4 * f1) * right + f1**2 * support) / trials**2))
    variance *= 1 + rows / max(reference["rows"], 1)
    value = min(max(value - reference["gap"], 0.0), 1.0)
    half = z * math.sqrt(variance)
    return Estimate(
        "macro_f1",
        value,
        max(0.0, value - half),
        min(1.0, value + half),
        int(rows),
        float(np.sum(right)),
        applied,
    )


def estimate_r2(rmse: Estimate, variance: float, reference: dict[str, Any]) -> Estimate | None:
    """A regression night's expected R² from its expected RMSE and the variance of its
    predictions (`model.loss_model.expected_r2`). The interval is RMSE's carried through
    (delta method: d R² = -V / (V + MSE)² d MSE, d MSE = 2 RMSE d RMSE), widened by how
    far the same reckoning missed on the holdout."""
    from driftline.model.loss_model import expected_r2

    mse = rmse.value**2
    value = expected_r2(mse, variance)
    if value is None or not reference:
        return None
    mse_half = 2 * rmse.value * (rmse.high - rmse.value)
    half = variance / (variance + mse) ** 2 * mse_half + abs(reference["gap"])
    return Estimate(
        "r2",
        value,
        value - half,
        min(1.0, value + half),
        rmse.predictions,
        None,
        False,
        rmse.method,
    )
