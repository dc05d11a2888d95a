"""The retraining policy's rules, one at a time."""

from __future__ import annotations

from datetime import date, timedelta

from driftline.core.pipeline import RetrainingPolicy
from driftline.monitoring.policy import PolicyFacts, decide

TODAY = date(2024, 6, 30)


def facts(**overrides: object) -> PolicyFacts:
    values: dict[str, object] = {
        "run_date": TODAY,
        "drift_history": [(TODAY - timedelta(days=i), False) for i in (2, 1, 0)],
        "accuracy": (0.80, 0.75, False),
        "champion_trained_on": TODAY - timedelta(days=20),
        "last_fired": None,
        "labelled_dates": [TODAY - timedelta(days=i) for i in (3, 2, 1)],
    }
    values.update(overrides)
    return PolicyFacts(**values)  # type: ignore[arg-type]


POLICY = RetrainingPolicy(drift_runs=2, drift_window_runs=3, max_model_age_days=60, cooldown_days=7)


def test_quiet_night_holds() -> None:
    decision = decide(POLICY, facts())
    assert not decision.fire
    assert decision.reasons == ["no trigger: drift, accuracy and age within policy"]


def test_drift_in_k_of_n_runs_fires() -> None:
    history = [(TODAY - timedelta(days=2), True), (TODAY - timedelta(days=1), False), (TODAY, True)]
    decision = decide(POLICY, facts(drift_history=history))
    assert decision.fire and decision.reason == "drift"
    assert "2 of the last 3 runs" in decision.reasons[0]


def test_one_drifted_run_is_not_enough() -> None:
    history = [
        (TODAY - timedelta(days=2), False),
        (TODAY - timedelta(days=1), False),
        (TODAY, True),
    ]
    assert not decide(POLICY, facts(drift_history=history)).fire


def test_only_the_last_n_runs_count() -> None:
    history = [(TODAY - timedelta(days=d), d >= 3) for d in (5, 4, 3, 2, 1, 0)]
    assert not decide(POLICY, facts(drift_history=history)).fire


def test_accuracy_drop_fires_first() -> None:
    history = [(TODAY - timedelta(days=d), True) for d in (2, 1, 0)]
    decision = decide(POLICY, facts(accuracy=(0.62, 0.75, True), drift_history=history))
    assert decision.reason == "accuracy"
    assert len(decision.reasons) == 2


def test_an_estimated_auc_below_its_limit_fires_before_labels_mature() -> None:
    decision = decide(POLICY, facts(accuracy=(0.66, 0.75, True), estimated=True))
    assert decision.fire and decision.reason == "accuracy"
    assert decision.reasons[0].startswith("estimated auc 0.6600 (from scores; too few labels")
    assert decision.numbers["estimated"] is True


def test_old_model_fires_as_schedule() -> None:
    decision = decide(POLICY, facts(champion_trained_on=TODAY - timedelta(days=61)))
    assert decision.fire and decision.reason == "schedule"


def test_cooldown_holds_a_trigger_and_says_so() -> None:
    decision = decide(
        POLICY,
        facts(accuracy=(0.6, 0.75, True), last_fired=TODAY - timedelta(days=3)),
    )
    assert not decision.fire
    assert decision.reasons[0].startswith("cooldown")
    assert "live auc 0.6000" in decision.reasons[1]


def test_a_young_champion_is_in_cooldown_too() -> None:
    decision = decide(
        POLICY, facts(accuracy=(0.6, 0.75, True), champion_trained_on=TODAY - timedelta(days=2))
    )
    assert not decision.fire


def test_disabled_policy_never_fires() -> None:
    decision = decide(RetrainingPolicy(enabled=False), facts(accuracy=(0.5, 0.75, True)))
    assert not decision.fire


def test_a_drift_trigger_waits_for_labels_of_the_drifted_days() -> None:
    history = [(TODAY - timedelta(days=1), True), (TODAY, True)]
    labelled = [TODAY - timedelta(days=d) for d in (4, 3, 2, 1)]
    decision = decide(POLICY, facts(drift_history=history, labelled_dates=labelled))
    assert not decision.fire
    assert decision.reasons[0].startswith(
        f"waiting for labels: the data drifted from {(TODAY - timedelta(days=1)).isoformat()} "
        "and labels of 1 day(s) since have arrived"
    )
    assert "important features drifted in 2 of the last 2 runs" in decision.reasons[1]
    labelled.append(TODAY)
    assert decide(POLICY, facts(drift_history=history, labelled_dates=labelled)).fire


def test_an_age_trigger_does_not_wait_for_drifted_labels() -> None:
    history = [(TODAY, True)]
    decision = decide(
        POLICY,
        facts(drift_history=history, champion_trained_on=TODAY - timedelta(days=61)),
    )
    assert decision.fire and decision.reason == "schedule"


def test_waiting_for_drifted_labels_can_be_turned_off() -> None:
    history = [(TODAY - timedelta(days=1), True), (TODAY, True)]
    policy = POLICY.model_copy(update={"labelled_days_after_drift": 0})
    assert decide(policy, facts(drift_history=history, labelled_dates=[])).fire
