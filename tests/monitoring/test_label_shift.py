"""Prior shift: a moved base rate is flagged, a steady one is not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from driftline.core.pipeline import LabelShiftConfig
from driftline.monitoring.label_shift import label_shift

REFERENCE = {"rows": 5000, "positives": 1500}  # 30% positive in training


def test_a_halved_base_rate_is_flagged_with_its_evidence() -> None:
    shift = label_shift(REFERENCE, 2800, 420, LabelShiftConfig())  # 15% now
    assert shift is not None and shift.shifted
    assert shift.current_rate == pytest.approx(0.15)
    assert shift.effect == pytest.approx(2 * np.arcsin(np.sqrt(0.15)) - 2 * np.arcsin(np.sqrt(0.3)))
    z = stats.contingency.chi2_contingency([[1500, 3500], [420, 2380]], correction=False)
    assert shift.p_value == pytest.approx(z.pvalue)


def test_a_steady_rate_stays_quiet_on_most_windows() -> None:
    rng = np.random.default_rng(3)
    flagged = sum(
        label_shift(REFERENCE, 2800, int(rng.binomial(2800, 0.3)), LabelShiftConfig()).shifted  # type: ignore[union-attr]
        for _ in range(500)
    )
    assert flagged <= 10  # at p < 0.01: about 5 of 500


def test_a_significant_but_small_change_is_below_the_ratio_floor() -> None:
    shift = label_shift(
        {"rows": 2_000_000, "positives": 600_000}, 2_000_000, 590_000, LabelShiftConfig()
    )
    assert shift is not None and shift.p_value is not None and shift.p_value < 1e-6
    assert shift.ratio == pytest.approx(0.59 / 0.6) and not shift.shifted


def test_a_rare_outcome_halving_is_flagged() -> None:
    # The flights year: cancellations from 2.8% to 1.5% of about half a million rows each.
    shift = label_shift({"rows": 500_000, "positives": 14_000}, 500_000, 7_500, LabelShiftConfig())
    assert shift is not None and shift.shifted and abs(shift.effect) < 0.1


def test_no_labels_no_verdict() -> None:
    assert label_shift({"rows": 0, "positives": 0}, 100, 10, LabelShiftConfig()) is None
    assert label_shift(REFERENCE, 0, 0, LabelShiftConfig()) is None
