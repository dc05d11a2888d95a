"""The retraining policy's rules, one at a time."""

from __future__ import annotations

from datetime import date, timedelta

from driftline.core.pipeline import RetrainingPolicy
from driftline.monitoring.policy import PolicyFacts, decide, drift_onset

TODAY = date(2024, 6, 30)


def facts(**overrides: object) -> PolicyFacts:
    values: dict[str, object] = {
        "run_date": TODAY,
        "drift_history": [(TODAY - timedelta(days=i), False) for i in (2, 1, 0)],
        "accuracy": (0.80, 0.75, False),
        "champion_trained_on": TODAY - timedelta(days=20),
        "last_fired": None,
        "labelled_dates": [TODAY - timedelta(days=i) for i in (3, 2, 1)],
        "held_back_days": 1,
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


def test_an_estimated_rmse_above_its_limit_fires_before_labels_mature() -> None:
    decision = decide(POLICY, facts(accuracy=(0.31, 0.25, True), estimated=True, metric="rmse"))
    assert decision.fire and decision.reason == "accuracy"
    assert decision.reasons[0].startswith("estimated rmse 0.3100 (from scores")
    assert "worse than the limit 0.2500" in decision.reasons[0]


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


def days(*ago: int) -> list[date]:
    return [TODAY - timedelta(days=d) for d in ago]


def test_a_drift_trigger_waits_until_the_held_back_days_have_drifted_labels() -> None:
    history = [(d, True) for d in days(1, 0)]
    waiting = decide(
        POLICY, facts(drift_history=history, labelled_dates=days(4, 3, 2, 1), held_back_days=2)
    )
    assert not waiting.fire
    assert waiting.reasons[0].startswith(
        f"waiting for labels: the data drifted from {(TODAY - timedelta(days=1)).isoformat()} "
        "and labels of 1 day(s) since have arrived; retraining once 2 have"
    )
    assert "important features drifted in 2 of the last 2 runs" in waiting.reasons[1]
    assert waiting.numbers["drift_onset"] == (TODAY - timedelta(days=1)).isoformat()
    ready = facts(drift_history=history, labelled_dates=days(4, 3, 2, 1, 0), held_back_days=2)
    assert decide(POLICY, ready).fire
    more = POLICY.model_copy(update={"drifted_training_days": 1})
    assert not decide(more, ready).fire


def test_an_accuracy_trigger_waits_after_drift_but_not_without_it() -> None:
    broken = (0.6, 0.75, True)
    drifted = [(d, d == TODAY) for d in days(2, 1, 0)]
    assert not decide(POLICY, facts(accuracy=broken, drift_history=drifted)).fire
    assert decide(POLICY, facts(accuracy=broken)).reason == "accuracy"


def test_the_onset_is_where_the_drift_began_not_where_the_window_starts() -> None:
    # Drifted for ten runs: the window of three slides, the onset stays.
    history = [(d, d >= TODAY - timedelta(days=9)) for d in days(*range(20, -1, -1))]
    assert drift_onset(history, 3) == TODAY - timedelta(days=9)
    # Two quiet runs do not end a drift for a window of three; three do.
    gaps = [(d, d not in days(5, 4)) for d in days(8, 7, 6, 5, 4, 3, 2, 1, 0)]
    assert drift_onset(gaps, 3) == TODAY - timedelta(days=8)
    gaps = [(d, d not in days(6, 5, 4)) for d in days(8, 7, 6, 5, 4, 3, 2, 1, 0)]
    assert drift_onset(gaps, 3) == TODAY - timedelta(days=3)
    labelled = days(*range(12, 0, -1))
    decision = decide(
        POLICY, facts(drift_history=history, labelled_dates=labelled, held_back_days=3)
    )
    assert decision.fire and decision.reason == "drift"


def test_an_age_trigger_fires_even_while_waiting_for_drifted_labels() -> None:
    history = [(d, True) for d in days(2, 1, 0)]
    decision = decide(
        POLICY,
        facts(
            drift_history=history,
            labelled_dates=[],
            held_back_days=2,
            champion_trained_on=TODAY - timedelta(days=61),
        ),
    )
    assert decision.fire and decision.reason == "schedule"
    assert decision.reasons[-1].startswith("waiting for labels")


def test_no_labels_at_all_waits() -> None:
    history = [(d, True) for d in days(2, 1, 0)]
    assert not decide(POLICY, facts(drift_history=history, labelled_dates=[])).fire


def test_waiting_for_drifted_labels_can_be_turned_off() -> None:
    history = [(d, True) for d in days(1, 0)]
    policy = POLICY.model_copy(update={"wait_for_labels_after_drift": False})
    assert decide(policy, facts(drift_history=history, labelled_dates=[])).fire
