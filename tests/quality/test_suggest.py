from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftline.quality import load_suite, validate
from driftline.quality.suggest import suggest_suite

pytestmark = pytest.mark.integration


def test_suggested_suite_is_valid_and_passes_on_its_own_data(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    df = spark.createDataFrame(
        [("C1", "north", 3, 10.5), ("C2", "south", None, 20.0), ("C3", "north", 5, 15.0)],
        "customer_id string, region string, calls int, spend double",
    )
    suite = suggest_suite(df, "probe")
    kinds = {(e["type"], e["kwargs"].get("column")) for e in suite["expectations"]}
    assert ("expect_column_values_to_not_be_null", "customer_id") in kinds
    assert ("expect_column_proportion_of_non_null_values_to_be_between", "calls") in kinds
    assert ("expect_column_values_to_be_in_set", "region") in kinds
    assert ("expect_column_values_to_be_between", "spend") in kinds
    (tmp_path / "probe.json").write_text(json.dumps(suite))
    loaded = load_suite(tmp_path, "probe")
    outcomes = validate(df, loaded, "all")
    assert outcomes and all(o.success for o in outcomes)
