"""Train: an XGBoost classifier on labelled features, logged and registered in MLflow.

The training set is every feature row of the training window whose label has arrived
(`labels.label_date == features.as_of_date`). The most recent dates are held out, so the
reported metrics are on data later than anything the model learned from.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from driftline import __version__, registry, tables
from driftline.context import RunContext, StepResult
from driftline.decisions import DecisionRecord, record
from driftline.device import choose_device
from driftline.features import AS_OF, FeatureEncoding
from driftline.profile import categorical_profile, numeric_profile
from driftline.quality.results import gate

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

logger = logging.getLogger(__name__)

HOLDOUT_FRACTION = 0.2


def run(ctx: RunContext, reason: str = "manual", only_if_no_champion: bool = False) -> StepResult:
    model = ctx.pipeline.model
    registry.configure_mlflow(ctx.settings, f"driftline-{ctx.pipeline.pipeline}")
    result = StepResult("train", ctx.ds)
    if only_if_no_champion:
        existing = registry.find_alias(model.name)
        if existing is not None:
            result.skipped = f"champion is version {existing.version}; nothing to bootstrap"
            result.metrics["model_version"] = existing.version
            return result

    data, versions = training_table(ctx)
    if data.num_rows == 0 or len(set(data.column("label").to_pylist())) < 2:
        result.skipped = (
            f"no labelled features with both classes up to {ctx.ds} yet "
            f"({data.num_rows} rows); training waits for labels"
        )
        logger.warning(result.skipped)
        return result
    trained = fit(ctx, data, versions, reason)
    result.metrics.update(trained)
    result.table_versions.update(versions)
    return result


def training_table(ctx: RunContext) -> tuple[pa.Table, dict[str, int]]:
    """Labelled feature rows of the window, with the Delta versions they were read at."""
    start = ctx.run_date - timedelta(days=ctx.pipeline.model.training_window_days)
    versions = {
        tables.FEATURES: ctx.lake.version(tables.FEATURES),
        tables.LABELS: ctx.lake.version(tables.LABELS),
    }
    data = labelled_features(ctx, start, ctx.run_date, ctx.run_date, versions, check=True)
    return data, versions


def labelled_features(
    ctx: RunContext,
    after: date,
    until: date,
    labels_known_by: date,
    versions: dict[str, int],
    check: bool = False,
) -> pa.Table:
    """Feature rows with `after < as_of_date <= until` whose label had arrived by
    `labels_known_by`, read at the given Delta versions (so a model's training or holdout
    data can be read again, identically, later)."""
    from pyspark.sql import functions as F

    key = ctx.pipeline.entity.key
    features = ctx.lake.read(tables.FEATURES, versions[tables.FEATURES]).where(
        (F.col(AS_OF) > F.lit(after)) & (F.col(AS_OF) <= F.lit(until))
    )
    if check:
        gate(ctx, features, tables.FEATURES, recorded_as=f"{tables.FEATURES}:training")
    labels = (
        ctx.lake.read(tables.LABELS, versions[tables.LABELS])
        .where(F.col(tables.RUN_DATE) <= F.lit(labels_known_by))
        .select(key, F.col("label_date").alias(AS_OF), "label")
        .dropDuplicates([key, AS_OF])
    )
    joined = (
        features.join(labels, [key, AS_OF])
        .select(key, AS_OF, *ctx.pipeline.feature_names, "label")
        .orderBy(AS_OF, key)
    )
    return joined.toArrow()


def time_split(dates: np.ndarray) -> np.ndarray:
    """Boolean mask of the holdout: the latest ~20% of distinct dates (at least one)."""
    import numpy as np

    distinct = np.unique(dates)
    if len(distinct) < 2:
        # One date only: hold out a deterministic fifth of it rather than nothing.
        return (np.arange(len(dates)) % 5) == 4
    holdout_dates = max(1, round(len(distinct) * HOLDOUT_FRACTION))
    cutoff = distinct[-holdout_dates]
    return dates >= cutoff


def fit(ctx: RunContext, data: pa.Table, versions: dict[str, int], reason: str) -> dict[str, Any]:
    import mlflow
    import numpy as np
    import pandas as pd
    import xgboost as xgb
    from mlflow.models import infer_signature
    from sklearn.metrics import log_loss, roc_auc_score

    model = ctx.pipeline.model
    device = choose_device(ctx.settings.device)
    encoding = FeatureEncoding.fit(ctx.pipeline, data)
    x = encoding.matrix(data)
    y = np.asarray(data.column("label").to_numpy(), dtype=np.float32)
    holdout = time_split(np.asarray(data.column(AS_OF).to_numpy()))

    params = {
        "objective": "binary:logistic",
        "eval_metric": ["auc", "logloss"],
        "tree_method": "hist",
        "device": device,
        "seed": model.seed,
        "nthread": 2,
        **model.params,
    }
    train_matrix = xgb.DMatrix(x[~holdout], label=y[~holdout], feature_names=encoding.names)
    holdout_matrix = xgb.DMatrix(x[holdout], label=y[holdout], feature_names=encoding.names)
    booster = xgb.train(params, train_matrix, num_boost_round=model.num_boost_round)

    predicted = booster.inplace_predict(x[holdout])
    metrics = {"holdout_logloss": float(log_loss(y[holdout], predicted, labels=[0, 1]))}
    if len(np.unique(y[holdout])) == 2:
        metrics["holdout_auc"] = float(roc_auc_score(y[holdout], predicted))
    metrics["train_rows"] = int((~holdout).sum())
    metrics["holdout_rows"] = int(holdout.sum())
    del holdout_matrix

    import pyarrow as pa

    # Feature shares come from the training rows; the score distribution from the holdout,
    # because in-sample scores of a boosted model are more confident than live ones.
    profile = reference_profile(data.filter(pa.array(~holdout)), x[~holdout], predicted, encoding)
    dates = data.column(AS_OF).to_pylist()
    holdout_dates = [d for d, held in zip(dates, holdout, strict=True) if held]
    tags = {
        "driftline.holdout_start": str(min(holdout_dates)),
        "driftline.holdout_end": str(max(holdout_dates)),
        "driftline.reason": reason,
        "driftline.device": device,
        "driftline.code_version": __version__,
        "driftline.run_date": ctx.ds,
        "driftline.window_start": str(min(dates)),
        "driftline.window_end": str(max(dates)),
        "driftline.features": ",".join(encoding.names),
        **{f"driftline.input.{table}.version": str(v) for table, v in versions.items()},
    }
    example = pd.DataFrame(x[:5], columns=encoding.names)
    with mlflow.start_run(run_name=f"train-{ctx.ds}", tags=tags) as active:
        mlflow.log_params({k: v for k, v in params.items() if k != "eval_metric"})
        mlflow.log_param("num_boost_round", model.num_boost_round)
        mlflow.log_metrics(metrics)
        mlflow.log_dict(profile, "reference_profile.json")
        info = mlflow.xgboost.log_model(
            booster,
            name="model",
            signature=infer_signature(example, predicted[:5]),
            input_example=example,
            registered_model_name=model.name,
            metadata={
                "driftline": {"encoding": encoding.to_dict(), "profile": json.dumps(profile)}
            },
        )
        run_id = active.info.run_id
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model.name, version, key, value)
    alias = registry.CHAMPION
    if registry.find_alias(model.name) is None:
        record(
            ctx,
            DecisionRecord(
                "bootstrap",
                model.name,
                version,
                None,
                version,
                [f"first model of {model.name}: no champion to compare with ({reason})"],
                numbers=metrics,
            ),
        )
        logger.info("model %s version %s is the first champion", model.name, version)
    else:
        alias = registry.challenger_alias(ctx.ds)
        logger.info("model %s version %s registered as %s", model.name, version, alias)
    client.set_registered_model_alias(model.name, alias, version)
    return {
        "model_version": version,
        "alias": alias,
        "mlflow_run_id": run_id,
        "device": device,
        **metrics,
    }


def reference_profile(
    train: pa.Table, x_train: np.ndarray, scores: np.ndarray, encoding: FeatureEncoding
) -> dict[str, Any]:
    """Per-feature and score distributions of the training rows, for drift monitoring."""
    profiles: dict[str, Any] = {}
    for j, name in enumerate(encoding.names):
        if name in encoding.categorical:
            profiles[name] = categorical_profile(train.column(name).to_pylist())
        else:
            profiles[name] = numeric_profile(x_train[:, j])
    return {"features": profiles, "score": numeric_profile(scores), "rows": len(x_train)}
