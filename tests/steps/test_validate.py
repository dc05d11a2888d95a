"""The quality gate on real Great Expectations with Spark DataFrames."""

from __future__ import annotations

import pytest

from driftline import tables
from driftline.errors import ValidationFailedError
from driftline.steps import conform, ingest, validate
from tests.steps.conftest import HEADER, row

pytestmark = pytest.mark.integration

LABELS = "customer_id,label_date,churned\n"


def test_blocking_failure_stops_the_run_and_names_the_expectation(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    drop("customers", "2024-03-01", "a.csv", HEADER + row(1) + row(2, plan="gold"))
    drop("churn_labels", "2024-03-01", "l.csv", LABELS)
    ctx = make_ctx("2024-03-01")
    ingest.run(ctx)
    with pytest.raises(ValidationFailedError) as raised:
        validate.run(ctx)
    message = str(raised.value)
    assert "silver/customer" in message
    assert "expect_column_values_to_be_in_set(plan)" in message
    assert "1 unexpected row" in message

    results = ctx.lake.read(tables.VALIDATION_RESULTS).collect()
    failed = [r for r in results if not r["success"]]
    assert [(r["expectation"], r["column_name"], r["severity"]) for r in failed] == [
        ("expect_column_values_to_be_in_set", "plan", "block")
    ]
    assert not ctx.lake.exists(tables.silver("customer"))


def test_warning_is_recorded_and_the_run_goes_on(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    # support_calls mean above 3 breaks a `warn` expectation only.
    rows = "".join(f"C{i:05d},2024-03-01,10,50.0,9,40,north,basic\n" for i in range(5))
    drop("customers", "2024-03-01", "a.csv", HEADER + rows)
    drop("churn_labels", "2024-03-01", "l.csv", LABELS)
    ctx = make_ctx("2024-03-01")
    ingest.run(ctx)
    result = validate.run(ctx)
    assert result.metrics["failed_warn"] == 1
    assert result.metrics["failed_block"] == 0
    conform.run(ctx)
    assert ctx.lake.read(tables.silver("customer")).count() == 5
