"""Judging a model's predictions for its task (`driftline.core.tasks`): the holdout and
live metrics, computed by scikit-learn, and the plain baseline a booster must beat.
Pure numpy in, numbers out; no Spark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from driftline.core.tasks import Task

if TYPE_CHECKING:
    import numpy as np


def evaluate(task: Task, y: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """Every metric of the task on labels `y` and the booster's predictions (a
    probability per row for binary, a value for regression, a row of class probabilities
    for multiclass); None where a metric is undefined (one class only)."""
    return {name: metric_value(task, name, y, predicted) for name in task.metrics}


def resampled_metric(
    task: Task, metric: str, y: np.ndarray, predicted: np.ndarray, picks: np.ndarray
) -> np.ndarray:
    """`metric_value` on many resamples of the rows at once (one row of `picks`, the row
    indices drawn, per resample), NaN where it is undefined.

    A bootstrap judges each model hundreds of times per interval, and scikit-learn's
    per-call checks cost more than the arithmetic on a few thousand rows (about 2 ms an
    AUC), so AUC and the regression errors are computed for the whole block; any other
    metric goes one resample at a time. A resample only repeats rows of `y`, so its AUC
    needs no sort of its own: the rows' scores are ranked once, and each resample counts
    its positives and negatives per distinct score (ties count half, as `roc_auc_score`
    counts them)."""
    import numpy as np

    if metric == "auc" and task.kind == "binary":
        _, level = np.unique(predicted, return_inverse=True)  # each row's distinct score
        levels = int(level.max()) + 1
        resamples = len(picks)
        cell = (np.arange(resamples)[:, None] * levels + level[picks]).ravel()
        drawn = np.bincount(cell, minlength=resamples * levels).reshape(resamples, levels)
        positive = (y == np.max(y))[picks].ravel().astype(np.float64)
        positives = np.bincount(cell, weights=positive, minlength=resamples * levels).reshape(
            resamples, levels
        )
        negatives = drawn - positives
        below = np.cumsum(negatives, axis=1) - negatives  # negatives scored lower
        pairs = positives.sum(axis=1) * negatives.sum(axis=1)
        won = np.sum(positives * (below + 0.5 * negatives), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pairs > 0, won / pairs, np.nan)
    if task.kind == "regression" and metric in ("rmse", "mae", "r2"):
        truth = y[picks]
        errors = predicted[picks] - truth
        if metric == "rmse":
            return np.sqrt(np.mean(errors**2, axis=1))
        if metric == "mae":
            return np.mean(np.abs(errors), axis=1)
        spread = np.sum((truth - truth.mean(axis=1, keepdims=True)) ** 2, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(spread > 0, 1 - np.sum(errors**2, axis=1) / spread, np.nan)
    values = (metric_value(task, metric, y[rows], predicted[rows]) for rows in picks)
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def baseline(task: Task, seed: int) -> Any:
    """The plain model a booster must beat: a (multinomial) logistic regression for
    classification, a ridge regression for regression; median-imputed and scaled."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model: Any
    if task.kind == "regression":
        model = Ridge(alpha=1.0, random_state=seed)
    else:
        model = LogisticRegression(max_iter=1000, class_weight="balanced", random_state=seed)
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), model
    )


def baseline_predictions(task: Task, fitted: Any, x: np.ndarray) -> np.ndarray:
    """The fitted baseline's predictions in the booster's form."""
    import numpy as np

    if task.kind == "regression":
        return np.asarray(fitted.predict(x), dtype=np.float64)
    probabilities = fitted.predict_proba(x)
    if task.kind == "binary":
        return np.asarray(probabilities[:, 1])
    # Classes absent from the training rows get probability 0.
    full = np.zeros((len(x), len(task.classes)))
    full[:, fitted.classes_.astype(int)] = probabilities
    return full


def metric_value(task: Task, metric: str, y: np.ndarray, predicted: np.ndarray) -> float | None:
    """One metric; None where it is undefined (AUC or R² of a slice with one value only)."""
    import numpy as np
    from sklearn import metrics as sk

    if metric == "auc":
        return float(sk.roc_auc_score(y, predicted)) if len(np.unique(y)) == 2 else None
    if metric == "logloss":
        return float(sk.log_loss(y, predicted, labels=[0, 1]))
    if metric == "rmse":
        return float(np.sqrt(sk.mean_squared_error(y, predicted)))
    if metric == "mae":
        return float(sk.mean_absolute_error(y, predicted))
    if metric == "r2":
        return float(sk.r2_score(y, predicted)) if len(np.unique(y)) > 1 else None
    labels = list(range(len(task.classes)))
    if metric == "mlogloss":
        return float(sk.log_loss(y, predicted, labels=labels))
    chosen = np.argmax(predicted, axis=1)
    if metric == "accuracy":
        return float(sk.accuracy_score(y, chosen))
    if metric == "macro_f1":
        present = sorted(set(np.asarray(y, dtype=int)) | set(chosen))
        return float(sk.f1_score(y, chosen, labels=present, average="macro", zero_division=0))
    raise ValueError(f"unknown metric {metric!r} for a {task.kind} task")
