"""Features from a second feed: per-customer aggregates of a payments source over a 30-day
window, point in time. A row as of day D counts the payments dated in (D-30, D] that were
delivered by D's run: not older ones, not future-dated ones, not ones delivered later
(re-running D after a later delivery gives the same features)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from pyspark.sql import functions as F

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.errors import ConfigError
from driftline.core.intervals import RunInterval
from driftline.core.loading import parse_pipeline
from driftline.demo.data import DemoData, write_demo_drop
from driftline.steps import conform, features, ingest, validate
from tests.conftest import PROJECT, make_settings

SPEC = DemoData(start=date(2024, 5, 1), days=3, drift_day=99, rows_per_day=60)
NEW_FEATURES = ["payments_30d", "paid_30d", "late_share_30d"]


def pipeline_with_payments(suites: Path) -> dict[str, object]:
    data = yaml.safe_load((PROJECT / "driftline.yaml").read_text())
    data["sources"].append(
        {
            "name": "payments",
            "path": "payments/{run_date}/*.csv",
            "when_missing": "ignore",
            "columns": {
                "customer_id": "string",
                "paid_on": "date",
                "amount": "double",
                "days_late": "int",
            },
        }
    )
    data["feeds"] = [
        {
            "source": "payments",
            "key": "customer_id",
            "date_column": "paid_on",
            "window_days": 30,
            "columns": {
                "payments_30d": "count(*)",
                "paid_30d": "sum(amount)",
                "late_share_30d": "avg(case when days_late > 0 then 1.0 else 0.0 end)",
            },
        }
    ]
    data["features"] += [{"name": name} for name in NEW_FEATURES]
    shutil.copytree(PROJECT / "expectations", suites)
    suite = json.loads((suites / "features.json").read_text())
    suite["expectations"][0]["kwargs"]["column_set"] += NEW_FEATURES
    (suites / "features.json").write_text(json.dumps(suite))
    return dict(data)


def customers_of(drop: Path, day: date) -> list[str]:
    (extract,) = (drop / "customers" / day.isoformat()).glob("*.csv")
    return [line.split(",")[0] for line in extract.read_text().splitlines()[1:]]


def deliver_payments(drop: Path, day: date, rows: list[str]) -> None:
    folder = drop / "payments" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / "payments.csv").write_text(
        "customer_id,paid_on,amount,days_late\n" + "\n".join(rows) + "\n"
    )


@pytest.mark.integration
def test_feed_aggregates_are_point_in_time(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from driftline.lake import open_lake

    suites = tmp_path / "expectations"
    config = parse_pipeline(pipeline_with_payments(suites))
    settings = make_settings(tmp_path, expectations_dir=suites)
    drop = settings.resolved_drop_root
    write_demo_drop(drop, SPEC, seed=5)
    first, second, third = SPEC.dates
    a, b, c = customers_of(drop, third)[:3]
    (earlier,) = [x for x in customers_of(drop, second) if x not in (a, b, c)][:1]
    deliver_payments(drop, first, [f"{a},2024-05-01,10,0", f"{a},2024-04-01,99,0"])
    deliver_payments(
        drop, second, [f"{a},2024-05-02,20,0", f"{b},2024-05-02,5,3", f"{earlier},2024-05-02,7,0"]
    )
    # Delivered on the third day: one for that day, one future-dated, and one late payment
    # dated the second day, which the second day's features must never count.
    deliver_payments(
        drop, third, [f"{a},2024-05-03,30,0", f"{a},2024-05-04,1000,0", f"{earlier},2024-05-02,8,0"]
    )
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")

    def night(day: date) -> dict[str, dict[str, object]]:
        ctx = RunContext(RunInterval(day), f"feeds-{day}", settings, config, spark, lake)
        for source in config.sources:
            ingest.run(ctx, source=source.name)
        validate.run(ctx)
        conform.run(ctx)
        features.run(ctx)
        built = lake.read(tables.FEATURES).where(F.col(tables.RUN_DATE) == F.lit(day))
        return {r["customer_id"]: r.asDict() for r in built.collect()}

    night(first)
    before = night(second)
    on_third = night(third)
    assert (on_third[a]["payments_30d"], on_third[a]["paid_30d"]) == (3, 60)  # not 04-01, not 05-04
    assert (on_third[b]["payments_30d"], on_third[b]["paid_30d"]) == (1, 5)
    assert on_third[b]["late_share_30d"] == 1.0
    # No payment in the window: count says 0, sum and average have nothing to say.
    assert (on_third[c]["payments_30d"], on_third[c]["paid_30d"]) == (0, None)
    assert on_third[c]["late_share_30d"] is None
    assert before[earlier]["payments_30d"] == 1 and before[earlier]["paid_30d"] == 7

    again = night(second)  # after the third day delivered a late payment dated the second
    assert again[earlier] == before[earlier]
    assert again == before


def test_a_feed_is_checked_when_the_pipeline_loads(tmp_path: Path) -> None:
    data = pipeline_with_payments(tmp_path / "suites")
    data["feeds"][0]["date_column"] = "amount"  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"feeds.0.date_column 'amount' must be a date"):
        parse_pipeline(data)
    data = pipeline_with_payments(tmp_path / "suites2")
    data["feeds"][0]["columns"]["tenure_months"] = "max(amount)"  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"feeds.0.columns.tenure_months is already a column"):
        parse_pipeline(data)


@pytest.mark.integration
def test_an_invalid_aggregate_names_the_feed(spark) -> None:  # type: ignore[no-untyped-def]
    from driftline.core.pipeline import FeedConfig
    from driftline.data.features import AS_OF, with_feed_columns

    rows = spark.createDataFrame([("C1", date(2024, 5, 3))], f"customer_id string, {AS_OF} date")
    events = spark.createDataFrame(
        [("C1", date(2024, 5, 2), 3.0)], "customer_id string, paid_on date, amount double"
    )
    feed = FeedConfig(
        source="payments",
        key="customer_id",
        date_column="paid_on",
        window_days=7,
        columns={"paid": "sum(amount_due)"},
    )
    with pytest.raises(ConfigError, match=r"feeds.2.columns of source 'payments'.*amount_due"):
        with_feed_columns(rows, events, feed, "customer_id", where="feeds.2")


def test_a_feed_key_of_another_type_or_a_reserved_name_is_refused(tmp_path: Path) -> None:
    data = pipeline_with_payments(tmp_path / "suites")
    data["sources"][-1]["columns"]["customer_id"] = "int"  # type: ignore[index]
    with pytest.raises(
        ConfigError, match=r"feeds.0.key 'customer_id' is int .* entity key is string"
    ):
        parse_pipeline(data)
    data = pipeline_with_payments(tmp_path / "suites2")
    data["feeds"][0]["columns"]["_run_date"] = "max(paid_on)"  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"feeds.0.columns._run_date: names starting with _"):
        parse_pipeline(data)
