"""Ingest on real Spark and Delta: every row lands in bronze or quarantine, exactly once."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from driftline.core import tables
from driftline.steps import ingest
from tests.steps.conftest import HEADER, row

pytestmark = pytest.mark.integration


def manifest(ctx):  # type: ignore[no-untyped-def]
    return {r["file_name"]: r.asDict() for r in ctx.lake.read(tables.INGEST_MANIFEST).collect()}


def test_malformed_rows_are_quarantined_and_accounted_for(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    body = HEADER + row(1) + "C00002,2024-03-01,5\n" + row(3) + '"C00004,unclosed\n' + row(5)
    drop("customers", "2024-03-01", "a.csv", body)
    ctx = make_ctx("2024-03-01")
    ingest.run(ctx, source="customers")

    bronze = ctx.lake.read(tables.bronze("customers"))
    quarantine = ctx.lake.read(tables.quarantine("customers"))
    entry = manifest(ctx)["a.csv"]
    assert entry["rows_read"] == entry["rows_bronze"] + entry["rows_quarantined"]
    assert entry["rows_bronze"] == bronze.count() == 3
    assert entry["rows_quarantined"] == quarantine.count() == 2
    bad = quarantine.orderBy("_row_number").collect()
    assert bad[0]["_raw"] == "C00002,2024-03-01,5"
    assert bad[0]["_row_number"] == 2
    assert "malformed row" in bad[0]["_reason"]
    assert sorted(r["_row_number"] for r in bronze.collect()) == [1, 3, 5]
    assert bronze.where(F.col("_source_file").endswith("a.csv")).count() == 3


def test_rerun_of_a_date_replaces_its_rows(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    drop("customers", "2024-03-01", "a.csv", HEADER + row(1) + row(2))
    ctx = make_ctx("2024-03-01")
    ingest.run(ctx, source="customers")
    ingest.run(ctx, source="customers")
    assert ctx.lake.read(tables.bronze("customers")).count() == 2
    assert ctx.lake.read(tables.INGEST_MANIFEST).count() == 1


def test_same_file_dropped_again_on_another_date_is_not_ingested_twice(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    drop("customers", "2024-03-01", "a.csv", HEADER + row(1))
    drop("customers", "2024-03-02", "renamed.csv", HEADER + row(1))
    ingest.run(make_ctx("2024-03-01"), source="customers")
    ctx = make_ctx("2024-03-02")
    result = ingest.run(ctx, source="customers")
    assert result.metrics["customers"]["duplicates"] == 1
    assert ctx.lake.read(tables.bronze("customers")).count() == 1
    assert manifest(ctx)["renamed.csv"]["status"] == "duplicate"


def test_file_missing_a_declared_column_is_quarantined_whole(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    drop("customers", "2024-03-01", "good.csv", HEADER + row(1))
    drop(
        "customers",
        "2024-03-01",
        "bad.csv",
        "customer_id,snapshot_date,tenure_months\nC9,2024-03-01,3\nC10,2024-03-01,4\n",
    )
    drop("customers", "2024-03-01", "empty.csv", "")
    ctx = make_ctx("2024-03-01")
    ingest.run(ctx, source="customers")

    entries = manifest(ctx)
    assert entries["bad.csv"]["status"] == "quarantined"
    assert "monthly_spend" in entries["bad.csv"]["reason"]
    assert entries["bad.csv"]["rows_quarantined"] == 2
    assert entries["empty.csv"]["status"] == "empty"
    assert entries["good.csv"]["rows_bronze"] == 1
    reasons = {r["_reason"] for r in ctx.lake.read(tables.quarantine("customers")).collect()}
    assert any("monthly_spend" in reason for reason in reasons)


def test_a_decompression_bomb_is_quarantined_and_the_other_files_go_on(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    import dataclasses
    import gzip

    drop("customers", "2024-03-01", "good.csv", HEADER + row(1) + row(2))
    drop(
        "customers", "2024-03-01", "bomb.csv.gz", gzip.compress(HEADER.encode() + b"0" * 3_000_000)
    )
    ctx = make_ctx("2024-03-01")
    capped = [
        s.model_copy(update={"path": "customers/{run_date}/*.csv*", "max_unpacked_mb": 1})
        if s.name == "customers"
        else s
        for s in ctx.pipeline.sources
    ]
    ctx = dataclasses.replace(ctx, pipeline=ctx.pipeline.model_copy(update={"sources": capped}))
    ingest.run(ctx, source="customers")

    entries = manifest(ctx)
    assert entries["good.csv"]["rows_bronze"] == 2
    assert entries["bomb.csv.gz"]["status"] == "quarantined"
    assert "unpacks to more than 1 MB" in entries["bomb.csv.gz"]["reason"]
    (kept,) = ctx.lake.read(tables.quarantine("customers")).collect()
    assert "max_unpacked_mb" in kept["_reason"]
    assert "original kept at" in kept["_raw"]


def test_header_only_file_is_ingested_with_zero_rows(make_ctx, drop) -> None:  # type: ignore[no-untyped-def]
    drop("customers", "2024-03-01", "h.csv", HEADER)
    ctx = make_ctx("2024-03-01")
    ingest.run(ctx, source="customers")
    assert manifest(ctx)["h.csv"]["rows_read"] == 0
    assert ctx.lake.read(tables.bronze("customers")).count() == 0
