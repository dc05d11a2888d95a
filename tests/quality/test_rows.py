"""Driftline's Spark translation of row-level expectations agrees with GE's own counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftline.quality import load_suite, row_rules, split_rows, validate

pytestmark = pytest.mark.integration

SUITE = {
    "name": "probe",
    "expectations": [
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "a"},
            "meta": {"severity": "block"},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "n", "min_value": 0, "max_value": 10},
            "meta": {"severity": "block"},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "n", "min_value": 0, "max_value": 10, "strict_max": True},
            "meta": {"severity": "block"},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "a", "value_set": ["x", "y"]},
            "meta": {"severity": "block"},
        },
        {
            "type": "expect_column_values_to_not_be_in_set",
            "kwargs": {"column": "a", "value_set": ["y"]},
            "meta": {"severity": "block"},
        },
        {
            "type": "expect_column_values_to_match_regex",
            "kwargs": {"column": "a", "regex": "^[xy]$"},
            "meta": {"severity": "block"},
        },
        {
            "type": "expect_column_values_to_not_match_regex",
            "kwargs": {"column": "a", "regex": "z"},
            "meta": {"severity": "block"},
        },
    ],
}


def test_spark_rules_match_ge_unexpected_counts(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "probe.json").write_text(json.dumps(SUITE))
    suite = load_suite(tmp_path, "probe")
    df = spark.createDataFrame(
        [("x", 1.0), ("y", 10.0), ("z", -1.0), (None, 5.0), ("x", None), ("zz", 11.0)],
        "a string, n double",
    )
    # GE does not keep the suite's order: match outcomes to expectations by their kwargs.
    outcomes = validate(df, suite, "row")
    rules = row_rules(suite)
    assert len(outcomes) == len(rules) == 7
    for expectation, rule in zip(suite.row_level, rules, strict=True):
        kwargs = dict(expectation["kwargs"])
        column = kwargs.pop("column")
        (match,) = [
            o
            for o in outcomes
            if (o.expectation, o.column) == (expectation["type"], column)
            and json.loads(o.expected) == kwargs
        ]
        assert df.where(rule.fails).count() == match.unexpected_count, rule.reason
    good, bad = split_rows(df, rules)
    assert good.count() + bad.count() == df.count()
    assert [r["a"] for r in good.collect()] == ["x", "x"]


def test_a_warn_row_rule_keeps_its_rows_and_warns(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    suite_json = json.loads(json.dumps(SUITE))
    suite_json["expectations"][3]["meta"]["severity"] = "warn"  # a in {x, y}
    (tmp_path / "probe.json").write_text(json.dumps(suite_json))
    suite = load_suite(tmp_path, "probe")
    df = spark.createDataFrame([("x", 1.0), ("y", 2.0), ("w", 3.0)], "a string, n double")
    reasons = [rule.reason for rule in row_rules(suite)]
    assert "expect_column_values_to_be_in_set(a)" not in reasons and len(reasons) == 6
    _, bad = split_rows(df, row_rules(suite, []))
    # "w" breaks the warn in-set rule and the block regex ^[xy]$: quarantined by the
    # regex alone ("y" by the block not-in-set rule).
    reasons = {r["a"]: r["_dq_reasons"] for r in bad.collect()}
    assert set(reasons) == {"w", "y"}
    assert "match_regex(a)" in reasons["w"]
    assert "expect_column_values_to_be_in_set" not in reasons["w"]
    (in_set,) = [
        o
        for o in validate(df, suite, "row")
        if o.expectation == "expect_column_values_to_be_in_set"
    ]
    assert (in_set.action, in_set.unexpected_count) == ("warn", 1)


def test_suite_with_bad_severity_names_it(tmp_path: Path) -> None:
    from driftline.core.errors import ConfigError

    broken = {
        "name": "t",
        "expectations": [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "a"},
                "meta": {"severity": "fatal"},
            }
        ],
    }
    (tmp_path / "t.json").write_text(json.dumps(broken))
    with pytest.raises(ConfigError, match=r"expectations\[0\].*'fatal'"):
        load_suite(tmp_path, "t")
