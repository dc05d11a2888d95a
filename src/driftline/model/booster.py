"""Fitting the model and its baseline: time-ordered splits, class weights, early stopping
and a small seeded hyperparameter search (Optuna's TPE).

Pure numpy in, fitted objects out; `model.training` does the reading, `model.tracking` the
MLflow logging.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import xgboost as xgb
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

EARLY_STOPPING_ROUNDS = 20
# The latest share of the labelled dates held out as the frozen holdout, and then of the
# remaining (development) dates the latest share that early-stops the booster.
HOLDOUT_FRACTION = 0.2
VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class Fitted:
    booster: xgb.Booster
    params: dict[str, Any]
    best_iteration: int
    trials: int


def latest_dates_mask(dates: np.ndarray, fraction: float) -> np.ndarray:
    """True for the latest `fraction` of distinct dates (at least one); with a single date,
    a deterministic fifth of its rows."""
    import numpy as np

    distinct = np.unique(dates)
    if len(distinct) < 2:
        return (np.arange(len(dates)) % 5) == 4
    return dates >= distinct[-latest_dates_count(len(distinct), fraction)]


def latest_dates_count(distinct: int, fraction: float) -> int:
    """How many of `distinct` dates `latest_dates_mask` takes whole (none of a single
    date, which it splits by rows)."""
    return max(1, round(distinct * fraction)) if distinct >= 2 else 0


def held_back_days(distinct: int) -> int:
    """Of `distinct` labelled dates, how many of the latest ones training does not fit
    trees on: the frozen holdout, then the early-stopping dates."""
    holdout = latest_dates_count(distinct, HOLDOUT_FRACTION)
    return holdout + latest_dates_count(distinct - holdout, VALIDATION_FRACTION)


def class_weight(y: np.ndarray) -> float:
    """XGBoost's `scale_pos_weight`: negatives per positive, so a rare class still counts."""
    positives = float((y == 1).sum())
    return float((len(y) - positives) / positives) if positives else 1.0


def fit_booster(
    x: np.ndarray,
    y: np.ndarray,
    dates: np.ndarray,
    base_params: dict[str, Any],
    names: list[str],
    max_rounds: int,
    trials: int,
    seed: int,
) -> Fitted:
    """Search `trials` parameter sets (0: use `base_params` as they are), each early-stopped
    on the latest dates of the development data by the task's eval metric (in
    `base_params`, with the objective); keep the best by it."""
    import optuna
    import xgboost as xgb

    valid = latest_dates_mask(dates, VALIDATION_FRACTION)
    train = xgb.DMatrix(x[~valid], label=y[~valid], feature_names=names)
    check = xgb.DMatrix(x[valid], label=y[valid], feature_names=names)
    # A rare positive class still counts (binary only; the task's eval metric stops it).
    weight = {"scale_pos_weight": class_weight(y[~valid])}
    params = {**(weight if base_params["objective"] == "binary:logistic" else {}), **base_params}

    def train_with(candidate: dict[str, Any]) -> tuple[xgb.Booster, float]:
        booster = xgb.train(
            candidate,
            train,
            num_boost_round=max_rounds,
            evals=[(check, "valid")],
            early_stopping_rounds=EARLY_STOPPING_ROUNDS,
            verbose_eval=False,
        )
        return booster, float(booster.best_score)

    if trials <= 0:
        booster, _ = train_with(params)
        return Fitted(booster, params, int(booster.best_iteration), 0)

    def objective(trial: optuna.Trial) -> float:
        candidate = {
            **params,
            "max_depth": trial.suggest_int("max_depth", 2, 8),
            "eta": trial.suggest_float("eta", 0.03, 0.3, log=True),
            "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 10.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.6, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.6, 1.0),
        }
        return train_with(candidate)[1]

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    best = {**params, **study.best_params}
    booster, _ = train_with(best)
    logger.info(
        "best of %d trials: %s (validation %s %.4f)",
        trials,
        study.best_params,
        params.get("eval_metric", "default metric"),
        study.best_value,
    )
    return Fitted(booster, best, int(booster.best_iteration), trials)


def importance_figure(booster: xgb.Booster) -> tuple[Figure, dict[str, float]]:
    """Total gain per feature, as a bar chart for MLflow and as numbers for monitoring."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    gains = {
        name: float(value) if not isinstance(value, list) else float(sum(value))
        for name, value in booster.get_score(importance_type="total_gain").items()
    }
    total = sum(gains.values()) or 1.0
    shares = {name: value / total for name, value in sorted(gains.items())}
    figure = Figure(figsize=(6, 0.4 * max(len(shares), 3) + 1))
    axes = figure.add_subplot()
    ordered = sorted(shares.items(), key=lambda item: item[1])
    axes.barh([name for name, _ in ordered], [value for _, value in ordered])
    axes.set_xlabel("share of total gain")
    axes.set_title("XGBoost feature importance")
    figure.tight_layout()
    return figure, shares
