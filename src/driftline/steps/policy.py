"""Retraining policy: decide from tonight's monitoring whether to retrain, and record why.

Every run writes one `retrain_policy` row to `decisions` (fired or not, with the reasons),
so an auditor sees why a model was or was not retrained on any date. When it fires, the
nightly DAG triggers `driftline_retrain` with the returned `reason`.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from driftline.context import RunContext, StepResult
from driftline.core import notify, tables
from driftline.model import registry
from driftline.model.booster import held_back_days
from driftline.model.decisions import DecisionRecord, record
from driftline.model.lifecycle import champion_ref_on
from driftline.model.training import training_window
from driftline.monitoring.policy import (
    PolicyDecision,
    PolicyFacts,
    decide,
    may_wait_for_labels,
)

logger = logging.getLogger(__name__)

KIND = "retrain_policy"
# How far back the policy looks for the start of a drift still going on.
ONSET_HISTORY_RUNS = 120


def run(ctx: RunContext, refire_history: bool = False) -> StepResult:
    """Decide for the run date as of that date: its champion, its monitoring rows. A re-run
    of a date the pipeline has already gone past records its decision but does not fire a
    retraining from history unless `refire_history` asks for it."""
    registry.configure_mlflow(ctx.settings, f"driftline-{ctx.pipeline.pipeline}")
    result = StepResult("policy", ctx.ds)
    ref = champion_ref_on(ctx, ctx.interval)
    if ref is None:
        result.skipped = "no champion yet: the first model is trained by bootstrap_champion"
        result.metrics.update({"fire": False, "reason": None})
        return result
    facts = gather_facts(ctx, ref)
    decision = decide(ctx.pipeline.retraining, facts)
    later = _later_decision(ctx, ref.name)
    if decision.fire and later is not None and not refire_history:
        decision = PolicyDecision(
            False,
            None,
            [
                f"re-run of a past date (the policy already ran for {later.isoformat()}): "
                "not retraining from history; re-run with refire_history=true to do so",
                *decision.reasons,
            ],
            decision.numbers,
        )
    record(
        ctx,
        DecisionRecord(
            KIND,
            ref.name,
            ref.version,
            ref.version,
            ref.version,
            decision.reasons,
            metric=decision.reason,
            numbers={"fire": decision.fire, **decision.numbers},
        ),
    )
    if decision.fire:
        notify.send(
            ctx.settings,
            notify.Event(
                "retrain",
                f"{ctx.pipeline.pipeline} {ctx.ds}: retraining {ref.name} ({decision.reason}): "
                + "; ".join(decision.reasons),
                severity="warning",
                details=decision.numbers,
            ),
        )
    else:
        logger.info("%s: no retraining (%s)", ctx.ds, "; ".join(decision.reasons))
    result.metrics.update(
        {"fire": decision.fire, "reason": decision.reason, "reasons": decision.reasons}
    )
    return result


def gather_facts(ctx: RunContext, ref: registry.ModelRef) -> PolicyFacts:
    from pyspark.sql import functions as F

    policy = ctx.pipeline.retraining
    drift_history: list[tuple[date, bool]] = []
    accuracy = None
    estimated = False
    if ctx.lake.exists(tables.MONITORING_METRICS):
        metrics = ctx.lake.read(tables.MONITORING_METRICS).where(
            ctx.interval.up_to()
            & (F.col("model_version") == F.lit(ref.version))
            & (F.col("feature") == F.lit(tables.MODEL_LEVEL))
        )
        history = (
            metrics.where(F.col("metric") == "drift_share")
            .orderBy(*[c.desc() for c in ctx.interval.order()])
            .limit(max(policy.drift_window_runs, ONSET_HISTORY_RUNS))
            .select(*ctx.interval.partition_columns, "breached")
            .collect()
        )
        # Oldest first, in run order: by date, and by hour in an hourly pipeline.
        columns = ctx.interval.partition_columns
        in_order = sorted(history, key=lambda r: tuple(r[c] for c in columns))
        drift_history = [(r[tables.RUN_DATE], bool(r["breached"])) for r in in_order]
        tonight = {
            r["metric"]: r
            for r in metrics.where(
                ctx.interval.is_this()
                & (F.col("segment") == "all")
                & F.col("metric").isin(
                    ctx.pipeline.accuracy_metric,
                    "labelled_rows",
                    f"estimated_{ctx.pipeline.accuracy_metric}",
                )
            )
            .select("metric", "value", "threshold", "breached")
            .collect()
        }
        accuracy, estimated = _accuracy_fact(ctx, tonight)
    last_fired = None
    if ctx.lake.exists(tables.DECISIONS):
        fired = (
            ctx.lake.read(tables.DECISIONS)
            .where(
                (F.col("kind") == KIND)
                & F.col("metric").isNotNull()
                & ctx.interval.before()
                & (F.col("model_name") == F.lit(ref.name))
            )
            .agg(F.max(tables.RUN_DATE).alias("last"))
            .collect()
        )
        last_fired = fired[0]["last"] if fired else None
    trained_on = registry.version_facts(ref).trained_on
    # A quiet night skips the read of the labels table: only a wait uses the labelled days.
    waits = may_wait_for_labels(policy, drift_history)
    labelled_dates = _labelled_dates(ctx) if waits else []
    return PolicyFacts(
        run_date=ctx.run_date,
        drift_history=drift_history,
        accuracy=accuracy,
        champion_trained_on=date.fromisoformat(trained_on[:10]) if trained_on else None,
        last_fired=last_fired,
        metric=ctx.pipeline.accuracy_metric,
        estimated=estimated,
        labelled_dates=labelled_dates,
        held_back_days=held_back_days(len(labelled_dates)),
    )


def _labelled_dates(ctx: RunContext) -> list[date]:
    """The days of a retraining's window tonight whose labels had arrived by tonight."""
    from pyspark.sql import functions as F

    if not ctx.lake.exists(tables.LABELS):
        return []
    after, until = training_window(ctx)
    rows = (
        ctx.lake.read(tables.LABELS)
        .where(
            ctx.interval.up_to()
            & (F.col("label_date") > F.lit(after))
            & (F.col("label_date") <= F.lit(until))
        )
        .select(F.to_date("label_date").alias("day"))
        .distinct()
        .collect()
    )
    return sorted(r["day"] for r in rows)


def _accuracy_fact(
    ctx: RunContext, tonight: dict[str, Any]
) -> tuple[tuple[float, float, bool] | None, bool]:
    """Tonight's live metric against its limit, and whether it is the estimate: the
    realised one once enough labels have matured, else the same metric estimated from
    scores alone (`monitoring.estimated`: AUC, log loss, multiclass accuracy or macro-F1,
    regression MAE or RMSE), so a model going bad is caught before its labels. R² (never
    judged before labels: it depends on the night's spread) and a champion trained before
    its metric had an estimate wait for labels."""

    def fact(row: Any) -> tuple[float, float, bool]:
        return float(row["value"]), float(row["threshold"]), bool(row["breached"])

    realised = tonight.get(ctx.pipeline.accuracy_metric)
    if realised is not None and realised["threshold"] is None:
        realised = None
    labelled = tonight.get("labelled_rows")
    matured = labelled is not None and labelled["value"] >= (
        ctx.pipeline.monitoring.accuracy.min_labelled_rows
    )
    estimate = tonight.get(f"estimated_{ctx.pipeline.accuracy_metric}")
    if realised is not None and matured:
        return fact(realised), False
    if estimate is not None and estimate["threshold"] is not None:
        return fact(estimate), True
    return (fact(realised) if realised is not None else None), False


def _later_decision(ctx: RunContext, model_name: str) -> date | None:
    """The latest date after the run date on which the policy has already decided."""
    from pyspark.sql import functions as F

    if not ctx.lake.exists(tables.DECISIONS):
        return None
    later = (
        ctx.lake.read(tables.DECISIONS)
        .where(
            (F.col("kind") == KIND)
            & ctx.interval.after()
            & (F.col("model_name") == F.lit(model_name))
        )
        .agg(F.max(tables.RUN_DATE).alias("latest"))
        .collect()
    )
    return later[0]["latest"] if later else None
