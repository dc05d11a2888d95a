"""A classifier's calibration, fitted on its frozen holdout when it trains (a binary
model's scores; a multiclass model's "the predicted class is right").

Estimating performance before labels (`driftline.monitoring.estimated`) reads scores as
probabilities; XGBoost's log loss leaves them close on the rows it trained on, but on
unseen rows a boosted model is usually a little overconfident, and class weights, early
stopping or a shifted training window move them further. A map from score to
probability is therefore always fitted on the holdout: Platt's sigmoid on the score's
logit (two parameters, steady on a few hundred rows) or an isotonic map (any monotone
shape, needs more rows), whichever predicts the holdout's held-out half better (Brier
score, two folds; log loss would punish the isotonic map's 0s and 1s beyond their
worth). A miscalibration too small for the expected calibration error to
tell from chance still biases an estimated AUC: on `benchmarks/alerts.py`'s 400-row
nights, a model with Platt slope 0.86 read 0.015 high when its raw scores were kept.
The same map gives each row's expected log loss (`expected_logloss`) and, for a
multiclass model, its expected class (`expected_outcomes`), hence the expected
macro-F1; the holdout says how far each expectation missed there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

# The stored map is its values on a grid over [0, 1] (compact in the model's profile):
# evenly spaced points, and points even in the logit for a sigmoid's tails.
CALIBRATION_GRID = 201
LOGIT_GRID = 101
# Scores are clipped to [LOGIT_EPS, 1 - LOGIT_EPS] before their logit is taken.
LOGIT_EPS = 1e-6
# Probabilities are clipped to [EPS, 1 - EPS] for log loss, as scikit-learn (and the
# monitor's live log loss) does.
EPS = 1e-15


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


def fit_calibration(labels: np.ndarray, scores: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """The champion's calibration on its frozen holdout, to store with its profile: the
    map (`method`: sigmoid or isotonic, chosen by out-of-fold Brier score) as its values on
    a grid, the raw scores' expected calibration error and the chosen map's out of fold
    (`ece_raw`, `ece_mapped`: fitted on one half, judged on the other). Not applied
    when the holdout has one class only."""
    import numpy as np

    labels = np.asarray(labels, dtype=np.float64)
    scores = np.clip(np.asarray(scores, dtype=np.float64), 0.0, 1.0)
    raw = calibration_error(labels, scores)
    if len(np.unique(labels)) < 2:
        return {"ece_raw": raw, "applied": False, "rows": len(labels)}
    half = np.random.default_rng(seed).random(len(scores)) < 0.5
    out_of_fold = {method: scores.copy() for method in _MAPS}
    for fit_on in (half, ~half):
        if len(np.unique(labels[fit_on])) < 2 or not (~fit_on).any():
            continue
        for method, fit in _MAPS.items():
            out_of_fold[method][~fit_on] = fit(scores[fit_on], labels[fit_on])(scores[~fit_on])
    method = min(_MAPS, key=lambda m: float(np.mean((out_of_fold[m] - labels) ** 2)))
    grid = np.unique(
        np.concatenate(
            [
                np.linspace(0.0, 1.0, CALIBRATION_GRID),
                1 / (1 + np.exp(-np.linspace(-10, 10, LOGIT_GRID))),
            ]
        ).round(9)
    )
    return {
        "method": method,
        "ece_raw": raw,
        "ece_mapped": calibration_error(labels, out_of_fold[method]),
        "applied": True,
        "rows": len(labels),
        "grid": grid.tolist(),
        "probabilities": np.asarray(_MAPS[method](scores, labels)(grid)).round(9).tolist(),
    }


def _logit(scores: np.ndarray) -> np.ndarray:
    import numpy as np

    p = np.clip(scores, LOGIT_EPS, 1 - LOGIT_EPS)
    return np.log(p / (1 - p))


def _sigmoid(scores: np.ndarray, labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Platt scaling: a logistic regression of the label on the score's logit."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6).fit(_logit(scores)[:, None], labels)
    return lambda x: model.predict_proba(_logit(x)[:, None])[:, 1]


def _isotonic(scores: np.ndarray, labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels)
    return lambda x: model.predict(x)


_MAPS = {"sigmoid": _sigmoid, "isotonic": _isotonic}


def calibrated(scores: np.ndarray, calibration: dict[str, Any] | None) -> np.ndarray:
    """The probability each score stands for: the holdout's map of it (itself where no
    map was fitted)."""
    import numpy as np

    if calibration and calibration.get("applied"):
        return np.interp(scores, calibration["grid"], calibration["probabilities"])
    return np.asarray(scores, dtype=np.float64)


def expected_logloss(
    scores: np.ndarray,
    calibration: dict[str, Any] | None,
    probabilities: np.ndarray | None = None,
) -> np.ndarray:
    """Each row's expected log loss if its calibrated probability is what happens.

    Binary: -(q log s + (1 - q) log(1 - s)), s the score and q its calibrated probability
    (the entropy of s when calibrated). Multiclass (`probabilities` given, `scores` the
    predicted class's): the cross-entropy of the model's probabilities against the row's
    `expected_outcomes`, -q log s - (1 - q) sum over other classes of (s_k / r) log s_k."""
    import numpy as np

    s = np.clip(np.asarray(scores, dtype=np.float64), EPS, 1 - EPS)
    if probabilities is None:
        q = np.clip(calibrated(s, calibration), 0.0, 1.0)
        return -(q * np.log(s) + (1 - q) * np.log(1 - s))
    p = np.clip(np.asarray(probabilities, dtype=np.float64), EPS, 1.0)
    return -np.sum(expected_outcomes(s, calibration, p) * np.log(p), axis=1)


def expected_outcomes(
    scores: np.ndarray, calibration: dict[str, Any] | None, probabilities: np.ndarray
) -> np.ndarray:
    """Each multiclass row's chance of each class being the true one: the predicted class
    its calibrated probability q, and the rest, 1 - q, spread over the other classes as
    the model spreads it (s_k / r, r their total). Only "the predicted class is right" is
    calibrated, so this is as far as the holdout vouches for.

    r comes from the other classes' own probabilities, not 1 - s: a float32 top
    probability can round to 1 while they still hold some, and dividing by 1 - s would
    blow one confident row up."""
    import numpy as np

    s = np.clip(np.asarray(scores, dtype=np.float64), EPS, 1 - EPS)
    q = np.clip(calibrated(s, calibration), 0.0, 1.0)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), EPS, 1.0)
    top = np.argmax(p, axis=1)
    rows = np.arange(len(p))
    other = np.ones_like(p, dtype=bool)
    other[rows, top] = False
    rest = np.where(other, p, 0.0).sum(axis=1)  # > 0: every p is at least EPS
    outcomes = np.where(other, p * ((1 - q) / rest)[:, None], 0.0)
    outcomes[rows, top] = q
    return outcomes


def f1_counts(
    outcomes: np.ndarray, predicted: np.ndarray, classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class: the right predictions of it, the predictions of it and its rows, from
    each row's chance of each class (`expected_outcomes`, or a one-hot of its label) and
    its predicted class. Sums, so nights and executors add them up."""
    import numpy as np

    outcomes = np.asarray(outcomes, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.int64)
    chosen = outcomes[np.arange(len(predicted)), predicted]
    return (
        np.bincount(predicted, weights=chosen, minlength=classes),
        np.bincount(predicted, minlength=classes).astype(np.float64),
        outcomes.sum(axis=0),
    )


# A class counts towards macro-F1 when it is predicted or expected on at least ln 2 rows
# (then it shows up at least once with probability over a half): the realised metric
# averages over the classes that were predicted or turned up (`model.judging`).
PRESENT_SUPPORT = 0.6931


def macro_f1(
    right: np.ndarray, predicted: np.ndarray, support: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Macro-F1 from per-class counts (`f1_counts`): each class's 2 TP / (predicted +
    support) (which is 2 TP / (2 TP + FP + FN)), averaged over the classes present. Also
    returns the per-class F1 and which classes were present; NaN without any."""
    import numpy as np

    right, predicted, support = (
        np.asarray(counts, dtype=np.float64) for counts in (right, predicted, support)
    )
    denominator = predicted + support
    f1 = np.divide(2 * right, denominator, out=np.zeros_like(right), where=denominator > 0)
    present = (predicted > 0) | (support >= PRESENT_SUPPORT)
    return (float(f1[present].mean()) if present.any() else float("nan")), f1, present


def logloss_reference(
    realised: np.ndarray, expected: np.ndarray, calibration: dict[str, Any]
) -> dict[str, Any]:
    """What the holdout says about the expected log loss: the spread of the realised
    per-row loss (its interval) and how far the expectation missed there (the bias left
    by calibrating only the predicted class, which the monitor takes off)."""
    import numpy as np

    return {
        "rows": len(realised),
        "sd": float(np.std(realised)),
        "gap": float(np.mean(expected) - np.mean(realised)),
        "applied": bool(calibration.get("applied")),
    }


def macro_f1_reference(
    labels: np.ndarray, probabilities: np.ndarray, calibration: dict[str, Any]
) -> dict[str, Any]:
    """What the holdout says about the expected macro-F1: how far the expectation from
    `expected_outcomes` missed the realised one there (the bias the monitor takes off;
    measured on the rows the map was fitted on, so a little small) and how many rows
    judged it."""
    import numpy as np

    probabilities = np.asarray(probabilities, dtype=np.float64)
    classes = probabilities.shape[1]
    chosen = np.argmax(probabilities, axis=1)
    outcomes = expected_outcomes(probabilities.max(axis=1), calibration, probabilities)
    expected, _, _ = macro_f1(*f1_counts(outcomes, chosen, classes))
    truth = np.eye(classes)[np.asarray(labels, dtype=np.int64)]
    realised, _, _ = macro_f1(*f1_counts(truth, chosen, classes))
    return {"rows": len(labels), "gap": expected - realised, "classes": classes}
