"""The one-pass engine gives GE's stock Spark engine's results in fewer Spark passes."""

from __future__ import annotations

from typing import Any

import pytest

EXPECTATIONS: list[dict[str, Any]] = [
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
    {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "a", "value_set": ["x", "y"], "mostly": 0.5},
    },
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "a", "regex": "^x"}},
    {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "n", "min_value": 0, "max_value": 10},
    },
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "n", "max_value": 3}},
    {"type": "expect_column_stdev_to_be_between", "kwargs": {"column": "n", "min_value": 1}},
    {"type": "expect_column_max_to_be_between", "kwargs": {"column": "n", "max_value": 10}},
    {
        "type": "expect_column_proportion_of_non_null_values_to_be_between",
        "kwargs": {"column": "n", "min_value": 0.9},
    },
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "a"}},
]
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


@pytest.fixture(scope="module")
def frame(spark):  # type: ignore[no-untyped-def]
    rows = [("x", 1.0), ("y", 10.0), ("z", -1.0), (None, 5.0), ("x", None), ("zz", 11.0)]
    return spark.createDataFrame(rows * 50, "a string, n double")


def run(spark, df, datasource: str, row_count: int | None = None) -> tuple[list[Any], int]:  # type: ignore[no-untyped-def]
    """(GE's per-expectation results, Spark jobs it ran) with a fresh context."""
    import great_expectations as gx

    import driftline.quality.engine  # noqa: F401  (registers add_driftline_spark)

    context = gx.get_context(mode="ephemeral")
    source = getattr(context.data_sources, f"add_{datasource}")(name="probe")
    batch = (
        source.add_dataframe_asset(name="probe")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": df})
    )
    suite = gx.ExpectationSuite(name="probe", expectations=EXPECTATIONS)
    group = f"engine-{datasource}-{row_count}"
    spark.sparkContext.setJobGroup(group, group)
    try:
        engine = batch.data.execution_engine
        if row_count is None:
            result = batch.validate(suite, result_format=RESULT_FORMAT)
        else:
            with engine.known_row_count(row_count):
                result = batch.validate(suite, result_format=RESULT_FORMAT)
    finally:
        spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)
    jobs = len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))
    outcomes = [
        (
            r.expectation_config.type,
            r.success,
            r.result.get("observed_value"),
            r.result.get("unexpected_count"),
            r.result.get("element_count"),
        )
        for r in result.results
    ]
    return outcomes, jobs


@pytest.mark.integration
def test_same_results_as_the_stock_engine_in_fewer_jobs(spark, frame) -> None:  # type: ignore[no-untyped-def]
    frame.unpersist()
    stock, stock_jobs = run(spark, frame, "spark")
    frame.unpersist()  # the stock engine caches the batch; start each run uncached
    one_pass, one_pass_jobs = run(spark, frame, "driftline_spark")
    counted, counted_jobs = run(spark, frame, "driftline_spark", row_count=300)

    print(f"Spark jobs: stock {stock_jobs}, one-pass {one_pass_jobs}, counted {counted_jobs}")
    assert one_pass == stock
    assert counted == stock
    assert {o[0]: o[1] for o in stock} == {
        "expect_table_row_count_to_be_between": True,
        "expect_column_values_to_not_be_null": False,
        "expect_column_values_to_be_in_set": True,  # 2 of 5 non-null values are out: mostly
        "expect_column_values_to_match_regex": False,
        "expect_column_values_to_be_between": False,
        "expect_column_mean_to_be_between": False,
        "expect_column_stdev_to_be_between": True,
        "expect_column_max_to_be_between": False,
        "expect_column_proportion_of_non_null_values_to_be_between": False,
        "expect_column_values_to_be_unique": False,
    }
    # Fewer passes, whatever each pass costs in jobs (adaptive execution splits an
    # aggregation into a map-stage job and a result job).
    assert one_pass_jobs < stock_jobs
    assert counted_jobs < one_pass_jobs


def test_a_suite_aggregates_in_the_same_order_whatever_its_batch() -> None:
    """GE hands the bundle over in set order, which follows the batch's id; sorted, the
    same suite gives the same `agg` each night and Spark reuses its compiled code."""
    import random

    from great_expectations.execution_engine.execution_engine import (
        MetricComputationConfiguration,
    )
    from great_expectations.validator.metric_configuration import MetricConfiguration

    from driftline.quality.engine import _stable_order

    def bundle(batch_id: str) -> list[MetricComputationConfiguration]:
        metrics = [
            ("column.mean", {"column": "n"}, {}),
            ("column.max", {"column": "n"}, {}),
            ("column_values.nonnull.unexpected_count", {"column": "a"}, {}),
            ("column_values.in_set.unexpected_count", {"column": "a"}, {"value_set": ["x"]}),
            ("column_values.in_set.unexpected_count", {"column": "a"}, {"value_set": ["y"]}),
        ]
        configurations = [
            MetricComputationConfiguration(
                metric_configuration=MetricConfiguration(
                    name, {**domain, "batch_id": batch_id}, values
                ),
                metric_fn=None,
                metric_provider_kwargs={},
            )
            for name, domain, values in metrics
        ]
        random.Random(batch_id).shuffle(configurations)
        return sorted(configurations, key=_stable_order)

    def described(configurations: list[MetricComputationConfiguration]) -> list[Any]:
        return [
            (c.metric_configuration.metric_name, c.metric_configuration.metric_value_kwargs)
            for c in configurations
        ]

    first, second = bundle("night-1"), bundle("night-2")
    assert described(first) == described(second)
    assert [c.metric_configuration.metric_domain_kwargs["batch_id"] for c in second] == [
        "night-2"
    ] * 5
