"""Performance before labels: the champion's AUC estimated from its scores alone.

Labels arrive days or weeks after a prediction, and a model can go bad in between. If the
scores are calibrated probabilities, each one is the expected share of positives among
rows scored like it, so the night's expected confusion counts at every threshold, and with
them its expected ROC curve and AUC, follow from the scores alone (confidence-based
performance estimation, as NannyML's CBPE does for binary classifiers). It stays honest
under covariate shift, where the model's P(y | x) still holds; it cannot see concept
drift (P(y | x) itself changing), which only matured labels show.

Calibration is checked on the frozen holdout when the model trains
(`driftline.model.calibration`); where the raw scores are off by more than a tolerance, the
isotonic map fitted there is applied before estimating.

Pure: a histogram of the night's scores in, an estimate with its sampling interval out, so
the monitor step needs one Spark aggregation and the benchmark none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from driftline.monitoring.accuracy import auc_standard_error

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

# Score bins of the night's histogram: fine enough that ties within a bin move the
# estimate by far less than its sampling error.
ESTIMATE_BINS = 1000


@dataclass(frozen=True)
class Estimate:
    metric: str  # auc
    value: float
    low: float
    high: float
    predictions: int
    expected_positives: float
    calibrated: bool  # whether the holdout's isotonic map was applied

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_histogram(scores: np.ndarray) -> np.ndarray:
    """Counts of scores per bin of [0, 1] (`ESTIMATE_BINS`), as the monitor step's Spark
    aggregation computes them."""
    import numpy as np

    index = np.minimum((np.asarray(scores) * ESTIMATE_BINS).astype(int), ESTIMATE_BINS - 1)
    return np.bincount(index, minlength=ESTIMATE_BINS)


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
    centres = (np.arange(len(counts)) + 0.5) / len(counts)
    applied = bool(calibration and calibration.get("applied"))
    if applied and calibration is not None:
        probability = np.interp(centres, calibration["grid"], calibration["probabilities"])
    else:
        probability = centres
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
