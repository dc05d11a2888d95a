"""Promote: run the promotion gate for a challenger and act on its decision.

Both models score the challenger's frozen holdout (the most recent dates of its training
window, read at the Delta versions it was trained from); the champion alias moves only
when the gate says so. Either way the challenger alias is cleared (it stops scoring in
shadow) and the decision with its numbers goes to `decisions` and the version's tags.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from driftline.context import RunContext, StepResult
from driftline.core import notify, tables
from driftline.core.intervals import RunInterval
from driftline.model import registry
from driftline.model.decisions import DecisionRecord, record
from driftline.model.promotion import (
    as_numbers,
    decide,
    evaluate,
    paired_interval,
    slice_intervals,
)
from driftline.model.training_data import as_of_value, before_as_of, labelled_features

logger = logging.getLogger(__name__)


def run(ctx: RunContext, version: str | None = None) -> StepResult:
    import mlflow
    import numpy as np

    name = ctx.pipeline.model.name
    policy = ctx.pipeline.model.promotion
    metric = ctx.pipeline.promotion_metric
    registry.configure_mlflow(ctx.settings, f"driftline-{ctx.pipeline.pipeline}")
    result = StepResult("promote", ctx.ds)
    champion_ref = registry.require_alias(name)
    challengers = [r for r in registry.scoring_models(name) if r.alias != registry.CHAMPION]
    if version is not None:
        challengers = [r for r in challengers if r.version == str(version)] or [
            registry.ModelRef(name, str(version), "manual", registry.run_id_of(name, str(version)))
        ]
    if not challengers:
        result.skipped = f"no challenger of {name!r} to judge"
        return result
    challenger_ref = challengers[-1]
    client = mlflow.MlflowClient()
    tags = client.get_model_version(name, challenger_ref.version).tags or {}
    holdout = labelled_features(
        ctx,
        after=before_as_of(tags["driftline.holdout_start"]),
        until=as_of_value(tags["driftline.holdout_end"]),
        labels_known_by=RunInterval.of(tags["driftline.run_date"], ctx.pipeline.hourly),
        versions={
            t: int(tags[f"driftline.input.{t}.version"]) for t in (tables.FEATURES, tables.LABELS)
        },
    )
    labels = np.asarray(holdout.column("label").to_numpy(), dtype=np.float64)
    task = ctx.pipeline.task
    evaluations, scores = {}, {}
    for ref in (champion_ref, challenger_ref):
        model = registry.load(ref)
        scores[ref.version] = np.asarray(
            model.booster.inplace_predict(model.encoding.matrix(holdout))
        )
        evaluations[ref.version] = evaluate(
            scores[ref.version], labels, holdout, policy, task, metric
        )
    champion, challenger = evaluations[champion_ref.version], evaluations[challenger_ref.version]
    # Both models on the same resampled rows; seeded by the pipeline's seed, so a re-run
    # of the gate gives the same interval.
    paired = (
        labels,
        scores[champion_ref.version],
        scores[challenger_ref.version],
    )
    seed = ctx.pipeline.model.seed
    interval = paired_interval(task, metric, *paired, policy, seed)
    per_slice = slice_intervals(task, metric, *paired, holdout, policy, seed)
    decision = decide(
        champion, challenger, policy, metric, interval, per_slice, policy.confidence > 0
    )

    after = challenger_ref.version if decision.promote else champion_ref.version
    record(
        ctx,
        DecisionRecord(
            kind="promote" if decision.promote else "reject",
            model_name=name,
            model_version=challenger_ref.version,
            champion_before=champion_ref.version,
            champion_after=after,
            reasons=decision.reasons,
            metric=metric,
            champion_value=champion.overall,
            challenger_value=challenger.overall,
            improvement=decision.improvement,
            numbers={
                "champion": as_numbers(champion),
                "challenger": as_numbers(challenger),
                "holdout_rows": len(labels),
                "gain_interval": asdict(interval) if interval is not None else None,
                "slice_gain_intervals": {k: asdict(v) for k, v in per_slice.items()},
            },
        ),
    )
    client.set_model_version_tag(
        name,
        challenger_ref.version,
        "driftline.gate",
        ("promoted: " if decision.promote else "rejected: ") + "; ".join(decision.reasons),
    )
    if decision.promote:
        client.set_registered_model_alias(name, registry.CHAMPION, challenger_ref.version)
    if challenger_ref.alias.startswith(registry.CHALLENGER_PREFIX):
        client.delete_registered_model_alias(name, challenger_ref.alias)
    verdict = "promoted" if decision.promote else "rejected"
    notify.send(
        ctx.settings,
        notify.Event(
            "promote" if decision.promote else "reject",
            f"model {name} v{challenger_ref.version} {verdict} on {ctx.ds}: "
            + "; ".join(decision.reasons),
            details={
                "champion_before": champion_ref.version,
                "champion_after": after,
                metric: f"{champion.overall:.4f} -> {challenger.overall:.4f}",
            },
        ),
    )
    result.metrics = {
        "promoted": decision.promote,
        "champion": after,
        "challenger": challenger_ref.version,
        "improvement": decision.improvement,
        "gain_interval": asdict(interval) if interval is not None else None,
        "reasons": decision.reasons,
    }
    return result
