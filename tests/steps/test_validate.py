"""The quality gate on real Great Expectations with Spark DataFrames."""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F

from driftline.core import tables
from driftline.core.errors import ValidationFailedError
from driftline.steps import conform, features, ingest, validate
from tests.steps.conftest import HEADER, row

pytestmark = pytest.mark.integration

LABELS = "customer_id,label_date,churned\n"


def results(ctx, table: str) -> dict:  # type: ignore[no-untyped-def]
    rows = ctx.lake.read(tables.VALIDATION_RESULTS).where(F.col("table_name") == table).collect()
    return {(r["expectation"], r["column_name"]): r for r in rows}


def test_bad_rows_go_to_quarantine_and_the_rest_to_silver(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    body = (
        HEADER
        + row(1)
        + row(2, plan="gold")  # not in the plan set
        + "C00003,2024-03-01,-5,10.0,1,40,north,basic\n"  # tenure below 0
        + "C00004,2024-03-01,12,lots,1,40,north,basic\n"  # spend is not a number
        + "X5,2024-03-01,12,10.0,1,40,north,basic\n"  # id breaks the regex
        + row(6)
    )
    drop("customers", "2024-03-01", "a.csv", body)
    drop("churn_labels", "2024-03-01", "l.csv", LABELS)
    ctx = make_ctx("2024-03-01")
    ingest.run(ctx)
    result = validate.run(ctx)
    conform.run(ctx)

    silver = {r["customer_id"] for r in ctx.lake.read(tables.silver("customer")).collect()}
    assert silver == {"C00001", "C00006"}
    rejected = {
        json.loads(r["_raw"])["customer_id"]: r["_reason"]
        for r in ctx.lake.read(tables.quarantine("customers"))
        .where(F.col(tables.STAGE) == "validate")
        .collect()
    }
    assert "expect_column_values_to_be_in_set(plan)" in rejected["C00002"]
    assert "expect_column_values_to_be_between(tenure_months)" in rejected["C00003"]
    assert "expect_column_values_to_be_of_type(monthly_spend)" in rejected["C00004"]
    assert (
        json.loads(
            ctx.lake.read(tables.quarantine("customers"))
            .where(F.col("_raw").contains("C00004"))
            .first()["_raw"]
        )["monthly_spend"]
        == "lots"
    )
    assert "expect_column_values_to_match_regex(customer_id)" in rejected["X5"]
    assert result.metrics["failed_block"] == 0
    recorded = results(ctx, "silver/customer")
    assert recorded[("expect_column_values_to_be_in_set", "plan")]["action"] == "quarantine"
    assert recorded[("expect_column_values_to_be_in_set", "plan")]["unexpected_count"] == 1
    assert (
        recorded[("expect_column_values_to_be_of_type", "monthly_spend")]["unexpected_count"] == 1
    )
    # Every input row is somewhere: 6 parsed rows = 2 in silver + 4 quarantined by validate.
    assert len(silver) + len(rejected) == 6
    assert not ctx.lake.exists(tables.FEATURES)


def test_blocking_batch_failure_stops_the_run_with_a_clear_message(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    # The extract is yesterday's snapshot: the freshness expectation (block) fails.
    drop("customers", "2024-03-02", "a.csv", HEADER + row(1, day="2024-03-01"))
    drop("churn_labels", "2024-03-02", "l.csv", LABELS)
    ctx = make_ctx("2024-03-02")
    ingest.run(ctx)
    with pytest.raises(ValidationFailedError) as raised:
        validate.run(ctx)
    message = str(raised.value)
    assert "table silver/customer" in message
    assert "expect_column_max_to_be_between(snapshot_date)" in message
    assert "observed 2024-03-01" in message
    assert "2024-03-02" in message  # the expected bound, from the run date
    recorded = results(ctx, "silver/customer")
    assert recorded[("expect_column_max_to_be_between", "snapshot_date")]["action"] == "block"
    assert not ctx.lake.exists(tables.silver("customer"))


def test_warning_is_recorded_and_the_run_goes_on(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    rows = "".join(f"C{i:05d},2024-03-01,10,50.0,9,40,north,basic\n" for i in range(4))
    rows += "C00004,2024-03-01,10,50.0,9,40,central,basic\n"  # region in set is a warn rule
    drop("customers", "2024-03-01", "a.csv", HEADER + rows)
    drop("churn_labels", "2024-03-01", "l.csv", LABELS)
    ctx = make_ctx("2024-03-01")
    ingest.run(ctx)
    result = validate.run(ctx)
    assert result.metrics["failed_block"] == 0
    recorded = results(ctx, "silver/customer")
    assert recorded[("expect_column_mean_to_be_between", "support_calls")]["action"] == "warn"
    # A row-level warn keeps its row: counted and warned about, not quarantined.
    region = recorded[("expect_column_values_to_be_in_set", "region")]
    assert (region["action"], region["unexpected_count"]) == ("warn", 1)
    assert not ctx.lake.exists(tables.quarantine("customers")) or (
        ctx.lake.read(tables.quarantine("customers")).count() == 0
    )
    conform.run(ctx)
    features.run(ctx)
    assert ctx.lake.read(tables.silver("customer")).count() == 5
    assert ctx.lake.read(tables.FEATURES).count() == 5
    assert result.metrics["data_docs"].endswith("index.html")
    from pathlib import Path

    assert "Expectation" in Path(result.metrics["data_docs"]).read_text()
