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

from driftline.data.profile import GRID_BINS, grid_bin_index
from driftline.monitoring.accuracy import auc_standard_error

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

# The night's score histogram is the drift scan's grid over [0, 1] (`GRID_BINS` bins, the
# same pass that sketches the score for drift): fine enough that ties within a bin move
# the estimate by far less than its sampling error.
ESTIMATE_BINS = GRID_BINS


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
    """Counts of scores per bin of [0, 1] (`ESTIMATE_BINS`), as the monitor's drift scan
    counts them (`score_grid_profile`)."""
    import numpy as np

    index = grid_bin_index(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    return np.bincount(index, minlength=ESTIMATE_BINS)


def score_grid_profile(threshold: float) -> dict[str, Any]:
    """A profile that makes the drift scan (`monitoring.drift_scan.scan`) count tonight's
    scores per bin of [0, 1] and at or above `threshold`, in the pass that sketches the
    score for drift: its grid is the histogram `estimate_auc` reads, and its one edge
    splits the scores at the threshold (the largest double below it, since the scan
    counts a value equal to an edge below it)."""
    import numpy as np

    return {
        "type": "numeric",
        "min": 0.0,
        "max": 1.0,
        "edges": [float(np.nextafter(threshold, -np.inf))],
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
