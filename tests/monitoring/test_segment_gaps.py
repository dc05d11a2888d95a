"""Segment gaps: tracked for every segment feature and metric, alerted only when above the
configured maximum and beyond the segments' sampling noise."""

from __future__ import annotations

import pytest
from scipy.stats import chi2_contingency

from driftline.core.pipeline import SegmentGapConfig
from driftline.monitoring.accuracy import Accuracy
from driftline.monitoring.segment_gaps import segment_gaps


def segment(
    name: str, labelled: int, positives: int, auc: float, recall: float, flagged: int = 0
) -> Accuracy:
    predictions = labelled + 50  # some labels not matured yet
    return Accuracy(name, predictions, labelled, positives, auc, 0.4, 0.5, recall, flagged)


def by_metric(gaps):  # type: ignore[no-untyped-def]
    return {(g.feature, g.metric): g for g in gaps}


def test_a_wide_and_significant_auc_gap_alerts() -> None:
    accuracy = [
        Accuracy("all", 1100, 1000, 200, 0.75, 0.4, 0.5, 0.6, 300),
        segment("region=north", 500, 100, 0.86, 0.70, flagged=150),
        segment("region=south", 500, 100, 0.64, 0.50, flagged=150),
    ]
    gaps = by_metric(segment_gaps(accuracy, SegmentGapConfig()))
    auc = gaps[("region", "auc")]
    assert (auc.best, auc.worst) == ("region=north", "region=south")
    assert auc.gap == pytest.approx(0.22)
    assert auc.breached and auc.p_value is not None and auc.p_value < 1e-6
    assert auc.support == {"region=north": 500, "region=south": 500}
    recall = gaps[("region", "recall")]
    assert recall.gap == pytest.approx(0.20) and not recall.breached  # not above 0.20
    # Equal positive-prediction rates: tracked, no gap.
    assert gaps[("region", "positive_rate")].gap == 0.0


def test_a_gap_that_noise_explains_does_not_alert() -> None:
    accuracy = [
        segment("plan=basic", 120, 20, 0.80, 0.70),
        segment("plan=premium", 120, 20, 0.65, 0.45),
    ]
    gaps = by_metric(segment_gaps(accuracy, SegmentGapConfig()))
    auc = gaps[("plan", "auc")]
    assert auc.gap == pytest.approx(0.15) and auc.gap > auc.threshold  # type: ignore[operator]
    assert auc.p_value is not None and auc.p_value > 0.01
    assert not auc.breached
    assert not gaps[("plan", "recall")].breached  # 14 of 20 against 9 of 20


def test_the_rate_tests_are_the_two_proportion_test() -> None:
    accuracy = [
        segment("plan=basic", 400, 80, 0.8, 0.75, flagged=200),
        segment("plan=premium", 400, 80, 0.8, 0.50, flagged=120),
    ]
    config = SegmentGapConfig(max_positive_rate_gap=0.1)
    gaps = by_metric(segment_gaps(accuracy, config))
    rate = gaps[("plan", "positive_rate")]
    expected = chi2_contingency([[200, 250], [120, 330]], correction=False).pvalue
    assert rate.p_value == pytest.approx(expected, rel=1e-9)
    assert rate.breached
    recall = gaps[("plan", "recall")]
    expected = chi2_contingency([[60, 20], [40, 40]], correction=False).pvalue
    assert recall.p_value == pytest.approx(expected, rel=1e-9)
    # Without a configured maximum the positive-rate gap is tracked, never alerted.
    assert not by_metric(segment_gaps(accuracy, SegmentGapConfig()))[
        ("plan", "positive_rate")
    ].breached


def test_segments_without_support_are_left_out() -> None:
    accuracy = [
        segment("region=north", 500, 100, 0.86, 0.7),
        segment("region=east", 40, 10, 0.40, 0.1),  # too few labels to compare
        segment("plan=basic", 500, 100, 0.8, 0.6),  # the only plan with support
    ]
    gaps = by_metric(segment_gaps(accuracy, SegmentGapConfig(min_support=100)))
    assert ("region", "auc") not in gaps
    assert ("plan", "auc") not in gaps
    # Predictions are counted without labels: east has 90 predictions, still below 100.
    assert ("region", "positive_rate") not in gaps


def test_the_report_shows_each_nights_gaps() -> None:
    import json
    from datetime import date

    import pandas as pd

    from driftline.monitoring.report import _gap_figure, _gap_table

    accuracy = [
        segment("region=north", 500, 100, 0.86, 0.70, flagged=150),
        segment("region=south", 500, 100, 0.64, 0.50, flagged=150),
    ]
    nights = [date(2024, 3, 1), date(2024, 3, 2)]
    rows = [
        {
            "metric": f"{g.metric}_gap",
            "feature": g.feature,
            "segment": None,
            "value": g.gap,
            "threshold": g.threshold,
            "breached": g.breached,
            "details": json.dumps(g.as_dict()),
            "_run_date": night,
        }
        for night in nights
        for g in segment_gaps(accuracy, SegmentGapConfig())
    ]
    metrics = pd.DataFrame(rows)
    table = _gap_table(metrics, nights[-1])
    assert table.count("<tr") == 4  # header and three metrics of region
    assert "<tr class='drifted'><td>region</td><td>auc</td>" in table
    assert "region=north 0.860" in table and "region=south 0.640" in table
    figure = _gap_figure(metrics)
    assert figure is not None
    (axes,) = figure.axes
    assert len(axes.get_lines()) == 3 + 2  # a line per metric, a limit per alerted metric


def _regression_segment(name: str, errors: list[float]) -> Accuracy:
    import numpy as np

    e = np.asarray(errors)
    metrics = {
        "rmse": float(np.sqrt(np.mean(e * e))),
        "mae": float(np.mean(np.abs(e))),
        "r2": None,
    }
    n = len(errors)
    return Accuracy(name, n, n, 0, None, None, None, None, metrics=metrics)


def test_a_regression_mae_gap_is_welchs_test_on_absolute_errors() -> None:
    import numpy as np
    from scipy.stats import ttest_ind

    from driftline.core.tasks import Task

    rng = np.random.default_rng(5)
    city, rural = rng.normal(0, 1.0, 800), rng.normal(0, 1.6, 600)
    accuracy = [_regression_segment("area=city", city), _regression_segment("area=rural", rural)]
    task = Task("regression", "reg:squarederror")
    # MAE is in the target's units: tracked, not alerted unless a maximum is set.
    (tracked,) = segment_gaps(accuracy, SegmentGapConfig(), task)
    assert (tracked.metric, tracked.best, tracked.worst) == ("mae", "area=city", "area=rural")
    assert tracked.gap == pytest.approx(np.mean(np.abs(rural)) - np.mean(np.abs(city)))
    assert not tracked.breached and tracked.threshold is None
    # Welch's test from RMSE and MAE alone is scipy's on the absolute errors themselves.
    welch = ttest_ind(np.abs(city), np.abs(rural), equal_var=False)
    assert tracked.p_value == pytest.approx(welch.pvalue, rel=1e-6)
    (alerted,) = segment_gaps(accuracy, SegmentGapConfig(max_mae_gap=0.2), task)
    assert alerted.breached
    # A wider gap on 15 rows each is noise.
    few = [
        _regression_segment("area=city", city[:15]),
        _regression_segment("area=rural", rural[:15]),
    ]
    (noisy,) = segment_gaps(few, SegmentGapConfig(min_support=10, max_mae_gap=0.2), task)
    assert noisy.gap > tracked.gap and not noisy.breached
    small = ttest_ind(np.abs(city[:15]), np.abs(rural[:15]), equal_var=False)
    assert noisy.p_value == pytest.approx(small.pvalue, rel=1e-6)


def test_a_multiclass_accuracy_gap_is_a_two_proportion_test() -> None:
    from driftline.core.tasks import Task

    task = Task("multiclass", "multi:softprob", ("stay", "downgrade", "leave"))

    def seg(name: str, labelled: int, accuracy: float) -> Accuracy:
        metrics = {"accuracy": accuracy, "mlogloss": 0.9, "macro_f1": 0.5}
        return Accuracy(name, labelled, labelled, 0, None, None, None, None, metrics=metrics)

    wide = [seg("plan=basic", 500, 0.55), seg("plan=premium", 500, 0.75)]
    (gap,) = segment_gaps(wide, SegmentGapConfig(), task)
    assert (gap.metric, gap.best, gap.worst) == ("accuracy", "plan=premium", "plan=basic")
    assert gap.gap == pytest.approx(0.20) and gap.breached
    table = [[375, 125], [275, 225]]
    _, p, _, _ = chi2_contingency(table, correction=False)
    assert gap.p_value == pytest.approx(p)
