"""Synthetic nightly extracts for the example churn pipeline, with a drift partway.

Each day has a customer snapshot file (a few malformed lines included, as legacy exports
have) and a labels file with the churn outcomes of the previous day's customers. From
`drift_day` on, spend rises, support calls grow and the region mix shifts: the model's
training distribution no longer holds.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

REGIONS = ["north", "south", "east", "west"]
PLANS = ["basic", "plus", "premium"]


@dataclass(frozen=True)
class DemoData:
    start: date
    days: int
    drift_day: int
    rows_per_day: int

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


def _day_frame(rng: np.random.Generator, n: int, drifted: bool) -> dict[str, np.ndarray]:
    tenure = rng.integers(1, 72, n)
    spend = rng.gamma(4.0, 15.0, n) * (1.8 if drifted else 1.0)
    calls = rng.poisson(3.5 if drifted else 1.2, n)
    age = rng.integers(18, 80, n)
    region = rng.choice(REGIONS, n, p=[0.1, 0.2, 0.3, 0.4] if drifted else [0.4, 0.3, 0.2, 0.1])
    plan = rng.choice(PLANS, n, p=[0.5, 0.3, 0.2])
    logit = -1.5 + 0.45 * calls - 0.03 * tenure + 0.008 * spend + (plan == "basic") * 0.6
    churned = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return {
        "tenure_months": tenure,
        "monthly_spend": spend.round(2),
        "support_calls": calls,
        "age": age,
        "region": region,
        "plan": plan,
        "churned": churned,
    }


def write_demo_drop(drop_root: Path, spec: DemoData, seed: int = 7) -> None:
    """Write `customers/<date>/…csv` and `churn_labels/<date>/…csv` under `drop_root`."""
    rng = np.random.default_rng(seed)
    previous: tuple[date, list[str], np.ndarray] | None = None
    for i, day in enumerate(spec.dates):
        frame = _day_frame(rng, spec.rows_per_day, drifted=i >= spec.drift_day)
        ids = [f"C{n:05d}" for n in rng.choice(50_000, spec.rows_per_day, replace=False)]
        folder = drop_root / "customers" / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"crm_extract_{day:%Y%m%d}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "customer_id",
                    "snapshot_date",
                    "tenure_months",
                    "monthly_spend",
                    "support_calls",
                    "age",
                    "region",
                    "plan",
                ]
            )
            truncated_at = {spec.rows_per_day // 3, (2 * spec.rows_per_day) // 3}
            for j, customer in enumerate(ids):
                writer.writerow(
                    [
                        customer,
                        day.isoformat(),
                        frame["tenure_months"][j],
                        frame["monthly_spend"][j],
                        frame["support_calls"][j],
                        frame["age"][j],
                        frame["region"][j],
                        frame["plan"][j],
                    ]
                )
                if j in truncated_at:
                    # Legacy exports truncate a line now and then.
                    handle.write(f"{customer},{day.isoformat()},{frame['tenure_months'][j]}\n")
        labels = drop_root / "churn_labels" / day.isoformat()
        labels.mkdir(parents=True, exist_ok=True)
        with (labels / f"churn_outcomes_{day:%Y%m%d}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["customer_id", "label_date", "churned"])
            if previous is not None:
                label_day, label_ids, churned = previous
                for customer, value in zip(label_ids, churned, strict=True):
                    writer.writerow([customer, label_day.isoformat(), int(value)])
        previous = (day, ids, frame["churned"])
