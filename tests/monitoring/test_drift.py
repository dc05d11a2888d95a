"""Drift numbers against scipy on the same raw data (exact, or within the stated bound)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from driftline.core.pipeline import DriftConfig
from driftline.data.profile import categorical_profile, day_effect, effect_size, numeric_profile
from driftline.monitoring.drift import (
    calibrate,
    choose_method,
    compare,
    importance_weighted_share,
)
from driftline.monitoring.drift_scan import sketch_table


def _numeric(reference: np.ndarray, current: np.ndarray, config: DriftConfig | None = None):
    profile = numeric_profile(reference)
    sketch = sketch_table(pa.table({"x": current}), {"x": profile})["x"]
    return profile, compare("x", profile, sketch, config or DriftConfig())


@pytest.mark.parametrize("shift", [0.0, 0.3, 2.0])
def test_small_reference_ks_is_exact(shift: float) -> None:
    rng = np.random.default_rng(1)
    reference = np.round(rng.normal(size=800), 2)  # ties on purpose
    current = np.round(rng.normal(loc=shift, size=3000), 2)
    _, drift = _numeric(reference, current)
    expected = stats.ks_2samp(reference, current, method="asymp")
    assert drift.method == "ks"
    assert drift.ks_exact
    assert drift.ks_statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert drift.ks_p_value == pytest.approx(expected.pvalue, abs=1e-9)
    assert drift.drifted == (expected.pvalue < 0.05)


@pytest.mark.parametrize("shift,scale", [(0.0, 1.0), (0.5, 1.0), (1.0, 3.0), (-4.0, 0.5)])
def test_wasserstein_within_its_stated_bound(shift: float, scale: float) -> None:
    rng = np.random.default_rng(2)
    reference = rng.gamma(2.0, size=20_000)
    current = rng.gamma(2.0, size=50_000) * scale + shift
    _, drift = _numeric(reference, current)
    expected = stats.wasserstein_distance(reference, current) / reference.std()
    assert drift.method == "wasserstein"
    assert drift.wasserstein is not None and drift.wasserstein_error_bound is not None
    # Never above scipy, never below it by more than the reported bound ...
    assert drift.wasserstein - 1e-9 <= expected
    assert expected <= drift.wasserstein + drift.wasserstein_error_bound + 1e-9
    # ... and in practice far closer: the CDFs cross inside few of the 512 bins.
    assert expected - drift.wasserstein < 1e-3


def test_wasserstein_is_exact_when_the_cdfs_do_not_cross() -> None:
    rng = np.random.default_rng(3)
    reference = rng.uniform(0, 1, size=5000)
    current = rng.uniform(0, 1, size=5000) + 2.0  # entirely above the reference
    _, drift = _numeric(reference, current)
    expected = stats.wasserstein_distance(reference, current) / reference.std()
    assert drift.wasserstein == pytest.approx(expected, abs=1e-6)
    assert drift.out_of_range_share == 1.0


def test_psi_and_jensenshannon_match_direct_formulas() -> None:
    rng = np.random.default_rng(4)
    reference = rng.normal(size=10_000)
    current = np.concatenate([rng.normal(0.4, size=9_000), [np.nan] * 1_000])
    profile, drift = _numeric(reference, current)
    edges = np.asarray(profile["edges"])
    ref_counts = np.bincount(np.searchsorted(edges, reference), minlength=edges.size + 1)
    finite = current[np.isfinite(current)]
    cur_counts = np.bincount(np.searchsorted(edges, finite), minlength=edges.size + 1)
    e = np.maximum(np.append(ref_counts / reference.size, 0.0), 1e-4)
    a = np.maximum(np.append(cur_counts / current.size, 1_000 / current.size), 1e-4)
    assert drift.psi == pytest.approx(float(np.sum((a - e) * np.log(a / e))), abs=1e-9)
    assert drift.jensenshannon == pytest.approx(jensenshannon(ref_counts, cur_counts), abs=1e-9)
    assert drift.null_share == pytest.approx(0.1)


def test_categorical_uses_chisquare_when_small_and_jensenshannon_when_large() -> None:
    rng = np.random.default_rng(5)
    small = list(rng.choice(["a", "b", "c"], size=500, p=[0.5, 0.3, 0.2]))
    current = list(rng.choice(["a", "b", "c", "d"], size=4000, p=[0.3, 0.3, 0.2, 0.2]))
    profile = categorical_profile(small)
    sketch = sketch_table(pa.table({"c": current}), {"c": profile})["c"]
    drift = compare("c", profile, sketch, DriftConfig())
    keys = ["a", "b", "c", "d"]
    table = [[small.count(k) for k in keys], [current.count(k) for k in keys]]
    assert drift.method == "chisquare"
    assert drift.p_value == pytest.approx(
        stats.chi2_contingency(table, correction=False).pvalue, rel=1e-9
    )
    assert drift.drifted
    assert drift.out_of_range_share == pytest.approx(current.count("d") / 4000)
    assert drift.jensenshannon == pytest.approx(jensenshannon(table[0], table[1]), abs=1e-12)
    large = compare("c", profile, sketch, DriftConfig(small_reference_rows=100))
    assert large.method == "jensenshannon"


def test_low_cardinality_numeric_is_tested_like_a_category() -> None:
    rng = np.random.default_rng(6)
    reference = rng.integers(0, 3, size=600).astype(float)
    current = rng.integers(0, 4, size=600).astype(float)
    _, drift = _numeric(reference, current)
    assert drift.method == "chisquare"
    values = [0.0, 1.0, 2.0, 3.0]
    table = [
        [int((reference == v).sum()) for v in values],
        [int((current == v).sum()) for v in values],
    ]
    assert drift.p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)


def test_constant_reference_still_measures_a_move() -> None:
    _, drift = _numeric(np.full(2000, 0.5), np.linspace(0, 1, 2000))
    assert drift.wasserstein is not None and drift.wasserstein > 1.0
    assert drift.drifted


def test_method_choice_follows_the_configuration() -> None:
    assert choose_method(DriftConfig(), categorical=False, reference_rows=1000) == "ks"
    assert choose_method(DriftConfig(), categorical=False, reference_rows=1001) == "wasserstein"
    assert (
        choose_method(DriftConfig(method="ks"), categorical=True, reference_rows=10) == "chisquare"
    )
    assert choose_method(DriftConfig(method="psi"), categorical=True, reference_rows=10) == "psi"


def test_importance_weighting_ignores_drift_in_unimportant_features() -> None:
    rng = np.random.default_rng(7)
    _, moved = _numeric(rng.normal(size=3000), rng.normal(3, size=3000))
    _, still = _numeric(rng.normal(size=3000), rng.normal(size=3000))
    moved_named = moved.__class__(**{**moved.as_dict(), "feature": "noise"})
    still_named = still.__class__(**{**still.as_dict(), "feature": "signal"})
    share = importance_weighted_share([moved_named, still_named], {"noise": 0.1, "signal": 0.9})
    assert share == pytest.approx(0.1)


def _night(rng: np.random.Generator, shifts: dict[str, float], rows: int = 400):
    """One night of six numeric features against a 1,000-row reference (KS-judged)."""
    profiles, drifts = {}, []
    for name in ("a", "b", "c", "d", "e", "f"):
        profile = numeric_profile(rng.normal(size=1000))
        sketch = sketch_table(
            pa.table({name: rng.normal(shifts.get(name, 0.0), size=rows)}), {name: profile}
        )[name]
        profiles[name] = profile
        drifts.append(compare(name, profile, sketch, DriftConfig()))
    return profiles, drifts


def test_calibration_cuts_quiet_night_alerts_and_keeps_real_ones() -> None:
    rng = np.random.default_rng(8)
    raw_alert_nights = calibrated_alert_nights = 0
    for _ in range(200):
        profiles, drifts = _night(rng, {})
        raw_alert_nights += any(d.drifted for d in drifts)
        calibrated_alert_nights += any(
            d.drifted for d in calibrate(drifts, profiles, DriftConfig())
        )
    # Six raw tests at 5% alert on about a quarter of quiet nights; corrected, a quiet
    # night alerts with a chance of at most 5% (Benjamini-Hochberg under no change).
    assert raw_alert_nights > 40
    assert calibrated_alert_nights <= 18
    profiles, drifts = _night(rng, {"a": 0.5})
    judged = {d.feature: d for d in calibrate(drifts, profiles, DriftConfig())}
    assert judged["a"].drifted
    assert judged["a"].adjusted_p_value is not None
    assert judged["a"].adjusted_p_value >= judged["a"].p_value  # type: ignore[operator]
    assert judged["a"].effect_size is not None and judged["a"].effect_size > 0.4
    assert judged["a"].effect_floor == pytest.approx(0.1)


def test_a_significant_but_negligible_change_is_not_drift() -> None:
    rng = np.random.default_rng(9)
    reference = rng.normal(size=5000)
    profile = numeric_profile(reference)
    config = DriftConfig(small_reference_rows=10_000)  # KS on a 5,000-row reference
    sketch = sketch_table(pa.table({"x": rng.normal(0.07, size=200_000)}), {"x": profile})["x"]
    (drift,) = calibrate([compare("x", profile, sketch, config)], {"x": profile}, config)
    assert drift.significant and drift.p_value is not None and drift.p_value < 1e-3
    assert drift.effect_size is not None and drift.effect_size < 0.1
    assert not drift.drifted


def test_a_pattern_the_reference_days_cover_raises_the_floor() -> None:
    rng = np.random.default_rng(10)
    # Fourteen reference days of a weekly cycle: each day alone strays from the whole.
    days = np.repeat(np.arange(14), 300)
    values = rng.normal(0.5 * np.sin(2 * np.pi * days / 7), 1.0)
    profile = numeric_profile(values)
    spread = day_effect(profile, values, days, min_rows=100)
    assert spread is not None and spread["days"] == 14
    assert 0.3 < spread["max"] < 0.6
    profile["day_effect"] = spread
    config = DriftConfig()
    peak = sketch_table(pa.table({"x": rng.normal(0.5, 1.0, size=300)}), {"x": profile})["x"]
    (seasonal,) = calibrate([compare("x", profile, peak, config)], {"x": profile}, config)
    assert seasonal.significant and not seasonal.drifted
    moved = sketch_table(pa.table({"x": rng.normal(1.5, 1.0, size=300)}), {"x": profile})["x"]
    (shifted,) = calibrate([compare("x", profile, moved, config)], {"x": profile}, config)
    assert shifted.drifted


def test_effect_size_from_raw_values_agrees_with_the_sketch() -> None:
    rng = np.random.default_rng(11)
    reference, current = rng.gamma(2.0, size=20_000), rng.gamma(2.0, size=3_000) + 0.3
    profile = numeric_profile(reference)
    sketch = sketch_table(pa.table({"x": current}), {"x": profile})["x"]
    drift = compare("x", profile, sketch, DriftConfig())
    raw = effect_size(profile, current)
    assert raw is not None and drift.wasserstein is not None
    assert raw == pytest.approx(drift.wasserstein, abs=0.01)
    labels = ["a"] * 70 + ["b"] * 30
    categorical = categorical_profile(labels)
    assert effect_size(categorical, labels) == pytest.approx(0.0, abs=1e-9)


def test_out_of_range_is_judged_against_what_a_small_reference_leaves_to_chance() -> None:
    from driftline.monitoring.drift import out_of_range_breached

    # A 30-row reference leaves 2/31 = 6.5% of new values outside its range by chance.
    assert not out_of_range_breached(0.08, 150, 30, numeric=True, limit=0.05)
    assert out_of_range_breached(0.25, 150, 30, numeric=True, limit=0.05)
    # A large reference leaves almost nothing outside; unseen categories have no excuse.
    assert out_of_range_breached(0.08, 150, 100_000, numeric=True, limit=0.05)
    assert out_of_range_breached(0.06, 150, 30, numeric=False, limit=0.05)
    assert not out_of_range_breached(0.04, 150, 100_000, numeric=True, limit=0.05)


def test_the_alert_of_a_distance_judged_feature_states_its_evidence() -> None:
    """On a large reference a numeric feature is judged by normalised Wasserstein, which
    has no p-value; the alert quotes the column's KS test, corrected, instead."""
    from driftline.steps.monitor import _summary

    rng = np.random.default_rng(8)
    reference = numeric_profile(rng.normal(0, 1, 5_000))
    current = pa.table({"x": rng.normal(1.0, 1, 2_000)})
    config = DriftConfig()
    sketch = sketch_table(current, {"x": reference})["x"]
    (drift,) = calibrate([compare("x", reference, sketch, config)], {"x": reference}, config)
    assert drift.method == "wasserstein" and drift.drifted
    assert drift.p_value is None and drift.adjusted_p_value is not None
    summary = _summary(drift, {"x": 3.0, "y": 1.0})
    assert summary.startswith("wasserstein=") and "p=n/a (corrected" in summary
    assert summary.endswith("75% of importance")
