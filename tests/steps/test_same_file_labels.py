"""Features and outcome in one delivered file, a week of days per delivery: labels join the
features of their own day, rejects of both suites stay accounted for, and a label that
matches no feature row is counted, not dropped in silence."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from pyspark.sql import functions as F

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.intervals import RunInterval
from driftline.core.loading import parse_pipeline
from driftline.steps import conform, features, ingest, score, train, validate
from tests.conftest import PROJECT, make_settings

pytestmark = pytest.mark.integration

WEEK = [date(2024, 3, 1) + timedelta(days=i) for i in range(7)]
CUSTOMERS_PER_DAY = 60
HEADER = "customer_id,day,tenure_months,monthly_spend,support_calls,churned\n"


def weekly_file() -> str:
    rng = np.random.default_rng(3)
    lines = [HEADER]
    for day in WEEK:
        for i in range(CUSTOMERS_PER_DAY):
            calls = int(rng.poisson(1.5))
            churned = int(rng.random() < 0.15 + 0.15 * calls)
            lines.append(f"C{i:05d},{day},{1 + i % 70},{20 + i % 90}.5,{calls},{churned}\n")
    lines.append(f"C09998,{WEEK[2]},-5,30.5,1,0\n")  # breaks the entity's suite, label is fine
    lines.append(f"C09999,{WEEK[3]},12,30.5,1,7\n")  # breaks the labels suite only
    # The day before the week: its only row's features are rejected, so no feature row of
    # that day exists; its label is of a day not built, not a key mismatch.
    lines.append(f"C09997,{WEEK[0] - timedelta(days=1)},-5,30.5,1,0\n")
    return "".join(lines)


def pipeline(tmp_path: Path):  # type: ignore[no-untyped-def]
    data = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    data["entity"] = {
        "name": "customer",
        "key": "customer_id",
        "source": "customer_week",
        "date_column": "day",
    }
    data["sources"] = [
        {
            "name": "customer_week",
            "path": "customer_week/{run_date}/*.csv",
            "columns": {
                "customer_id": "string",
                "day": "date",
                "tenure_months": "int",
                "monthly_spend": "double",
                "support_calls": "int",
                "churned": "int",
            },
        }
    ]
    data["features"] = [
        {"name": "tenure_months"},
        {"name": "monthly_spend"},
        {"name": "support_calls"},
    ]
    data["label"] = {"source": "customer_week", "column": "churned", "date_column": "day"}
    data["model"]["promotion"]["slices"] = []
    data["monitoring"]["accuracy"]["segments"] = []
    suites = tmp_path / "expectations"
    suites.mkdir()
    rule = {"meta": {"severity": "block"}}
    (suites / "silver_customer.json").write_text(
        json.dumps(
            {
                "name": "silver_customer",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_between",
                        "kwargs": {"column": "tenure_months", "min_value": 0},
                        **rule,
                    }
                ],
            }
        )
    )
    (suites / "features.json").write_text(
        json.dumps(
            {
                "name": "features",
                "expectations": [
                    {
                        "type": "expect_table_row_count_to_be_between",
                        "kwargs": {"min_value": 1},
                        **rule,
                    }
                ],
            }
        )
    )
    (suites / "labels.json").write_text(
        json.dumps(
            {
                "name": "labels",
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_in_set",
                        "kwargs": {"column": "churned", "value_set": [0, 1]},
                        **rule,
                    }
                ],
            }
        )
    )
    return parse_pipeline(data), suites


def test_a_weekly_file_of_features_and_outcomes(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from driftline.lake import open_lake

    config, suites = pipeline(tmp_path)
    settings = make_settings(tmp_path, expectations_dir=suites)
    delivered = WEEK[-1]
    folder = settings.resolved_drop_root / "customer_week" / delivered.isoformat()
    folder.mkdir(parents=True)
    (folder / "week.csv").write_text(weekly_file())
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    ctx = RunContext(RunInterval(delivered), "weekly", settings, config, spark, lake)

    ingest.run(ctx)
    validate.run(ctx)
    conform.run(ctx)
    features.run(ctx)
    trained = train.run(ctx)
    score.run(ctx)

    rejected = {
        json.loads(r["_raw"])["customer_id"]: r["_reason"]
        for r in lake.read(tables.quarantine("customer_week"))
        .where(F.col(tables.STAGE) == "validate")
        .collect()
    }
    assert set(rejected) == {"C09997", "C09998", "C09999"}  # one write kept both suites' rejects
    assert rejected["C09998"].startswith("failed silver/customer: ")
    assert rejected["C09999"].startswith("failed labels: ")

    built = lake.read(tables.FEATURES).where(F.col(tables.RUN_DATE) == F.lit(delivered))
    days = {r[0] for r in built.select("as_of_date").distinct().collect()}
    assert days == set(WEEK)  # each row as of its own day, not the delivery date
    assert built.count() == len(WEEK) * CUSTOMERS_PER_DAY + 1  # C09999's features are fine

    labelled = len(WEEK) * CUSTOMERS_PER_DAY
    assert trained.metrics["labels_in_window"] == labelled + 2  # C09998's and C09997's too
    assert trained.metrics["labels_unmatched"] == 1  # C09998 has no feature row
    assert trained.metrics["labels_without_a_features_day"] == 1  # C09997's day has none
    assert trained.metrics["train_rows"] + trained.metrics["holdout_rows"] == labelled

    predictions = lake.read(tables.PREDICTIONS)
    assert {r[0] for r in predictions.select(tables.RUN_DATE).distinct().collect()} == {delivered}
    assert predictions.count() == built.count()
