"""`validate` keeps one GE context per process; a suite that changes between runs (another
project's file of the same name, an edited file) is validated as it is now."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftline.quality import load_suite, publish_docs, validate

pytestmark = pytest.mark.integration


def suite_file(folder: Path, max_value: int) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "probe.json").write_text(
        json.dumps(
            {
                "name": "probe",
                "expectations": [
                    {
                        "type": "expect_column_max_to_be_between",
                        "kwargs": {"column": "n", "max_value": max_value},
                        "meta": {"severity": "warn"},
                    }
                ],
            }
        )
    )
    return folder


def test_a_changed_suite_of_the_same_name_is_used_as_it_is_now(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    df = spark.createDataFrame([(1,), (5,)], "n int")
    strict = load_suite(suite_file(tmp_path / "a", 3), "probe")
    loose = load_suite(suite_file(tmp_path / "b", 10), "probe")
    docs = tmp_path / "docs"
    outcomes = [
        validate(df, suite, "batch", docs_dir=docs if with_docs else None)[0].success
        for suite, with_docs in ((strict, True), (loose, True), (strict, True), (loose, False))
    ]
    assert outcomes == [False, True, False, True]
    assert not (docs / "index.html").exists()  # rendered once, for the whole step
    publish_docs()
    assert (docs / "index.html").is_file()
