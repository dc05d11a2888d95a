"""Train: fit an XGBoost model on the window's labelled features, log it to MLflow and give
the new version its alias (the first becomes champion, later ones challengers).

Fitting lives in `model.training`, the MLflow run in `model.tracking`, aliases in
`model.lifecycle`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from driftline.context import RunContext, StepResult
from driftline.core import notify
from driftline.core.device import choose_device
from driftline.core.errors import ConfigError
from driftline.core.spark import is_connect
from driftline.data.features import AS_OF
from driftline.model import lifecycle, registry, tracking, training

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)


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

    frame, versions = training.training_frame(ctx)
    result.metrics.update(_label_coverage(ctx, versions))
    rows, distinct = _label_counts(frame, ctx.pipeline.task.kind)
    if distinct < 2:
        what = "two label values" if ctx.pipeline.task.kind == "regression" else "two classes"
        result.skipped = (
            f"no labelled features with at least {what} up to {ctx.ds} yet "
            f"({rows} rows); training waits for labels"
        )
        logger.warning(result.skipped)
        return result
    device = choose_device(ctx.settings.device)
    if rows >= model.spark_training_rows:
        if is_connect(ctx.spark):
            # Before any of the work: xgboost.spark trains in an RDD barrier stage, which a
            # Spark Connect client cannot start.
            raise ConfigError(
                f"{rows} training rows reach model.spark_training_rows "
                f"({model.spark_training_rows}), so {model.name} trains on the executors, "
                "which needs a Spark session of its own: run the retrain without "
                "DRIFTLINE_SPARK_REMOTE (driftline ui --no-spark-server)"
            )
        trained = training.fit_on_executors(ctx, frame, rows, device)
    else:
        ordered = frame.orderBy(AS_OF, ctx.pipeline.entity.key)  # the same rows, the same model
        trained = training.fit_on_driver(ctx, ordered.toArrow(), device)
    logged = tracking.log_run(ctx, trained, versions, reason)
    if trained.leakage:
        notify.send(
            ctx.settings,
            notify.Event(
                "leakage",
                f"{ctx.pipeline.pipeline} {ctx.ds}: {model.name} v{logged.version} looks too "
                f"good to be true: {'; '.join(trained.leakage)}",
                severity="warning",
                details={"model_version": logged.version, "findings": trained.leakage},
            ),
        )
    alias = lifecycle.enrol(ctx, logged.version, reason, trained.metrics)
    result.metrics.update(
        {
            "model_version": logged.version,
            "alias": alias,
            "mlflow_run_id": logged.run_id,
            "device": logged.tags["driftline.device"],
            "engine": trained.engine,
            "leakage": trained.leakage,
            **trained.metrics,
        }
    )
    result.table_versions.update(versions)
    return result


def _label_counts(frame: DataFrame, kind: str) -> tuple[int, int]:
    """Labelled rows, and how many distinct label values (counted up to two for a
    regression label, whose values are mostly distinct)."""
    from pyspark.sql import functions as F

    if kind == "regression":
        row = frame.agg(F.count(F.lit(1)), F.min("label"), F.max("label")).first()
        if row is None or not row[0]:
            return 0, 0
        return int(row[0]), 1 if row[1] == row[2] else 2
    classes = {r[0]: int(r[1]) for r in frame.groupBy("label").count().collect()}
    return sum(classes.values()), len(classes)


def _label_coverage(ctx: RunContext, versions: dict[str, int]) -> dict[str, int]:
    """Labels of the window that joined no feature row, counted and, past the pipeline's
    `label.max_unmatched_share`, alerted on: they are training data lost to a key or
    date mismatch between the sources."""
    from driftline.model.training_data import unmatched_labels

    after, until = training.training_window(ctx)
    total, unmatched, unbuilt = unmatched_labels(ctx, after, until, ctx.interval, versions)
    judged = total - unbuilt  # labels of days whose features were built
    if judged and unmatched / judged > ctx.pipeline.label.max_unmatched_share:
        notify.send(
            ctx.settings,
            notify.Event(
                "unmatched_labels",
                f"{ctx.pipeline.pipeline} {ctx.ds}: {unmatched} of {judged} labels since "
                f"{after} match no feature row on ({ctx.pipeline.entity.key}, day); check "
                "the label source's key and date_column against the entity's",
                severity="warning",
                details={"labels": judged, "unmatched": unmatched},
            ),
        )
    if unbuilt:
        logger.info(
            "%d label(s) since %s are dated days without feature rows (not run yet, or "
            "before the first night): not counted as unmatched",
            unbuilt,
            after,
        )
    return {
        "labels_in_window": total,
        "labels_unmatched": unmatched,
        "labels_without_a_features_day": unbuilt,
    }
