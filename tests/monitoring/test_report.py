"""The report's tables say what each number is judged against."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from driftline.core import tables
from driftline.monitoring.report import _drift_table

DAY = date(2024, 5, 2)


def _row(feature: str, value: float, threshold: float, breached: bool, **details: object) -> dict:  # type: ignore[type-arg]
    return {
        tables.RUN_DATE: DAY,
        "metric": "drift",
        "feature": feature,
        "value": value,
        "threshold": threshold,
        "breached": breached,
        "details": json.dumps({"threshold": threshold, "psi": 0.31, **details}),
    }


def test_a_tested_feature_shows_its_corrected_p_value_against_the_p_value_threshold() -> None:
    metrics = pd.DataFrame(
        [
            _row(
                "monthly_spend",
                0.2133,
                0.05,
                True,
                method="ks",
                adjusted_p_value=0.00012,
                effect_size=0.21,
                effect_floor=0.1,
            ),
            _row("region", 0.083, 0.1, False, method="jensenshannon", adjusted_p_value=None),
        ]
    )
    html = _drift_table(metrics, DAY)
    spend, region = html.split("<tr")[2:]
    # The KS statistic is shown as the statistic; the verdict compares the p-value.
    assert "<td>ks</td><td>0.2133</td><td>p 0.00012 (corrected) &lt; 0.05</td>" in spend
    assert "0.210 &ge; 0.100" in spend and "drifted" in spend
    assert "<td>jensenshannon 0.0830 &ge; 0.1</td>" in region and "ok" in region


def test_time_axes_show_run_dates_and_versions_are_whole_numbers() -> None:
    import re
    from datetime import timedelta

    from driftline.monitoring.report import _champion_figure, _drift_figure

    days = [DAY + timedelta(days=i) for i in range(3)]
    metrics = pd.DataFrame(
        [
            {
                tables.RUN_DATE: day,
                "metric": metric,
                "feature": "age",
                "value": 0.05 * (i + 1),
                "threshold": 0.05,
                "breached": metric == "drift" and i == 2,
                "details": None,
            }
            for i, day in enumerate(days)
            for metric in ("psi", "drift")
        ]
    )
    decisions = pd.DataFrame(
        [
            {
                tables.RUN_DATE: days[0],
                "kind": "bootstrap",
                "champion_after": "1",
                "decided_at": 1,
                "metric": None,
            },
            {
                tables.RUN_DATE: days[2],
                "kind": "promote",
                "champion_after": "2",
                "decided_at": 2,
                "metric": None,
            },
        ]
    )
    for figure in (_drift_figure(metrics), _champion_figure(decisions)):
        assert figure is not None
        figure.canvas.draw()
        labels = [t.get_text() for a in figure.axes for t in a.get_xticklabels() if t.get_text()]
        # One tick per night (a shared x axis labels its lowest plot only).
        assert labels == [d.isoformat() for d in days], labels
    versions = _champion_figure(decisions).axes[0]  # type: ignore[union-attr]
    versions.figure.canvas.draw()
    ticks = [t.get_text() for t in versions.get_yticklabels() if t.get_text()]
    assert ticks and all(re.fullmatch(r"\d+", t.replace("\u2212", "-")) for t in ticks), ticks
