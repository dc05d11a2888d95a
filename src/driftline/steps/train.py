"""Train: an XGBoost classifier on labelled features, logged and registered in MLflow.

The training set is every feature row of the training window whose label has arrived
(`labels.label_date == features.as_of_date`). The most recent dates are held out, so the
reported metrics are on data later than anything the model learned from.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from driftline import __version__, registry, tables
from driftline.context import RunContext, StepResult
from driftline.decisions import DecisionRecord, record
from driftline.device import choose_device
from driftline.features import AS_OF, FeatureEncoding
from driftline.profile import categorical_profile, numeric_profile
from driftline.training_data import labelled_features

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


def fit(ctx: RunContext, data: pa.Table, versions: dict[str, int], reason: str) -> dict[str, Any]:
    import mlflow
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    from mlflow.data.pandas_dataset import from_pandas
    from mlflow.models import infer_signature

    from driftline.promotion import evaluate, metric_value
    from driftline.training import (
        fit_baseline,
        fit_booster,
        importance_figure,
        latest_dates_mask,
    )

    model = ctx.pipeline.model
    device = choose_device(ctx.settings.device)
    encoding = FeatureEncoding.fit(ctx.pipeline, data)
    x = encoding.matrix(data)
    y = np.asarray(data.column("label").to_numpy(), dtype=np.float32)
    dates = np.asarray(data.column(AS_OF).to_numpy())
    # The frozen holdout: the most recent dates, never seen by training or the search.
    holdout = latest_dates_mask(dates, HOLDOUT_FRACTION)
    base_params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "device": device,
        "seed": model.seed,
        "nthread": 2,
        **model.params,
    }
    fitted = fit_booster(
        x[~holdout],
        y[~holdout],
        dates[~holdout],
        base_params,
        encoding.names,
        model.num_boost_round,
        model.search_trials,
        model.seed,
    )
    booster = fitted.booster
    predicted = booster.inplace_predict(x[holdout])
    baseline = fit_baseline(x[~holdout], y[~holdout], model.seed)
    baseline_predicted = baseline.predict_proba(x[holdout])[:, 1]

    metrics: dict[str, Any] = {
        "holdout_logloss": metric_value("logloss", y[holdout], predicted),
        "baseline_holdout_logloss": metric_value("logloss", y[holdout], baseline_predicted),
        "train_rows": int((~holdout).sum()),
        "holdout_rows": int(holdout.sum()),
        "best_iteration": fitted.best_iteration,
        "search_trials": fitted.trials,
    }
    auc = metric_value("auc", y[holdout], predicted)
    if auc is not None:
        metrics["holdout_auc"] = auc
        metrics["baseline_holdout_auc"] = metric_value("auc", y[holdout], baseline_predicted)
        slices = evaluate(
            predicted, y[holdout], data.filter(pa.array(holdout)), model.promotion
        ).slices
        metrics.update({f"holdout_auc__{k.replace('=', '_')}": v for k, v in slices.items()})
    beats_baseline = metrics["holdout_logloss"] < metrics["baseline_holdout_logloss"]
    metrics["beats_baseline"] = int(beats_baseline)
    if not beats_baseline:
        logger.warning("XGBoost does not beat the logistic baseline on the holdout (%s)", metrics)

    # Feature shares come from the training rows; the score distribution from the holdout,
    # because in-sample scores of a boosted model are more confident than live ones.
    profile = reference_profile(data.filter(pa.array(~holdout)), x[~holdout], predicted, encoding)
    figure, importance = importance_figure(booster)
    holdout_dates = dates[holdout]
    tags = {
        "driftline.holdout_start": str(min(holdout_dates)),
        "driftline.holdout_end": str(max(holdout_dates)),
        "driftline.reason": reason,
        "driftline.device": device,
        "driftline.code_version": code_version(),
        "driftline.run_date": ctx.ds,
        "driftline.window_start": str(min(dates)),
        "driftline.window_end": str(max(dates)),
        "driftline.features": ",".join(encoding.names),
        "driftline.beats_baseline": str(beats_baseline).lower(),
        **{f"driftline.input.{table}.version": str(v) for table, v in versions.items()},
    }
    # Doubles, as the features table stores them, so pyfunc/spark_udf accept its rows.
    example = pd.DataFrame(x[:5].astype(np.float64), columns=encoding.names)
    with mlflow.start_run(run_name=f"train-{ctx.ds}", tags=tags) as active:
        mlflow.log_params(fitted.params)
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None})
        mlflow.log_dict(profile, "reference_profile.json")
        mlflow.log_dict(importance, "feature_importance.json")
        mlflow.log_figure(figure, "feature_importance.png")
        for table, table_version in versions.items():
            mlflow.log_input(
                from_pandas(
                    pd.DataFrame({"table": [table], "delta_version": [table_version]}),
                    source=f"{ctx.settings.resolved_lake_uri}/{table}@v{table_version}",
                    name=table,
                ),
                context="training",
            )
        info = mlflow.xgboost.log_model(
            booster,
            name="model",
            signature=infer_signature(example, predicted[:5]),
            input_example=example,
            registered_model_name=model.name,
            metadata={
                "driftline": {
                    "encoding": encoding.to_dict(),
                    "profile": json.dumps(profile),
                    "importance": importance,
                }
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


def code_version() -> str:
    """The git commit of the checkout Driftline runs from, else the package version."""
    import subprocess
    from pathlib import Path

    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except OSError:
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__
