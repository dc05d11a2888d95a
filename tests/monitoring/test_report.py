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
