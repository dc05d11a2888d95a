"""Monitor: drift of every feature and of the score against the champion's reference
profile, data quality (null and out-of-range shares), live accuracy on the labels that
have matured, and the gaps between segments, all written to `monitoring_metrics` for the
run date.

The retraining policy (`steps.policy`) reads these rows; it does not recompute them.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from driftline.context import RunContext, StepResult
from driftline.core import notify, tables
from driftline.data.features import AS_OF
from driftline.data.profile import MISSING
from driftline.model import registry
from driftline.model.lifecycle import champion_ref_on
from driftline.model.loss_model import COLUMNS as LOSS_COLUMNS
from driftline.model.loss_model import LOSSES, expected_losses
from driftline.monitoring.accuracy import (
    OVERALL,
    Accuracy,
    accuracy_breached,
    accuracy_limit,
    live_accuracy,
)
from driftline.monitoring.drift import (
    FeatureDrift,
    calibrate,
    compare,
    importance_weighted_share,
    out_of_range_breached,
)
from driftline.monitoring.drift_scan import scan
from driftline.monitoring.estimated import (
    EXPECTED_LOGLOSS,
    F1_COUNTS,
    Estimate,
    error_bin_profile,
    estimate_accuracy,
    estimate_auc,
    estimate_breached,
    estimate_errors,
    estimate_from_losses,
    estimate_logloss,
    estimate_macro_f1,
    estimate_r2,
    f1_columns,
    score_grid_profile,
    with_expectations,
)
from driftline.monitoring.label_shift import LabelShift, label_shift
from driftline.monitoring.segment_gaps import segment_gaps

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from driftline.monitoring.drift_scan import NumericSketch

logger = logging.getLogger(__name__)

SCORE = "score"
# The score again under another name, scanned on a fixed [0, 1] grid (see `run`).
SCORE_GRID = "__score_grid"
# ... and in the bins of a regression champion's holdout errors.
SCORE_ERROR_BINS = "__score_error_bins"
DDL = (
    "metric string, feature string, segment string, value double, threshold double, "
    "breached boolean, details string, model_name string, model_version string, "
    "run_id string"
)

Row = tuple[str, str, str | None, float | None, float | None, bool, str | None]


def run(ctx: RunContext) -> StepResult:
    from pyspark.sql import functions as F

    registry.configure_mlflow(ctx.settings, f"driftline-{ctx.pipeline.pipeline}")
    result = StepResult("monitor", ctx.ds)
    # The champion of the run date: a re-run of a past date monitors the model that served it.
    ref = champion_ref_on(ctx, ctx.interval)
    if ref is None:
        result.skipped = "no champion yet: nothing to compare against"
        return result
    model = registry.load(ref)
    config = ctx.pipeline.monitoring

    features = ctx.lake.read(tables.FEATURES).where(ctx.interval.is_this())
    profiles = model.profile["features"]
    scanned = profiles
    # A regression champion's expected error per row, in the same pass over the
    # features: tonight's MAE and RMSE before labels (`model.loss_model`).
    with_losses = set(model.loss_models) == set(LOSSES) and "loss_model" in model.profile
    if with_losses:
        features = expected_losses(features, model.loss_models, model.encoding)
        scanned = {**profiles, **{c: {"type": "numeric"} for c in LOSS_COLUMNS.values()}}
    sketches = scan(features, scanned)
    estimates: list[Estimate] = []
    if with_losses:
        absolute = cast("NumericSketch", sketches[LOSS_COLUMNS["absolute"]])
        squared = cast("NumericSketch", sketches[LOSS_COLUMNS["squared"]])
        estimates += estimate_from_losses(
            absolute.total, squared.total, absolute.count, model.profile["loss_model"]
        )
    drifts = calibrate(
        [compare(name, profiles[name], sketches[name], config.drift) for name in profiles],
        profiles,
        config.drift,
    )
    share = importance_weighted_share(drifts, model.importance)

    score_drift = None
    predicted_shift = None
    if ctx.lake.exists(tables.PREDICTIONS):
        predictions = ctx.lake.read(tables.PREDICTIONS).where(
            ctx.interval.is_this() & (F.col("model_version") == F.lit(ref.version))
        )
        score_profile = model.profile["score"]
        wanted = {SCORE: score_profile}
        predicted = model.profile.get("predicted")  # a binary champion's holdout share
        calibration = model.profile.get("calibration")  # a binary or multiclass champion's
        multiclass = ctx.pipeline.task.kind == "multiclass"
        logloss = model.profile.get("logloss")  # how the expectation fared on the holdout
        # A multiclass champion's number of classes, where its holdout judged the
        # expected macro-F1 (none for a champion trained before it).
        f1_reference = model.profile.get("macro_f1") if multiclass else None
        f1_classes = int(f1_reference["classes"]) if f1_reference else 0
        f1 = f1_columns(f1_classes)
        if calibration is not None and logloss is not None:
            # Each row's expected log loss (and a multiclass row's expected outcome per
            # class) beside its score, in the same pass.
            predictions = with_expectations(predictions, calibration, multiclass, f1_classes)
            wanted[EXPECTED_LOGLOSS] = {"type": "numeric"}
            wanted.update({c: {"type": "numeric"} for group in f1.values() for c in group})
        if calibration is not None:
            # The same pass also counts the scores on a fixed [0, 1] grid (and, for a
            # binary model, at the decision threshold): the estimate before labels and
            # tonight's positive share.
            predictions = predictions.withColumn(SCORE_GRID, F.col(SCORE))
            wanted[SCORE_GRID] = score_grid_profile(predicted["threshold"] if predicted else None)
        # A regression champion's errors per bin of its prediction, where it has no loss
        # models (a holdout too small to learn them from, or trained before them).
        errors = None if estimates else model.profile.get("error_by_score")
        if errors is not None:
            predictions = predictions.withColumn(SCORE_ERROR_BINS, F.col(SCORE))
            wanted[SCORE_ERROR_BINS] = error_bin_profile(errors)
        sketches = scan(predictions, wanted)
        score_sketch = cast("NumericSketch", sketches[SCORE])
        if calibration is not None:
            grid = cast("NumericSketch", sketches[SCORE_GRID])
            estimate = (
                estimate_accuracy(grid.grid_counts, calibration)
                if multiclass
                else estimate_auc(grid.grid_counts, calibration)
            )
            estimates += [estimate] if estimate is not None else []
            if predicted is not None:
                flagged = int(grid.decile_counts[1])
                predicted_shift = label_shift(predicted, grid.count, flagged, config.label_shift)
        if EXPECTED_LOGLOSS in wanted:
            expected = cast("NumericSketch", sketches[EXPECTED_LOGLOSS])
            loss = estimate_logloss(
                "mlogloss" if multiclass else "logloss",
                expected.total,
                expected.count,
                cast("dict[str, Any]", logloss),
            )
            estimates += [loss] if loss is not None else []
            if f1_reference and f1["right"][0] in wanted:
                right, predicted_k, support = (
                    [cast("NumericSketch", sketches[c]).total for c in f1[count]]
                    for count in F1_COUNTS
                )
                f1_estimate = estimate_macro_f1(
                    right,
                    predicted_k,
                    support,
                    f1_reference,
                    bool(calibration and calibration.get("applied")),
                )
                if f1_estimate is None and expected.count:
                    logger.warning(
                        "no expected macro-F1: none of tonight's %d predictions carries "
                        "the champion's %d class probabilities",
                        expected.count,
                        f1_classes,
                    )
                estimates += [f1_estimate] if f1_estimate is not None else []
        if errors is not None:
            binned = cast("NumericSketch", sketches[SCORE_ERROR_BINS])
            estimates += estimate_errors(binned.decile_counts, errors)
        rmse = next((e for e in estimates if e.metric == "rmse"), None)
        if rmse is not None and "r2" in model.profile and score_sketch.count:
            # R² from the expected RMSE and the spread of tonight's predictions.
            mean = score_sketch.total / score_sketch.count
            variance = max(score_sketch.total_squares / score_sketch.count - mean**2, 0.0)
            r2 = estimate_r2(rmse, variance, model.profile["r2"])
            estimates += [r2] if r2 is not None else []
        if score_sketch.rows:
            (score_drift,) = calibrate(
                [compare(SCORE, score_profile, score_sketch, config.drift)],
                {SCORE: score_profile},
                config.drift,
            )
    scored = _scored_window(ctx, ref.version)
    accuracy = _accuracy(ctx, scored)
    baseline = registry.version_facts(ref).holdout
    overall = next((a for a in accuracy if a.segment == OVERALL), None)
    shift = _label_shift(ctx, model.profile.get("label"), overall)
    label_drift = _label_distribution_drift(ctx, model.profile.get("label"), scored, overall)

    references = {**profiles, SCORE: model.profile["score"]}
    rows = _drift_rows(drifts + ([score_drift] if score_drift else []), ctx, references)
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
    rows += [_estimate_row(ctx, estimate, baseline) for estimate in estimates]
    if predicted_shift is not None:
        rows.append(
            (
                "predicted_positive_rate",
                tables.MODEL_LEVEL,
                OVERALL,
                predicted_shift.current_rate,
                predicted_shift.reference_rate,
                predicted_shift.shifted,
                json.dumps(predicted_shift.as_dict()),
            )
        )
    gaps = segment_gaps(accuracy, config.segment_gaps, ctx.pipeline.task)
    rows += [
        (
            f"{g.metric}_gap",
            g.feature,
            None,
            g.gap,
            g.threshold,
            g.breached,
            json.dumps(g.as_dict()),
        )
        for g in gaps
    ]
    if label_drift is not None:
        rows.append(
            (
                "label_drift",
                tables.MODEL_LEVEL,
                None,
                label_drift.statistic,
                label_drift.threshold,
                label_drift.drifted,
                json.dumps(label_drift.as_dict()),
            )
        )
    if shift is not None:
        rows.append(
            (
                "label_rate",
                tables.MODEL_LEVEL,
                None,
                shift.current_rate,
                shift.reference_rate,
                shift.shifted,
                json.dumps(shift.as_dict()),
            )
        )
    written = ctx.lake.replace_partition_rows(
        tables.MONITORING_METRICS,
        [(*row, ref.name, ref.version, ctx.run_id, *ctx.interval.values) for row in rows],
        f"{DDL}, {tables.run_partition_ddl(ctx.interval.hourly)}",
        ctx.interval.partition,
        ctx.commit_metadata("monitor"),
    )

    drifted = sorted(d.feature for d in drifts if d.drifted)
    # Alerted when the drifted features carry the policy's share of the champion's
    # importance (the rows record every feature either way): drift the model ignores is
    # not worth a person's attention, and `benchmarks/alerts.py` counts alerts this way.
    if drifted and share >= policy.drift_importance_share:
        _warn(
            ctx,
            "drift",
            f"drift in {', '.join(drifted)} ({share:.0%} of {ref.name} v{ref.version}'s "
            "feature importance)",
            {d.feature: _summary(d, model.importance) for d in drifts if d.drifted},
        )
    quality = sorted(
        {
            row[1]
            for row in rows
            if row[0] in ("null_share", "out_of_range_share") and row[5] and row[1] != SCORE
        }
    )
    if quality:
        _warn(
            ctx,
            "data_quality",
            f"null or out-of-range values beyond their limits in {', '.join(quality)}",
            {
                row[1]: f"{row[0]} {row[3]:.3f} > {row[4]:.3f}"
                for row in rows
                if row[0] in ("null_share", "out_of_range_share") and row[1] in quality
            },
        )
    if shift is not None and shift.shifted:
        _warn(
            ctx,
            "label_shift",
            f"positive rate of matured labels {shift.current_rate:.2%} against "
            f"{shift.reference_rate:.2%} in training (h={shift.effect:+.3f}, "
            f"p={shift.p_value:.3g})",
            shift.as_dict(),
        )
    if predicted_shift is not None and predicted_shift.shifted:
        _warn(
            ctx,
            "prediction_shift",
            f"{predicted_shift.current_rate:.2%} of tonight's predictions are called "
            f"positive against {predicted_shift.reference_rate:.2%} on the champion's holdout "
            f"(h={predicted_shift.effect:+.3f}, p={predicted_shift.p_value:.3g}), "
            "before any label has matured",
            predicted_shift.as_dict(),
        )
    if label_drift is not None and label_drift.drifted:
        _warn(
            ctx,
            "label_shift",
            f"the matured labels' distribution moved from training's ({_summary(label_drift, {})})",
            label_drift.as_dict(),
        )
    wide = [g for g in gaps if g.breached]
    if wide:
        _warn(
            ctx,
            "segment_gap",
            "; ".join(
                f"{g.metric} {g.values[g.best]:.3f} for {g.best} but {g.values[g.worst]:.3f} "
                f"for {g.worst} (gap {g.gap:.3f} > {g.threshold}, p={g.p_value:.3g})"
                for g in wide
            ),
            {f"{g.feature}.{g.metric}": g.as_dict() for g in wide},
        )
    worst = max(drifts, key=lambda d: d.psi)
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
            **{f"estimated_{e.metric}": e.value for e in estimates},
            f"live_{ctx.pipeline.accuracy_metric}": (
                overall.value(ctx.pipeline.accuracy_metric) if overall else None
            ),
            "label_maturity": overall.maturity if overall else None,
            "label_rate": shift.current_rate if shift else None,
            "prediction_shift": bool(predicted_shift and predicted_shift.shifted),
            "label_shift": bool(shift and shift.shifted)
            or bool(label_drift and label_drift.drifted),
            "data_quality": quality,
            "segment_gaps": [f"{g.feature}.{g.metric}" for g in wide],
        }
    )
    return result


def _warn(ctx: RunContext, kind: str, message: str, details: dict[str, Any]) -> None:
    """A monitoring alert, named by its pipeline and date."""
    notify.send(
        ctx.settings,
        notify.Event(kind, f"{ctx.pipeline.pipeline} {ctx.ds}: {message}", "warning", details),
    )


def _estimate_row(ctx: RunContext, estimate: Estimate, baseline: dict[str, float]) -> Row:
    """An estimate, judged (`estimate_breached`) only where it is the policy's metric: the
    retraining policy acts on it while too few labels have matured to judge the realised
    metric itself."""
    threshold, breached = estimate_breached(
        estimate,
        ctx.pipeline.accuracy_metric,
        baseline,
        ctx.pipeline.retraining.accuracy_margin,
    )
    return (
        f"estimated_{estimate.metric}",
        tables.MODEL_LEVEL,
        OVERALL,
        estimate.value,
        threshold,
        breached,
        json.dumps(estimate.as_dict()),
    )


def _label_shift(
    ctx: RunContext, reference: dict[str, Any] | None, overall: Accuracy | None
) -> LabelShift | None:
    """The window's matured labels against the champion's training labels, once there
    are enough of them to judge (models trained before the profile kept labels: none)."""
    minimum = ctx.pipeline.monitoring.accuracy.min_labelled_rows
    if reference is None or overall is None or overall.labelled < minimum:
        return None
    if "distribution" in reference:  # a regression or multiclass label: see below
        return None
    return label_shift(
        reference, overall.labelled, overall.positives, ctx.pipeline.monitoring.label_shift
    )


def _label_distribution_drift(
    ctx: RunContext,
    reference: dict[str, Any] | None,
    scored: DataFrame | None,
    overall: Accuracy | None,
) -> FeatureDrift | None:
    """A regression label's values, or a multiclass label's class shares, matured in the
    window against the training labels', tested as drift is (the same test choice,
    effect floor and threshold), once there are enough of them to judge."""
    from pyspark.sql import functions as F

    minimum = ctx.pipeline.monitoring.accuracy.min_labelled_rows
    if reference is None or "distribution" not in reference or scored is None:
        return None
    if overall is None or overall.labelled < minimum:
        return None
    task = ctx.pipeline.task
    value = F.col("label").cast("double")
    if task.kind == "multiclass":
        names = F.array(*[F.lit(c) for c in task.classes])
        value = F.element_at(names, F.col("label").cast("int") + 1)
    matured = scored.where(F.col("label").isNotNull()).select(value.alias("label"))
    distribution = reference["distribution"]
    sketch = scan(matured, {"label": distribution})["label"]
    config = ctx.pipeline.monitoring.drift
    (drift,) = calibrate(
        [compare("label", distribution, sketch, config)], {"label": distribution}, config
    )
    return drift


def _summary(drift: FeatureDrift, importance: dict[str, float]) -> str:
    """The evidence of one drift alert: statistic, corrected p-value or threshold, effect
    size against its floor, and the feature's share of the champion's importance."""
    total = sum(importance.values()) or 1.0
    if drift.adjusted_p_value is not None:
        # A distance-judged feature has no p-value of its own; its column's test
        # (KS or chi-square) gave the corrected one.
        raw = "n/a" if drift.p_value is None else f"{drift.p_value:.3g}"
        test = (
            f"{drift.method}={drift.statistic:.4f}, p={raw} "
            f"(corrected {drift.adjusted_p_value:.3g} < {drift.threshold})"
        )
    else:
        test = f"{drift.method}={drift.statistic:.4f} >= {drift.threshold}"
    effect = (
        f"effect {drift.effect_size:.3f} >= floor {drift.effect_floor:.3f}"
        if drift.effect_size is not None and drift.effect_floor is not None
        else "effect n/a"
    )
    share = importance.get(drift.feature, 0.0) / total
    return f"{test}; {effect}; psi={drift.psi:.3f}; {share:.0%} of importance"


def _drift_rows(
    drifts: list[FeatureDrift], ctx: RunContext, references: dict[str, dict[str, Any]]
) -> list[Row]:
    config = ctx.pipeline.monitoring.drift
    rows: list[Row] = []
    for d in drifts:
        reference = references.get(d.feature, {})
        reference_nulls = float(reference.get("shares", {}).get(MISSING, 0.0))
        null_limit = min(1.0, reference_nulls + config.max_null_increase)
        outside = out_of_range_breached(
            d.out_of_range_share,
            d.rows,
            int(reference.get("count", 0)),
            d.kind == "numeric",
            config.max_out_of_range,
        )
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
            ("null_share", d.null_share, null_limit, "above"),
            ("out_of_range_share", d.out_of_range_share, config.max_out_of_range, outside),
        ):
            if value is None:
                continue
            if breached is None:
                flag = threshold is not None and value >= threshold
            elif breached == "p":
                flag = threshold is not None and value < threshold
            elif breached == "above":
                flag = threshold is not None and value > threshold
            else:
                flag = bool(breached)
            rows.append((metric, d.feature, None, float(value), threshold, bool(flag), None))
    return rows


def _accuracy(ctx: RunContext, scored: DataFrame | None) -> list[Accuracy]:
    """Accuracy of the champion's predictions of the window on the labels known today."""
    if scored is None:
        return []
    config = ctx.pipeline.monitoring.accuracy
    task = ctx.pipeline.task
    return live_accuracy(scored, config.segments, config.decision_threshold, task=task)


def _scored_window(ctx: RunContext, version: str) -> DataFrame | None:
    """The champion's predictions of the accuracy window with their labels (null until
    matured) and segment columns; None before there are predictions and labels."""
    from pyspark.sql import functions as F

    if not (ctx.lake.exists(tables.PREDICTIONS) and ctx.lake.exists(tables.LABELS)):
        return None
    config = ctx.pipeline.monitoring.accuracy
    key = ctx.pipeline.entity.key
    start = ctx.run_date - timedelta(days=config.window_days)
    predictions = ctx.lake.read(tables.PREDICTIONS).where(
        (F.col(tables.RUN_DATE) > F.lit(start))
        & ctx.interval.up_to()
        & (F.col("model_version") == F.lit(version))
    )
    labels = (
        ctx.lake.read(tables.LABELS)
        .where(ctx.interval.up_to())
        .select(key, F.col("label_date").alias(AS_OF), "label")
        .dropDuplicates([key, AS_OF])
    )
    task = ctx.pipeline.task
    scores = ["score", *(["class_probabilities"] if task.kind == "multiclass" else [])]
    scored: DataFrame = predictions.select(key, AS_OF, *scores).join(labels, [key, AS_OF], "left")
    if config.segments:
        segments = ctx.lake.read(tables.FEATURES).select(key, AS_OF, *config.segments)
        scored = scored.join(segments.dropDuplicates([key, AS_OF]), [key, AS_OF], "left")
    return scored


def _accuracy_rows(
    ctx: RunContext, accuracy: list[Accuracy], baseline: dict[str, float]
) -> list[Row]:
    """Live metrics per segment; the overall policy metric is judged against the
    champion's frozen-holdout value minus the policy's margin."""
    policy = ctx.pipeline.retraining
    judged = ctx.pipeline.accuracy_metric
    minimum = ctx.pipeline.monitoring.accuracy.min_labelled_rows
    task = ctx.pipeline.task
    live = ("auc", "logloss", "precision", "recall") if task.kind == "binary" else task.metrics
    rows: list[Row] = []
    for a in accuracy:
        details = json.dumps(a.as_dict())
        for metric, value in (
            *[(name, a.value(name)) for name in live],
            ("label_maturity", a.maturity),
            ("labelled_rows", float(a.labelled)),
        ):
            if value is None:
                continue
            threshold: float | None = None
            breached = False
            if metric == judged and a.segment == OVERALL and metric in baseline:
                holdout, margin = baseline[metric], policy.accuracy_margin
                threshold = accuracy_limit(metric, holdout, margin)
                breached = accuracy_breached(metric, value, holdout, margin, a.labelled, minimum)
            rows.append(
                (metric, tables.MODEL_LEVEL, a.segment, float(value), threshold, breached, details)
            )
    return rows
