from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from driftline.core.pipeline import PromotionPolicy
from driftline.model.promotion import Evaluation, decide, evaluate

POLICY = PromotionPolicy(metric="auc", margin=0.01, slices=["region"], slice_tolerance=0.02)


def test_better_challenger_is_promoted() -> None:
    decision = decide(
        Evaluation(0.70, {"region=north": 0.70, "region=south": 0.70}),
        Evaluation(0.75, {"region=north": 0.74, "region=south": 0.76}),
        POLICY,
    )
    assert decision.promote
    assert decision.improvement == pytest.approx(0.05)


def test_worse_or_barely_better_challenger_is_rejected() -> None:
    assert not decide(Evaluation(0.70), Evaluation(0.69), POLICY).promote
    barely = decide(Evaluation(0.70), Evaluation(0.705), POLICY)
    assert not barely.promote
    assert "below the margin" in barely.reasons[0]


def test_slice_regression_blocks_an_overall_win() -> None:
    decision = decide(
        Evaluation(0.70, {"region=north": 0.80, "region=south": 0.60}),
        Evaluation(0.76, {"region=north": 0.75, "region=south": 0.77}),
        POLICY,
    )
    assert not decision.promote
    assert decision.reasons == ["slice region=north gets worse by 0.0500 (tolerance 0.02)"]


def test_logloss_runs_the_other_way() -> None:
    policy = PromotionPolicy(metric="logloss", margin=0.01)
    assert decide(Evaluation(0.60), Evaluation(0.50), policy).promote
    assert not decide(Evaluation(0.50), Evaluation(0.60), policy).promote


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
    )
    assert set(evaluation.slices) == {"region=north", "region=south"}
    assert evaluation.rows == 100
