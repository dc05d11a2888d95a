"""The retraining policy: should tonight's run ask for a challenger, and why?

`decide` is pure (facts in, decision out), so every rule of `driftline.yaml`'s
`retraining` section is testable without Spark or MLflow; `steps.policy` gathers the facts
from `monitoring_metrics`, the registry and `decisions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from driftline.core.pipeline import RetrainingPolicy


@dataclass(frozen=True)
class PolicyFacts:
    run_date: date
    # Monitored runs of the current champion up to and including run_date, oldest first:
    # (date, whether the drifted features carried enough of the model's importance).
    drift_history: list[tuple[date, bool]]
    # Tonight's live metric, the limit it is judged against, and whether it broke it
    # (with enough matured labels); None when no label has matured yet.
    accuracy: tuple[float, float, bool] | None
    champion_trained_on: date | None
    # The latest earlier run date on which the policy fired.
    last_fired: date | None
    # The live metric `accuracy` is about (the pipeline's `accuracy_metric`).
    metric: str = "auc"
    # Whether `accuracy` is the AUC estimated from scores, too few labels having matured.
    estimated: bool = False
    # The days whose labels had arrived by run_date, from the window's first run on.
    labelled_dates: list[date] = field(default_factory=list)


@dataclass(frozen=True)
class PolicyDecision:
    fire: bool
    reason: str | None  # drift | accuracy | schedule (the retrain DAG's `reason` param)
    reasons: list[str]
    numbers: dict[str, Any] = field(default_factory=dict)


def decide(policy: RetrainingPolicy, facts: PolicyFacts) -> PolicyDecision:
    triggers: list[tuple[str, str]] = []
    window = facts.drift_history[-policy.drift_window_runs :]
    drifted = [d.isoformat() for d, flag in window if flag]
    numbers: dict[str, Any] = {"drift_runs": drifted, "window_runs": len(window)}
    if facts.accuracy is not None:
        live, limit, broken = facts.accuracy
        numbers.update({"live_metric": live, "limit": limit, "estimated": facts.estimated})
        if broken:
            what = (
                f"estimated {facts.metric} {live:.4f} (from scores; too few labels matured), "
                "its whole interval"
                if facts.estimated
                else f"live {facts.metric} {live:.4f}"
            )
            triggers.append(("accuracy", f"{what} is worse than the limit {limit:.4f}"))
    if len(drifted) >= policy.drift_runs:
        triggers.append(
            (
                "drift",
                f"important features drifted in {len(drifted)} of the last {len(window)} runs "
                f"({', '.join(drifted)}; needed {policy.drift_runs} of {policy.drift_window_runs})",
            )
        )
    if facts.champion_trained_on is not None and policy.max_model_age_days is not None:
        age = (facts.run_date - facts.champion_trained_on).days
        numbers["model_age_days"] = age
        if age > policy.max_model_age_days:
            triggers.append(
                ("schedule", f"champion is {age} days old (maximum {policy.max_model_age_days})")
            )
    if not policy.enabled:
        return PolicyDecision(
            False, None, ["retraining policy disabled", *[t[1] for t in triggers]], numbers
        )
    if not triggers:
        return PolicyDecision(
            False, None, ["no trigger: drift, accuracy and age within policy"], numbers
        )
    since = max((d for d in (facts.last_fired, facts.champion_trained_on) if d), default=None)
    if since is not None and (facts.run_date - since).days < policy.cooldown_days:
        return PolicyDecision(
            False,
            None,
            [
                f"cooldown: last retraining on {since.isoformat()}, "
                f"within {policy.cooldown_days} days",
                *[t[1] for t in triggers],
            ],
            numbers,
        )
    waiting = _waiting_for_drifted_labels(policy, facts, window, triggers)
    if waiting is not None:
        return PolicyDecision(False, None, [waiting, *[t[1] for t in triggers]], numbers)
    return PolicyDecision(True, triggers[0][0], [t[1] for t in triggers], numbers)


def _waiting_for_drifted_labels(
    policy: RetrainingPolicy,
    facts: PolicyFacts,
    window: list[tuple[date, bool]],
    triggers: list[tuple[str, str]],
) -> str | None:
    """Why a retraining for changed data must wait, or None. Training holds out the
    latest labelled day, so until labels of `labelled_days_after_drift` days since the
    drift began have arrived, a challenger would be trained on the old distribution alone
    and judged on one day of the new: it could not learn what changed. An age trigger
    alone retrains regardless."""
    onset = min((d for d, flag in window if flag), default=None)
    if onset is None or all(kind == "schedule" for kind, _ in triggers):
        return None
    labelled = sorted({d for d in facts.labelled_dates if d >= onset})
    if len(labelled) >= policy.labelled_days_after_drift:
        return None
    return (
        f"waiting for labels: the data drifted from {onset.isoformat()} and labels of "
        f"{len(labelled)} day(s) since have arrived; retraining once "
        f"{policy.labelled_days_after_drift} have (labelled_days_after_drift), so the "
        "challenger learns the new distribution and not only the old"
    )
