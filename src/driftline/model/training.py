"""Fitting a model on labelled features, whichever engine the size of the set calls for.

The training set is every feature row of the training window whose label has arrived
(`labels.label_date == features.as_of_date`). The most recent dates are held out, so the
reported metrics are on data later than anything the model learned from. Sets smaller than
`model.spark_training_rows` are fitted in the driver's process; larger ones on the Spark
executors with `xgboost.spark`. Both give a `Trained` that `model.tracking` logs alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.tasks import Task
from driftline.data.features import AS_OF, FeatureEncoding
from driftline.data.profile import categorical_profile, day_effect, label_profile, numeric_profile
from driftline.model.booster import HOLDOUT_FRACTION, VALIDATION_FRACTION
from driftline.model.leakage import find_leakage
from driftline.model.training_data import labelled_frame

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import xgboost as xgb
    from pyspark.sql import Column, DataFrame

logger = logging.getLogger(__name__)


def training_window(ctx: RunContext) -> tuple[date, date | datetime]:
    """(after, until]: the as-of dates a model trained on the run date learns from (up to
    the run's hour, in an hourly pipeline)."""
    after = ctx.run_date - timedelta(days=ctx.pipeline.model.training_window_days)
    return after, ctx.interval.start if ctx.interval.hourly else ctx.run_date


def training_frame(ctx: RunContext) -> tuple[DataFrame, dict[str, int]]:
    """Labelled feature rows of the window, with the Delta versions they were read at."""
    start, end = training_window(ctx)
    versions = {
        tables.FEATURES: ctx.lake.version(tables.FEATURES),
        tables.LABELS: ctx.lake.version(tables.LABELS),
    }
    data = labelled_frame(ctx, start, end, ctx.interval, versions, check=True)
    return data, versions


@dataclass(frozen=True)
class Trained:
    """What a fit produced, whichever engine ran it: `register` logs it to MLflow alike."""

    booster: xgb.Booster
    encoding: FeatureEncoding
    params: dict[str, Any]
    metrics: dict[str, Any]
    profile: dict[str, Any]
    example: np.ndarray  # a few encoded rows, for the signature and input example
    holdout_dates: tuple[str, str]
    window: tuple[str, str]
    engine: str  # xgboost (one process on the driver) | xgboost.spark (the executors)
    # What `model.leakage` found too good to be true; empty when nothing was.
    leakage: list[str] = field(default_factory=list)
    # A regression's loss models (`model.loss_model`, raw UBJ per loss); empty otherwise.
    loss_models: dict[str, bytes] = field(default_factory=dict)


def base_params(ctx: RunContext, device: str) -> dict[str, Any]:
    model = ctx.pipeline.model
    return {
        **ctx.pipeline.task.params,
        "tree_method": "hist",
        "device": device,
        "seed": model.seed,
        "nthread": 2,
        **model.params,
    }


def fit_on_driver(ctx: RunContext, data: pa.Table, device: str) -> Trained:
    """Search, fit and evaluate in this process: the training rows fit in its memory."""
    import numpy as np
    import pyarrow as pa

    from driftline.model.booster import fit_booster, latest_dates_mask
    from driftline.model.judging import baseline as task_baseline

    model = ctx.pipeline.model
    encoding = FeatureEncoding.fit(ctx.pipeline, data)
    x = encoding.matrix(data)
    y = np.asarray(data.column("label").to_numpy(), dtype=np.float32)
    dates = np.asarray(data.column(AS_OF).to_numpy())
    # The frozen holdout: the most recent dates, never seen by training or the search.
    holdout = latest_dates_mask(dates, HOLDOUT_FRACTION)
    fitted = fit_booster(
        x[~holdout],
        y[~holdout],
        dates[~holdout],
        base_params(ctx, device),
        encoding.names,
        model.num_boost_round,
        model.search_trials,
        model.seed,
    )
    baseline = task_baseline(ctx.pipeline.task, model.seed).fit(x[~holdout], y[~holdout])
    metrics, predicted = holdout_metrics(ctx, fitted.booster, baseline, encoding, data, holdout)
    metrics.update(
        {
            "train_rows": int((~holdout).sum()),
            "best_iteration": fitted.best_iteration,
            "search_trials": fitted.trials,
        }
    )
    # Feature shares come from the training rows; the score distribution from the holdout,
    # because in-sample scores of a boosted model are more confident than live ones.
    profile = reference_profile(
        data.filter(pa.array(~holdout)),
        predicted,
        encoding,
        ctx.pipeline.monitoring.drift.min_day_rows,
        ctx.pipeline.task,
    )
    with_score_reference(profile, y[holdout], predicted, ctx)
    loss_models = with_loss_models(profile, x[holdout], y[holdout], predicted, encoding, ctx)
    leakage = find_leakage(
        x[~holdout], y[~holdout], encoding.names, metrics, model.leakage, ctx.pipeline.task
    )
    return Trained(
        fitted.booster,
        encoding,
        fitted.params,
        metrics,
        profile,
        x[:5],
        (str(min(dates[holdout])), str(max(dates[holdout]))),
        (str(min(dates)), str(max(dates))),
        "xgboost",
        [finding.message for finding in leakage],
        loss_models,
    )


def fit_on_executors(ctx: RunContext, frame: DataFrame, rows: int, device: str) -> Trained:
    """Fit with `xgboost.spark` on every development row where it lies.

    The holdout rule is the driver path's (latest dates; one date: a fifth of its entities by
    hash) and the holdout is collected, as the promotion gate reads it. The search, the
    baseline and the reference profile use a seeded sample of development rows of at most
    `spark_training_rows`: their answers do not need every row, and the driver has to hold
    them.
    """
    import numpy as np

    from driftline.model.booster import fit_booster
    from driftline.model.judging import baseline as task_baseline
    from driftline.model.spark_training import fit_on_spark

    model = ctx.pipeline.model
    key = ctx.pipeline.entity.key
    encoding = FeatureEncoding.fit_frame(ctx.pipeline, frame)
    in_holdout = latest_dates(frame, key, HOLDOUT_FRACTION)
    holdout_rows = frame.where(in_holdout).toArrow()
    development = frame.where(~in_holdout)
    development_rows = rows - holdout_rows.num_rows
    fraction = min(1.0, model.spark_training_rows / max(development_rows, 1))
    # Bernoulli sampling gives about `fraction`; the limit keeps the driver's bound exact.
    sample = (
        development.sample(fraction=fraction, seed=model.seed)
        .orderBy(AS_OF, key)
        .limit(model.spark_training_rows)
        .toArrow()
    )
    x_sample = encoding.matrix(sample)
    y_sample = np.asarray(sample.column("label").to_numpy(), dtype=np.float32)
    params = base_params(ctx, device)
    trials = 0
    if model.search_trials > 0:
        searched = fit_booster(
            x_sample,
            y_sample,
            np.asarray(sample.column(AS_OF).to_numpy()),
            params,
            encoding.names,
            model.num_boost_round,
            model.search_trials,
            model.seed,
        )
        # The class weight is counted again on all training rows, unless configured.
        params = {
            k: v for k, v in searched.params.items() if k != "scale_pos_weight" or k in model.params
        }
        trials = searched.trials
    booster = fit_on_spark(
        development,
        latest_dates(development, key, VALIDATION_FRACTION),
        encoding,
        params,
        model.num_boost_round,
        device,
        model.spark_training_workers,
    )
    baseline = task_baseline(ctx.pipeline.task, model.seed).fit(x_sample, y_sample)
    holdout = np.ones(holdout_rows.num_rows, dtype=bool)
    metrics, predicted = holdout_metrics(ctx, booster, baseline, encoding, holdout_rows, holdout)
    metrics.update(
        {
            "train_rows": development_rows,
            "best_iteration": int(booster.best_iteration),
            "search_trials": trials,
            "search_sample_rows": sample.num_rows,
        }
    )
    profile = reference_profile(
        sample,
        predicted,
        encoding,
        ctx.pipeline.monitoring.drift.min_day_rows,
        ctx.pipeline.task,
    )
    holdout_labels = np.asarray(holdout_rows.column("label").to_numpy(), dtype=np.float64)
    with_score_reference(profile, holdout_labels, predicted, ctx)
    loss_models = with_loss_models(
        profile, encoding.matrix(holdout_rows), holdout_labels, predicted, encoding, ctx
    )
    holdout_dates = np.asarray(holdout_rows.column(AS_OF).to_numpy())
    sample_dates = np.asarray(sample.column(AS_OF).to_numpy())
    return Trained(
        booster,
        encoding,
        params,
        metrics,
        profile,
        x_sample[:5],
        (str(min(holdout_dates)), str(max(holdout_dates))),
        (str(min(sample_dates.min(), holdout_dates.min())), str(max(holdout_dates))),
        "xgboost.spark",
        [
            finding.message
            for finding in find_leakage(
                x_sample, y_sample, encoding.names, metrics, model.leakage, ctx.pipeline.task
            )
        ],
        loss_models,
    )


def latest_dates(frame: DataFrame, key: str, fraction: float) -> Column:
    """`training.latest_dates_mask` as a Spark predicate: the latest `fraction` of distinct
    dates; with a single date, a deterministic fifth of its entities (by hash of the key)."""
    from pyspark.sql import functions as F

    distinct = sorted(row[0] for row in frame.select(AS_OF).distinct().collect())
    if len(distinct) < 2:
        return F.pmod(F.xxhash64(F.col(key)), F.lit(5)) == 4
    count = max(1, round(len(distinct) * fraction))
    return F.col(AS_OF) >= F.lit(distinct[-count])


def holdout_metrics(
    ctx: RunContext,
    booster: xgb.Booster,
    baseline: Any,
    encoding: FeatureEncoding,
    data: pa.Table,
    holdout: np.ndarray,
) -> tuple[dict[str, Any], np.ndarray]:
    """XGBoost and the baseline on the frozen holdout rows of `data`: every metric of the
    task, and the promotion metric per configured slice, as the promotion gate computes
    them (`holdout_auc`, `baseline_holdout_auc`, `holdout_auc__region_north`, ...)."""
    import numpy as np
    import pyarrow as pa

    from driftline.core.tasks import better
    from driftline.model.judging import baseline_predictions, evaluate
    from driftline.model.promotion import evaluate as evaluate_slices

    task = ctx.pipeline.task
    rows = data.filter(pa.array(holdout))
    x = encoding.matrix(rows)
    y = np.asarray(data.column("label").to_numpy(), dtype=np.float32)[holdout]
    predicted = booster.inplace_predict(x)
    metrics: dict[str, Any] = {"holdout_rows": int(holdout.sum())}
    for prefix, values in (
        ("holdout", predicted),
        ("baseline_holdout", baseline_predictions(task, baseline, x)),
    ):
        for name, value in evaluate(task, y, values).items():
            if value is not None:
                metrics[f"{prefix}_{name}"] = value
    metric = ctx.pipeline.promotion_metric
    if f"holdout_{metric}" in metrics:
        policy = ctx.pipeline.model.promotion
        slices = evaluate_slices(predicted, y, rows, policy, task, metric).slices
        metrics.update({f"holdout_{metric}__{k.replace('=', '_')}": v for k, v in slices.items()})
    loss = task.loss
    beats_baseline = (
        better(loss, metrics[f"holdout_{loss}"], metrics[f"baseline_holdout_{loss}"]) > 0
    )
    metrics["beats_baseline"] = int(beats_baseline)
    if not beats_baseline:
        logger.warning("XGBoost does not beat the baseline on the holdout (%s)", metrics)
    return metrics, predicted


def with_score_reference(
    profile: dict[str, Any], labels: np.ndarray, scores: np.ndarray, ctx: RunContext
) -> None:
    """What the frozen holdout says about the model's scores, kept in its profile for the
    monitor to estimate the live metric before labels arrive (`monitoring.estimated`):
    a binary model's calibration and the share it calls positive at the decision
    threshold (the reference for tonight's share, a prior shift seen in the predictions);
    a multiclass model's calibration of "the predicted class is right" and how its
    expected macro-F1 compared with the realised one there; for both, how the expected log
    loss compared with the realised one; a regression's errors per quantile bin of its
    prediction and how its R² from expected errors missed there."""
    import numpy as np

    from driftline.model.calibration import (
        EPS,
        expected_logloss,
        fit_calibration,
        logloss_reference,
        macro_f1_reference,
    )
    from driftline.model.loss_model import error_by_score, r2_reference

    if not len(labels):
        return
    kind = ctx.pipeline.task.kind
    seed = ctx.pipeline.model.seed
    if kind == "regression":
        profile["error_by_score"] = error_by_score(scores, labels)
        profile["r2"] = r2_reference(scores, labels)
        return
    if kind == "multiclass":
        right = (np.argmax(scores, axis=1) == labels.astype(int)).astype(np.float64)
        top = scores.max(axis=1)
        calibration = profile["calibration"] = fit_calibration(right, top, seed=seed)
        realised = -np.log(np.clip(scores[np.arange(len(labels)), labels.astype(int)], EPS, 1))
        expected = expected_logloss(top, calibration, scores)
        # Measured on the rows the map was fitted on: a gap a little smaller than on
        # unseen rows, so the bias the monitor takes off is a little small.
        profile["logloss"] = logloss_reference(realised, expected, calibration)
        profile["macro_f1"] = macro_f1_reference(labels, scores, calibration)
        return
    calibration = profile["calibration"] = fit_calibration(labels, scores, seed=seed)
    clipped = np.clip(scores, EPS, 1 - EPS)
    realised = -(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped))
    expected = expected_logloss(scores, calibration)
    profile["logloss"] = logloss_reference(realised, expected, calibration)
    threshold = ctx.pipeline.monitoring.accuracy.decision_threshold
    profile["predicted"] = {
        "rows": len(scores),
        "positives": int(np.sum(np.asarray(scores) >= threshold)),
        "threshold": threshold,
    }


def with_loss_models(
    profile: dict[str, Any],
    x: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    encoding: FeatureEncoding,
    ctx: RunContext,
) -> dict[str, bytes]:
    """A regression's loss models, learnt on its frozen holdout (`model.loss_model`): the
    monitor's estimate of MAE and RMSE before labels. Their holdout facts go to the
    profile; without enough holdout rows, none (the errors per bin of the prediction,
    kept by `with_score_reference`, serve instead)."""
    import numpy as np

    from driftline.model.loss_model import fit_loss_models

    if ctx.pipeline.task.kind != "regression":
        return {}
    errors = np.asarray(labels, dtype=np.float64) - np.asarray(scores, dtype=np.float64)
    models, reference = fit_loss_models(x, errors, encoding.names, ctx.pipeline.model.seed)
    if models:
        profile["loss_model"] = reference
    return models


def reference_profile(
    train: pa.Table,
    scores: np.ndarray,
    encoding: FeatureEncoding,
    min_day_rows: int,
    task: Task | None = None,
) -> dict[str, Any]:
    """Per-feature and score distributions of the training rows, for drift monitoring,
    with how far each training day strays from them, and the labels: their positive rate
    (binary) or their distribution (regression values, multiclass class shares)."""
    import numpy as np

    days = np.asarray(train.column(AS_OF).to_numpy())
    profiles: dict[str, Any] = {}
    for name in encoding.names:
        values: Any
        if name in encoding.categorical:
            values = train.column(name).to_pylist()
            profiles[name] = categorical_profile(values)
        else:
            # The delivered values, not the booster's float32 matrix: a serving value equal
            # to a training one (a constant, a maximum) must fall where it fell in training.
            values = np.asarray(train.column(name).to_numpy(zero_copy_only=False), np.float64)
            profiles[name] = numeric_profile(values)
        spread = day_effect(profiles[name], values, days, min_day_rows)
        if spread is not None:
            profiles[name]["day_effect"] = spread
    labels = np.asarray(train.column("label").to_numpy())
    label: dict[str, Any] = label_profile(labels)
    if task is not None and task.kind == "regression":
        label = {"rows": len(labels), "distribution": numeric_profile(labels)}
    elif task is not None and task.kind == "multiclass":
        names = [task.classes[int(v)] for v in labels]
        label = {"rows": len(labels), "distribution": categorical_profile(names)}
    # A multiclass score is the predicted class's probability, as scoring writes it.
    score = scores.max(axis=1) if scores.ndim == 2 else scores
    return {
        "features": profiles,
        "score": numeric_profile(score),
        "rows": train.num_rows,
        "label": label,
    }
