"""Fitting the booster on the Spark executors with `xgboost.spark`, for training sets that
outgrow one process on the driver.

The rows stay where they are: `xgboost.spark` runs one barrier stage of `workers` tasks, each
building its histogram shard of the same model, with the same early stopping on the latest
development dates as the driver path (`booster.fit_booster`). What needs every row in one
place — the hyperparameter search, the logistic baseline, the reference profile — runs on a
seeded sample chosen by `model.training`; only its chosen parameters come here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from driftline.data.features import FeatureEncoding
from driftline.model.booster import EARLY_STOPPING_ROUNDS

if TYPE_CHECKING:
    import xgboost as xgb
    from pyspark.sql import Column, DataFrame

logger = logging.getLogger(__name__)

VALIDATION = "_validation"
# Core-library names of `xgb.train` that the scikit-learn style `xgboost.spark` estimator
# spells differently.
RENAMED = {
    "eta": "learning_rate",
    "seed": "random_state",
    "lambda": "reg_lambda",
    "alpha": "reg_alpha",
}
# Set by the estimator itself: threads come from `spark.task.cpus`, the objective from the
# label, the device and the evaluation metric from the arguments below.
# The classifier sets objective and class count from the labels; the regressor is given
# its objective below.
SET_BY_ESTIMATOR = {"nthread", "n_jobs", "objective", "device", "eval_metric", "num_class"}


def estimator_params(params: dict[str, Any]) -> dict[str, Any]:
    """`xgb.train` parameters as `xgboost.spark` estimator keyword arguments."""
    return {
        RENAMED.get(name, name): value
        for name, value in params.items()
        if name not in SET_BY_ESTIMATOR
    }


def fit_on_spark(
    development: DataFrame,
    validation: Column,
    encoding: FeatureEncoding,
    params: dict[str, Any],
    max_rounds: int,
    device: str,
    workers: int | None,
) -> xgb.Booster:
    """Train on every `development` row across `workers` Spark tasks, early-stopped on the
    rows where `validation` holds by the task's eval metric (in `params`, with the
    objective): `SparkXGBRegressor` for regression, `SparkXGBClassifier` otherwise, where a
    binary task's `scale_pos_weight` is counted on the training rows, in Spark.

    The booster is the same kind of object the driver path returns, so logging, the registry
    and scoring do not know which engine trained it.
    """
    from pyspark.sql import functions as F
    from xgboost.spark import SparkXGBClassifier, SparkXGBRegressor

    spark = development.sparkSession
    workers = workers or spark.sparkContext.defaultParallelism
    rows = development.select(
        *encoding.columns(),
        F.col("label").cast("float").alias("label"),
        validation.alias(VALIDATION),
    )
    total = rows.where(~F.col(VALIDATION)).count()
    extra: dict[str, Any] = {}
    if params["objective"] == "binary:logistic":
        positives = rows.where(~F.col(VALIDATION)).agg(F.sum("label")).first()
        count = float(positives[0] or 0.0) if positives else 0.0
        extra["scale_pos_weight"] = (total - count) / count if count else 1.0
    kind = (
        SparkXGBRegressor
        if params["objective"].startswith(("reg:", "count:"))
        else SparkXGBClassifier
    )
    estimator = kind(
        features_col=encoding.names,
        label_col="label",
        validation_indicator_col=VALIDATION,
        num_workers=workers,
        device=device,
        n_estimators=max_rounds,
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        eval_metric=params["eval_metric"],
        missing=float("nan"),
        **{**extra, **estimator_params(params)},
    )
    logger.info(
        "xgboost.spark: %d training rows (validation rows aside) on %d workers, device %s",
        total,
        workers,
        device,
    )
    booster = estimator.fit(rows).get_booster()
    booster.feature_names = list(encoding.names)
    return booster
