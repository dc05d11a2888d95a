from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftline.quality import load_suite, validate
from driftline.quality.suggest import suggest_suite, widened_range


def test_a_learned_range_is_wider_than_the_delivery_it_came_from() -> None:
    assert widened_range(10.0, 20.0, integral=False) == {"min_value": 9.0, "max_value": 21.0}
    # Counts and amounts that were never negative do not get a negative lower bound.
    assert widened_range(0.5, 100.5, integral=False) == {"min_value": 0.0, "max_value": 110.5}
    assert widened_range(-4.0, 6.0, integral=False) == {"min_value": -5.0, "max_value": 7.0}
    # Integer columns get integer bounds, rounded outwards.
    assert widened_range(18, 90, integral=True) == {"min_value": 10, "max_value": 98}
    # One value seen: widened by a tenth of the value itself.
    assert widened_range(50.0, 50.0, integral=False) == {"min_value": 45.0, "max_value": 55.0}
    assert widened_range(0.0, 0.0, integral=True) == {"min_value": 0, "max_value": 1}


def test_rounding_keeps_every_observed_value_inside() -> None:
    low, high = 0.1234567891, 0.1234567899
    bounds = widened_range(low, high, integral=False)
    assert bounds["min_value"] <= low and bounds["max_value"] >= high


@pytest.mark.integration
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
    (spend,) = [
        e["kwargs"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_between" and e["kwargs"]["column"] == "spend"
    ]
    assert spend["min_value"] < 10.5 and spend["max_value"] > 20.0  # room for tomorrow
    (tmp_path / "probe.json").write_text(json.dumps(suite))
    loaded = load_suite(tmp_path, "probe")
    outcomes = validate(df, loaded, "all")
    assert outcomes and all(o.success for o in outcomes)


@pytest.mark.integration
def test_a_suite_learned_from_delivered_files_holds_on_the_first_night(
    spark, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`expectations suggest --source` before any run: its column set is the columns the
    validate step sees (the declared ones and bronze's lineage), so the night passes."""
    from datetime import date

    from driftline.context import RunContext
    from driftline.core.intervals import RunInterval
    from driftline.core.loading import load_pipeline
    from driftline.data.casting import typed
    from driftline.demo.data import DemoData, write_demo_drop
    from driftline.lake import open_lake
    from driftline.quality.batches import checked_batch
    from driftline.sources.preview import as_validated, delivered_rows
    from driftline.steps import ingest
    from tests.conftest import PROJECT, make_settings

    spec = DemoData(start=date(2024, 4, 1), days=1, drift_day=99, rows_per_day=60)
    settings = make_settings(tmp_path)
    write_demo_drop(settings.resolved_drop_root, spec)
    config = load_pipeline(PROJECT / "driftline.yaml")
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    ctx = RunContext(RunInterval(spec.start), "suggest", settings, config, spark, lake)
    source = config.source("customers")
    rows = typed(delivered_rows(ctx, source, ctx.interval), source)
    suite = suggest_suite(as_validated(rows, hourly=False), "s")
    (column_set,) = [
        e["kwargs"]["column_set"]
        for e in suite["expectations"]
        if e["type"] == "expect_table_columns_to_match_set"
    ]
    ingest.run(ctx, source="customers")
    batch = checked_batch(ctx, "customers", "silver/customer").good
    assert sorted(column_set) == sorted(batch.columns)
    (tmp_path / "s.json").write_text(json.dumps(suite))
    outcomes = validate(batch, load_suite(tmp_path, "s"), "all")
    (columns,) = [o for o in outcomes if o.expectation == "expect_table_columns_to_match_set"]
    assert columns.success, columns.describe()


@pytest.mark.integration
def test_a_features_suite_drafted_before_the_first_night_lets_it_pass(
    spark, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`expectations suggest features --date` before any run: the feature rows the date's
    files would give, built without the lake, draft a suite the first night's features
    step passes, and the previewed rows are the rows that night builds."""
    import shutil
    from datetime import date

    from driftline.context import RunContext
    from driftline.core import tables
    from driftline.core.loading import load_pipeline
    from driftline.demo.data import DemoData, write_demo_drop
    from driftline.lake import open_lake
    from driftline.steps import conform, features, ingest
    from driftline.steps import validate as validate_step
    from tests.conftest import PROJECT, make_settings

    spec = DemoData(start=date(2024, 4, 1), days=1, drift_day=99, rows_per_day=60)
    home = tmp_path / "project"
    shutil.copytree(PROJECT / "expectations", home / "expectations")
    shutil.copy(PROJECT / "driftline.yaml", home / "driftline.yaml")
    (home / "expectations" / "features.json").unlink()  # a new project has none yet
    settings = make_settings(tmp_path, home=home)
    write_demo_drop(settings.resolved_drop_root, spec)
    config = load_pipeline(home / "driftline.yaml")
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    from driftline.core.intervals import RunInterval

    ctx = RunContext(RunInterval(spec.start), "suggest", settings, config, spark, lake)
    preview = features.previewed(ctx)
    suite = suggest_suite(preview, "features")
    (home / "expectations" / "features.json").write_text(json.dumps(suite))
    assert not lake.exists(tables.bronze("customers"))  # nothing written by the preview

    for step in (ingest, validate_step, conform, features):
        step.run(ctx)
    built = lake.read(tables.FEATURES)
    assert sorted(built.columns) == sorted(preview.columns)
    assert built.count() == preview.count() == spec.rows_per_day
    outcomes = validate(built, load_suite(home / "expectations", "features"), "all")
    assert outcomes and all(o.success for o in outcomes), [o.describe() for o in outcomes]
