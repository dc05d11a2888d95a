"""A binary model's calibration, checked on its frozen holdout when it trains.

Estimating performance before labels (`driftline.monitoring.estimated`) reads scores as
probabilities; XGBoost's log loss usually leaves them close, but class weights, early
stopping or a shifted training window need not. The raw scores' expected calibration error
is measured on the holdout, and an isotonic map (labels on scores, fitted there) is kept
with the model's profile, to be applied when that error is above a tolerance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# Points of the stored isotonic map (a grid over [0, 1]): compact in the model's profile.
CALIBRATION_GRID = 201
# Raw scores whose expected calibration error on the holdout exceeds this are mapped.
MAX_ECE = 0.02


def calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: over ten equal-width score bins, the gap between the
    mean score and the share of positives, weighted by the bin's rows."""
    import numpy as np

    index = np.minimum((np.asarray(probabilities) * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        rows = index == b
        if rows.any():
            total += rows.sum() * abs(
                float(np.mean(labels[rows])) - float(np.mean(probabilities[rows]))
            )
    return total / max(len(labels), 1)


def fit_calibration(
    labels: np.ndarray, scores: np.ndarray, max_ece: float = MAX_ECE
) -> dict[str, Any]:
    """The champion's calibration on its frozen holdout, to store with its profile: the
    raw scores' error, and an isotonic map (labels on scores) applied when that error is
    above `max_ece`."""
    import numpy as np
    from sklearn.isotonic import IsotonicRegression

    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    raw = calibration_error(labels, scores)
    grid = np.linspace(0.0, 1.0, CALIBRATION_GRID)
    if len(np.unique(labels)) < 2:
        return {"ece_raw": raw, "applied": False, "rows": len(labels)}
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
    mapped = isotonic.predict(grid)
    return {
        "ece_raw": raw,
        "ece_mapped": calibration_error(labels, isotonic.predict(scores)),
        "applied": bool(raw > max_ece),
        "rows": len(labels),
        "grid": grid.round(6).tolist(),
        "probabilities": np.asarray(mapped).round(6).tolist(),
    }
