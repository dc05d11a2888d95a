"""Monitor: drift of every feature and of the score against the champion's reference
profile, data quality (null and out-of-range shares), and live accuracy on the labels that
have matured, all written to `monitoring_metrics` for the run date.

The retraining policy (`steps.policy`) reads these rows; it does not recompute them.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from driftline.context import RunContext, StepResult
from driftline.core import notify, tables
from driftline.data.features import AS_OF
from driftline.model import registry
from driftline.monitoring.accuracy import OVERALL, Accuracy, live_accuracy
from driftline.monitoring.drift import FeatureDrift, compare, importance_weighted_share
from driftline.monitoring.drift_scan import scan

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)

SCORE = "score"
DDL = (
    "metric string, feature string, segment string, value double, threshold double, "
    "breached boolean, details string, model_name string, model_version string, "
    f"run_id string, {tables.RUN_DATE} date"
)

Row = tuple[str, str, str | None, float | None, float | None, bool, str | None]


def run(ctx: RunContext) -> StepResult:
    from pyspark.sql import functions as F

    registry.configure_mlflow(ctx.settings, f"driftline-{ctx.pipeline.pipeline}")
    result = StepResult("monitor", ctx.ds)
    ref = registry.find_alias(ctx.pipeline.model.name)
    if ref is None:
        result.skipped = "no champion yet: nothing to compare against"
        return result
    model = registry.load(ref)
    config = ctx.pipeline.monitoring

    features = ctx.lake.read(tables.FEATURES).where(F.col(tables.RUN_DATE) == F.lit(ctx.run_date))
    profiles = model.profile["features"]
    sketches = scan(features, profiles)
    drifts = [compare(name, profiles[name], sketches[name], config.drift) for name in profiles]
    share = importance_weighted_share(drifts, model.importance)

    score_drift = None
    if ctx.lake.exists(tables.PREDICTIONS):
        predictions = ctx.lake.read(tables.PREDICTIONS).where(
            (F.col(tables.RUN_DATE) == F.lit(ctx.run_date))
            & (F.col("model_version") == F.lit(ref.version))
        )
        score_profile = model.profile["score"]
        score_sketch = scan(predictions, {SCORE: score_profile})[SCORE]
        if score_sketch.rows:
            score_drift = compare(SCORE, score_profile, score_sketch, config.drift)
    accuracy = _accuracy(ctx, ref.version)
    baseline = registry.version_facts(ref).holdout

    rows = _drift_rows(drifts + ([score_drift] if score_drift else []), ctx)
    policy = ctx.pipeline.retraining
    rows.append(
        (
            "drift_share",
            tables.MODEL_LEVEL,
            None,
            share,
            policy.drift_importance_share,
            share >= policy.drift_importance_share,
            json.dumps(sorted(d.feature for d in drifts if d.drifted)),
        )
    )
    rows += _accuracy_rows(ctx, accuracy, baseline)
    written = ctx.lake.replace_partition_rows(
        tables.MONITORING_METRICS,
        [(*row, ref.name, ref.version, ctx.run_id, ctx.run_date) for row in rows],
        DDL,
        {tables.RUN_DATE: ctx.ds},
        ctx.commit_metadata("monitor"),
    )

    drifted = sorted(d.feature for d in drifts if d.drifted)
    if drifted:
        notify.send(
            ctx.settings,
            notify.Event(
                "drift",
                f"{ctx.pipeline.pipeline} {ctx.ds}: drift in {', '.join(drifted)} "
                f"({share:.0%} of {ref.name} v{ref.version}'s feature importance)",
                severity="warning",
                details={d.feature: _summary(d) for d in drifts if d.drifted},
            ),
        )
    worst = max(drifts, key=lambda d: d.psi)
    overall = next((a for a in accuracy if a.segment == OVERALL), None)
    result.table_versions[written.table] = written.version
    result.metrics.update(
        {
            "model_version": ref.version,
            "drifted": drifted,
            "drift_share": share,
            "max_psi_feature": worst.feature,
            "max_psi": worst.psi,
            "score_psi": score_drift.psi if score_drift else None,
            "live_auc": overall.auc if overall else None,
            "label_maturity": overall.maturity if overall else None,
        }
    )
    return result


def _summary(drift: FeatureDrift) -> str:
    p = f", p={drift.p_value:.3g}" if drift.p_value is not None else ""
    return (
        f"{drift.method}={drift.statistic:.4f}{p} (threshold {drift.threshold}), "
        f"psi={drift.psi:.3f}"
    )


def _drift_rows(drifts: list[FeatureDrift], ctx: RunContext) -> list[Row]:
    config = ctx.pipeline.monitoring.drift
    rows: list[Row] = []
    for d in drifts:
        rows.append(
            ("drift", d.feature, None, d.statistic, d.threshold, d.drifted, json.dumps(d.as_dict()))
        )
        rows.append(
            ("psi", d.feature, None, d.psi, config.psi_breach, d.psi_level == "breach", None)
        )
        for metric, value, threshold, breached in (
            ("jensenshannon", d.jensenshannon, config.distance_threshold, None),
            ("wasserstein", d.wasserstein, config.distance_threshold, None),
            ("ks_statistic", d.ks_statistic, None, False),
            ("ks_p_value", d.ks_p_value, config.p_value, "p"),
            ("chisquare_p_value", d.chisquare_p_value, config.p_value, "p"),
            ("null_share", d.null_share, None, False),
            ("out_of_range_share", d.out_of_range_share, None, False),
        ):
            if value is None:
                continue
            if breached is None:
                flag = threshold is not None and value >= threshold
            elif breached == "p":
                flag = threshold is not None and value < threshold
            else:
                flag = False
            rows.append((metric, d.feature, None, float(value), threshold, bool(flag), None))
    return rows


def _accuracy(ctx: RunContext, version: str) -> list[Accuracy]:
    """Accuracy of the champion's predictions of the window on the labels known today."""
    from pyspark.sql import functions as F

    if not (ctx.lake.exists(tables.PREDICTIONS) and ctx.lake.exists(tables.LABELS)):
        return []
    config = ctx.pipeline.monitoring.accuracy
    key = ctx.pipeline.entity.key
    start = ctx.run_date - timedelta(days=config.window_days)
    predictions = ctx.lake.read(tables.PREDICTIONS).where(
        (F.col(tables.RUN_DATE) > F.lit(start))
        & (F.col(tables.RUN_DATE) <= F.lit(ctx.run_date))
        & (F.col("model_version") == F.lit(version))
    )
    labels = (
        ctx.lake.read(tables.LABELS)
        .where(F.col(tables.RUN_DATE) <= F.lit(ctx.run_date))
        .select(key, F.col("label_date").alias(AS_OF), "label")
        .dropDuplicates([key, AS_OF])
    )
    scored: DataFrame = predictions.select(key, AS_OF, "score").join(labels, [key, AS_OF], "left")
    if config.segments:
        segments = ctx.lake.read(tables.FEATURES).select(key, AS_OF, *config.segments)
        scored = scored.join(segments.dropDuplicates([key, AS_OF]), [key, AS_OF], "left")
    return live_accuracy(scored, config.segments, config.decision_threshold)


def _accuracy_rows(
    ctx: RunContext, accuracy: list[Accuracy], baseline: dict[str, float]
) -> list[Row]:
    """Live metrics per segment; the overall policy metric is judged against the
    champion's frozen-holdout value minus the policy's margin."""
    policy = ctx.pipeline.retraining
    minimum = ctx.pipeline.monitoring.accuracy.min_labelled_rows
    rows: list[Row] = []
    for a in accuracy:
        details = json.dumps(a.as_dict())
        for metric, value in (
            ("auc", a.auc),
            ("logloss", a.logloss),
            ("precision", a.precision),
            ("recall", a.recall),
            ("label_maturity", a.maturity),
            ("labelled_rows", float(a.labelled)),
        ):
            if value is None:
                continue
            threshold: float | None = None
            breached = False
            if metric == policy.metric and a.segment == OVERALL and metric in baseline:
                threshold = _limit(metric, baseline[metric], policy.accuracy_margin)
                worse = value < threshold if metric == "auc" else value > threshold
                breached = bool(worse and a.labelled >= minimum)
            rows.append(
                (metric, tables.MODEL_LEVEL, a.segment, float(value), threshold, breached, details)
            )
    return rows


def _limit(metric: str, holdout: float, margin: float) -> float:
    return holdout - margin if metric == "auc" else holdout + margin
