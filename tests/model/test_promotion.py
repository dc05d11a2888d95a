from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from driftline.core.pipeline import PromotionPolicy
from driftline.core.tasks import Task
from driftline.model.promotion import Evaluation, decide, evaluate

POLICY = PromotionPolicy(metric="auc", margin=0.01, slices=["region"], slice_tolerance=0.02)


def test_better_challenger_is_promoted() -> None:
    decision = decide(
        Evaluation(0.70, {"region=north": 0.70, "region=south": 0.70}),
        Evaluation(0.75, {"region=north": 0.74, "region=south": 0.76}),
        POLICY,
        "auc",
    )
    assert decision.promote
    assert decision.improvement == pytest.approx(0.05)


def test_worse_or_barely_better_challenger_is_rejected() -> None:
    assert not decide(Evaluation(0.70), Evaluation(0.69), POLICY, "auc").promote
    barely = decide(Evaluation(0.70), Evaluation(0.705), POLICY, "auc")
    assert not barely.promote
    assert "below the margin" in barely.reasons[0]


def test_slice_regression_blocks_an_overall_win() -> None:
    decision = decide(
        Evaluation(0.70, {"region=north": 0.80, "region=south": 0.60}),
        Evaluation(0.76, {"region=north": 0.75, "region=south": 0.77}),
        POLICY,
        "auc",
    )
    assert not decision.promote
    assert decision.reasons == ["slice region=north gets worse by 0.0500 (tolerance 0.02)"]


def test_logloss_runs_the_other_way() -> None:
    policy = PromotionPolicy(metric="logloss", margin=0.01)
    assert decide(Evaluation(0.60), Evaluation(0.50), policy, "logloss").promote
    assert not decide(Evaluation(0.50), Evaluation(0.60), policy, "logloss").promote


def test_evaluate_skips_small_and_single_class_slices() -> None:
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 50)
    scores = np.clip(labels * 0.6 + rng.random(100) * 0.4, 0, 1)
    regions = ["north"] * 60 + ["south"] * 35 + ["east"] * 5
    evaluation = evaluate(
        scores,
        labels,
        pa.table({"region": regions}),
        PromotionPolicy(slices=["region"], min_slice_rows=30),
        Task("binary", "binary:logistic"),
        "auc",
    )
    assert set(evaluation.slices) == {"region=north", "region=south"}
    assert evaluation.rows == 100


def test_a_regression_challenger_must_lower_the_error() -> None:
    policy = PromotionPolicy(margin=0.1)
    assert decide(Evaluation(2.5), Evaluation(2.2), policy, "rmse").promote
    assert not decide(Evaluation(2.5), Evaluation(2.45), policy, "rmse").promote
    assert decide(Evaluation(0.60), Evaluation(0.75), policy, "r2").promote


def test_regression_slices_are_judged_on_their_error() -> None:
    rng = np.random.default_rng(1)
    labels = rng.normal(50, 10, 200)
    predicted = labels + np.where(np.arange(200) < 100, 1.0, 5.0) * rng.normal(0, 1, 200)
    evaluation = evaluate(
        predicted,
        labels,
        pa.table({"region": ["north"] * 100 + ["south"] * 100}),
        PromotionPolicy(slices=["region"]),
        Task("regression", "reg:squarederror"),
        "rmse",
    )
    assert evaluation.slices["region=north"] < evaluation.slices["region=south"]


BINARY = Task("binary", "binary:logistic")


def _holdout(rows: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, a champion's scores, and a challenger's that add a little more signal."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    labels = (rng.random(rows) < 1 / (1 + np.exp(-1.2 * signal))).astype(float)
    noise = rng.normal(size=rows)
    champion = signal + 1.2 * noise
    challenger = signal + 1.0 * noise + 0.3 * rng.normal(size=rows)
    return labels, champion, challenger


def test_a_small_holdout_win_whose_interval_does_not_clear_the_margin_is_rejected() -> None:
    from driftline.model.promotion import paired_interval

    policy = PromotionPolicy(metric="auc", margin=0.01)
    labels, champion_scores, challenger_scores = _holdout(300, seed=0)
    champion = evaluate(champion_scores, labels, pa.table({"x": labels}), policy, BINARY, "auc")
    challenger = evaluate(challenger_scores, labels, pa.table({"x": labels}), policy, BINARY, "auc")
    assert challenger.overall - champion.overall >= policy.margin  # the point estimate wins
    interval = paired_interval(
        BINARY, "auc", labels, champion_scores, challenger_scores, policy, seed=1
    )
    assert interval is not None and interval.low < policy.margin < interval.high
    decision = decide(champion, challenger, policy, "auc", interval)
    assert not decision.promote
    assert "reaches the margin 0.01 but its 90% interval" in decision.reasons[0]
    assert "on 300 holdout rows" in decision.reasons[0]
    # Without the interval the same numbers would have promoted.
    assert decide(champion, challenger, policy, "auc").promote


def test_the_same_gain_on_a_large_holdout_is_promoted_with_its_interval() -> None:
    from driftline.model.promotion import paired_interval

    policy = PromotionPolicy(metric="auc", margin=0.01, bootstrap_rounds=200)
    labels, champion_scores, challenger_scores = _holdout(8_000)
    table = pa.table({"x": labels})
    champion = evaluate(champion_scores, labels, table, policy, BINARY, "auc")
    challenger = evaluate(challenger_scores, labels, table, policy, BINARY, "auc")
    interval = paired_interval(
        BINARY, "auc", labels, champion_scores, challenger_scores, policy, seed=1
    )
    assert interval is not None and interval.low >= policy.margin
    assert interval.low <= challenger.overall - champion.overall <= interval.high
    decision = decide(champion, challenger, policy, "auc", interval)
    assert decision.promote and "90% interval +0.0" in decision.reasons[0]
    # Seeded: the gate judges the same way on a re-run.
    again = paired_interval(BINARY, "auc", labels, champion_scores, challenger_scores, policy, 1)
    assert again == interval


def test_the_paired_interval_is_narrower_than_two_separate_ones() -> None:
    """Pairing is the point: the same rows judged for both models cancel their shared
    difficulty, so the gain's interval is narrower than the naive one from each model's
    own bootstrap."""
    from driftline.model.judging import metric_value
    from driftline.model.promotion import paired_interval

    policy = PromotionPolicy(metric="auc", confidence=0.9, bootstrap_rounds=200)
    labels, champion_scores, challenger_scores = _holdout(2000)
    paired = paired_interval(BINARY, "auc", labels, champion_scores, challenger_scores, policy, 3)
    rng = np.random.default_rng(3)
    unpaired = []
    for _ in range(200):
        a, b = rng.integers(0, 2000, 2000), rng.integers(0, 2000, 2000)
        after = metric_value(BINARY, "auc", labels[a], challenger_scores[a])
        before = metric_value(BINARY, "auc", labels[b], champion_scores[b])
        assert after is not None and before is not None
        unpaired.append(after - before)
    low, high = np.quantile(unpaired, [0.05, 0.95])
    assert paired is not None and (paired.high - paired.low) < 0.6 * (high - low)


def test_an_interval_works_for_regression_and_can_be_turned_off() -> None:
    from driftline.model.promotion import paired_interval

    rng = np.random.default_rng(4)
    y = rng.normal(size=1000)
    regression = Task("regression", "reg:squarederror")
    policy = PromotionPolicy(metric="rmse", margin=0.0)
    # The challenger's error is smaller: its RMSE gain (champion minus challenger) > 0.
    interval = paired_interval(
        regression,
        "rmse",
        y,
        y + rng.normal(scale=1.0, size=1000),
        y + rng.normal(scale=0.8, size=1000),
        policy,
        0,
    )
    assert interval is not None and interval.low > 0
    off = PromotionPolicy(metric="rmse", confidence=0)
    assert paired_interval(regression, "rmse", y, y, y, off, 0) is None


def test_a_holdout_too_small_for_an_interval_rejects_instead_of_trusting_the_point() -> None:
    from driftline.model.promotion import paired_interval

    policy = PromotionPolicy(metric="auc", margin=0.01)
    labels = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])  # two positives
    champion_scores = np.linspace(0.1, 0.8, 8)
    challenger_scores = labels * 0.5 + 0.2
    assert (
        paired_interval(BINARY, "auc", labels, champion_scores, challenger_scores, policy, 0)
        is None
    )
    table = pa.table({"x": labels})
    champion = evaluate(champion_scores, labels, table, policy, BINARY, "auc")
    challenger = evaluate(challenger_scores, labels, table, policy, BINARY, "auc")
    decision = decide(champion, challenger, policy, "auc", None, interval_required=True)
    assert not decision.promote
    assert "8 holdout rows cannot give a 90% interval" in decision.reasons[0]
    # Stratified: each resample keeps both classes, so a rare class still gives one.
    rng = np.random.default_rng(0)
    rare = (rng.random(400) < 0.03).astype(float)
    rare[:6] = 1.0
    interval = paired_interval(
        BINARY, "auc", rare, rng.random(400), rare * 0.3 + rng.random(400), policy, 0
    )
    assert interval is not None and interval.rounds == policy.bootstrap_rounds


def test_the_interval_is_the_one_judging_each_resample_separately_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Judging resamples in blocks draws the same rows and finds the same gains as one
    resample at a time, block boundaries included."""
    from driftline.model import promotion
    from driftline.model.judging import metric_value
    from driftline.model.promotion import paired_interval

    policy = PromotionPolicy(metric="auc", margin=0.01, bootstrap_rounds=120)
    labels, champion_scores, challenger_scores = _holdout(400, seed=4)
    rng = np.random.default_rng(9)
    strata = [np.flatnonzero(labels == value) for value in (0.0, 1.0)]
    gains = []
    for _ in range(policy.bootstrap_rounds):
        pick = np.concatenate([rng.choice(s, len(s)) for s in strata])
        before = metric_value(BINARY, "auc", labels[pick], champion_scores[pick])
        after = metric_value(BINARY, "auc", labels[pick], challenger_scores[pick])
        assert before is not None and after is not None
        gains.append(after - before)
    low, high = np.quantile(gains, [0.05, 0.95])
    for block_values in (promotion.BOOTSTRAP_BLOCK_VALUES, 400 * 7):  # one block; 18 blocks
        monkeypatch.setattr(promotion, "BOOTSTRAP_BLOCK_VALUES", block_values)
        interval = paired_interval(
            BINARY, "auc", labels, champion_scores, challenger_scores, policy, seed=9
        )
        assert interval is not None and interval.rounds == policy.bootstrap_rounds
        assert abs(interval.low - low) < 1e-12 and abs(interval.high - high) < 1e-12
