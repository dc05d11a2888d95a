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
    # Whether `accuracy` is the metric estimated from scores, too few labels having matured.
    estimated: bool = False
    # The training window's days whose labels had arrived by run_date, and how many of
    # the latest of them training holds back from its trees (holdout, early stopping).
    labelled_dates: list[date] = field(default_factory=list)
    held_back_days: int = 0


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
    waiting = _waiting_for_drifted_labels(policy, facts, triggers)
    if waiting is not None:
        numbers["drift_onset"] = waiting[0]
        if any(kind == "schedule" for kind, _ in triggers):
            # The age safety net is not held back by a feed whose labels stop coming.
            return PolicyDecision(
                True, "schedule", [t[1] for t in triggers] + [waiting[1]], numbers
            )
        return PolicyDecision(False, None, [waiting[1], *[t[1] for t in triggers]], numbers)
    return PolicyDecision(True, triggers[0][0], [t[1] for t in triggers], numbers)


def drift_onset(history: list[tuple[date, bool]], quiet_runs: int) -> date | None:
    """The first drifted run of the drift still going on: walking back from the latest
    run, the drift began after the last `quiet_runs` undrifted runs in a row."""
    onset, quiet = None, 0
    for day, drifted in reversed(history):
        if drifted:
            onset, quiet = day, 0
        else:
            quiet += 1
            if quiet >= quiet_runs:
                break
    return onset


def may_wait_for_labels(policy: RetrainingPolicy, drift_history: list[tuple[date, bool]]) -> bool:
    """Whether a retraining may have to wait for labels from after a drift: the wait is on
    and drift is in the window (only then do the labelled days matter)."""
    window = drift_history[-policy.drift_window_runs :]
    return policy.wait_for_labels_after_drift and any(flag for _, flag in window)


def _waiting_for_drifted_labels(
    policy: RetrainingPolicy, facts: PolicyFacts, triggers: list[tuple[str, str]]
) -> tuple[str, str] | None:
    """(the drift's onset, why a retraining for changed data must wait), or None.
    Training fits its trees on the earlier labelled days and keeps the latest for the
    frozen holdout and early stopping: until those are all from after the drift began, a
    challenger would be tuned and judged on the distribution that has just ended (the
    demo's challenger trained the night after its drift was rejected for that)."""
    if not may_wait_for_labels(policy, facts.drift_history):
        return None
    if all(kind == "schedule" for kind, _ in triggers):
        return None
    onset = drift_onset(facts.drift_history, policy.drift_window_runs)
    if onset is None:
        return None
    drifted = sum(1 for d in set(facts.labelled_dates) if d >= onset)
    needed = facts.held_back_days + policy.drifted_training_days
    if drifted >= needed:
        return None
    return onset.isoformat(), (
        f"waiting for labels: the data drifted from {onset.isoformat()} and labels of "
        f"{drifted} day(s) since have arrived; retraining once {needed} have (the "
        f"{facts.held_back_days} latest labelled days that training holds out and "
        f"early-stops on, and drifted_training_days {policy.drifted_training_days}), so "
        "the challenger is tuned and judged on the new distribution, not the old"
    )
