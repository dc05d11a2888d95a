from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from driftline.demo.data import DemoData, write_demo_drop


def test_demo_drop_has_a_day_of_files_and_delayed_labels(tmp_path: Path) -> None:
    spec = DemoData(start=date(2024, 3, 1), days=3, drift_day=2, rows_per_day=50)
    write_demo_drop(tmp_path, spec)
    customers = list((tmp_path / "customers" / "2024-03-02").glob("*.csv"))
    assert len(customers) == 1
    lines = customers[0].read_text().splitlines()
    assert len(lines) == 1 + 50 + 2  # header, rows, two truncated legacy lines
    with next((tmp_path / "churn_labels" / "2024-03-02").glob("*.csv")).open() as handle:
        labels = list(csv.DictReader(handle))
    assert len(labels) == 50
    assert {row["label_date"] for row in labels} == {"2024-03-01"}
    first_day_labels = next((tmp_path / "churn_labels" / "2024-03-01").glob("*.csv"))
    assert first_day_labels.read_text().splitlines() == ["customer_id,label_date,churned"]


def test_demo_drift_shifts_spend(tmp_path: Path) -> None:
    spec = DemoData(start=date(2024, 3, 1), days=4, drift_day=2, rows_per_day=400)
    write_demo_drop(tmp_path, spec)

    def mean_spend(day: str) -> float:
        with next((tmp_path / "customers" / day).glob("*.csv")).open() as handle:
            values = [
                float(r["monthly_spend"]) for r in csv.DictReader(handle) if r.get("monthly_spend")
            ]
        return sum(values) / len(values)

    assert mean_spend("2024-03-03") > 1.4 * mean_spend("2024-03-01")
