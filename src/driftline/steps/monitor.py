"""Monitor: PSI of every feature and of the score against the champion's training profile."""

from __future__ import annotations

import logging

from driftline import registry, tables
from driftline.context import RunContext, StepResult
from driftline.profile import current_shares, psi

logger = logging.getLogger(__name__)


def run(ctx: RunContext) -> StepResult:
    from pyspark.sql import functions as F

    registry.configure_mlflow(ctx.settings, f"driftline-{ctx.pipeline.pipeline}")
    result = StepResult("monitor", ctx.ds)
    ref = registry.find_alias(ctx.pipeline.model.name)
    if ref is None:
        result.skipped = "no champion yet: nothing to compare against"
        return result
    reference = registry.load(ref).profile

    features = ctx.lake.read(tables.FEATURES).where(F.col(tables.RUN_DATE) == F.lit(ctx.run_date))
    feature_shares = current_shares(features, reference["features"])
    values = {
        name: psi(reference["features"][name]["shares"], shares)
        for name, shares in feature_shares.items()
    }
    if ctx.lake.exists(tables.PREDICTIONS):
        predictions = ctx.lake.read(tables.PREDICTIONS).where(
            (F.col(tables.RUN_DATE) == F.lit(ctx.run_date))
            & (F.col("model_version") == F.lit(ref.version))
        )
        score_shares = current_shares(predictions, {"score": reference["score"]})["score"]
        values["score"] = psi(reference["score"]["shares"], score_shares)

    threshold = ctx.pipeline.thresholds.psi_breach
    rows = [
        (
            "psi",
            name,
            float(value),
            float(threshold),
            bool(value > threshold),
            ref.name,
            ref.version,
            ctx.run_id,
            ctx.run_date,
        )
        for name, value in sorted(values.items())
    ]
    metrics = ctx.spark.createDataFrame(
        rows,
        "metric string, feature string, value double, threshold double, breached boolean, "
        f"model_name string, model_version string, run_id string, {tables.RUN_DATE} date",
    )
    written = ctx.lake.replace_partition(
        tables.MONITORING_METRICS,
        metrics,
        {tables.RUN_DATE: ctx.ds},
        ctx.commit_metadata("monitor"),
    )
    breached = sorted(name for name, value in values.items() if value > threshold)
    if breached:
        logger.warning("PSI above %.2f on %s for %s", threshold, ctx.ds, ", ".join(breached))
    feature_values = {k: v for k, v in values.items() if k != "score"}
    worst = max(feature_values, key=lambda name: feature_values[name])
    result.table_versions[written.table] = written.version
    result.metrics.update(
        {
            "max_psi_feature": worst,
            "max_psi": feature_values[worst],
            "score_psi": values.get("score"),
            "breached": breached,
            "model_version": ref.version,
        }
    )
    return result
