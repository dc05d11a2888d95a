"""The malformed-input corpus: every file is ingested or quarantined with a reason, and the
row accounting holds exactly for each one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.intervals import RunInterval
from driftline.core.loading import load_pipeline
from driftline.steps import ingest
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).parent / "corpus"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text())


@pytest.fixture(scope="module")
def corpus_ctx(spark, tmp_path_factory):  # type: ignore[no-untyped-def]
    from driftline.lake import open_lake

    root = tmp_path_factory.mktemp("corpus")
    settings = make_settings(root, drop_root=CORPUS, pipeline_file=CORPUS / "driftline.yaml")
    pipeline = load_pipeline(CORPUS / "driftline.yaml")
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    ctx = RunContext(RunInterval(date(2024, 3, 1)), "corpus", settings, pipeline, spark, lake)
    for source in EXPECTED:
        ingest.run(ctx, source=source)
    return ctx


def test_corpus_has_at_least_25_files() -> None:
    files = [p for p in CORPUS.rglob("*") if p.is_file() and p.parent != CORPUS]
    assert len(files) >= 25
    assert {p.name for p in files} == {n for entries in EXPECTED.values() for n in entries}


@pytest.mark.parametrize(
    ("source", "name"), [(s, n) for s, entries in EXPECTED.items() for n in entries]
)
def test_every_file_is_accounted_for(corpus_ctx, source: str, name: str) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    status, in_bronze, in_quarantine, *word = EXPECTED[source][name]
    entry = (
        corpus_ctx.lake.read(tables.INGEST_MANIFEST)
        .where((F.col("source") == source) & (F.col("file_name") == name))
        .collect()
    )
    assert len(entry) == 1, f"{name} has {len(entry)} manifest rows"
    row = entry[0]
    assert (row["status"], row["rows_bronze"], row["rows_quarantined"]) == (
        status,
        in_bronze,
        in_quarantine,
    ), row["reason"]
    assert row["rows_read"] == row["rows_bronze"] + row["rows_quarantined"]
    if word:
        assert word[0] in row["reason"]
    if status != "ingested" or in_quarantine:
        assert row["reason"], "a file that is not simply ingested must say why"

    # The tables agree with the manifest, file by file.
    checksum = row["checksum"]
    bronze = corpus_ctx.lake.read(tables.bronze(source)).where(F.col("_file_checksum") == checksum)
    quarantine = corpus_ctx.lake.read(tables.quarantine(source)).where(
        F.col("_file_checksum") == checksum
    )
    if status == "duplicate":
        assert row["checksum"] is not None
        return
    assert bronze.count() == in_bronze
    assert quarantine.count() == in_quarantine
    assert quarantine.where(F.col("_reason").isNull() | F.col("_raw").isNull()).count() == 0


def test_values_survive_encodings_quotes_and_layouts(corpus_ctx) -> None:  # type: ignore[no-untyped-def]
    def values(source: str, column: str) -> set[str]:
        return {r[0] for r in corpus_ctx.lake.read(tables.bronze(source)).select(column).collect()}

    assert {"Lyon, Part-Dieu", 'Saint "Quoted" Town'} <= values("orders_csv", "city")
    assert "O0020" in values("orders_csv", "order_id")  # the BOM did not stick to the header
    assert {"Besançon", "Orléans \u2013 Centre €"} == values("orders_cp1252", "city")
    assert {"12,50", "7,25"} == values("orders_cp1252", "amount")
    assert {"Besançon", "Nîmes", "Lyon"} <= values("orders_fixed", "city")
    assert "10.0" not in values("orders_fixed", "amount")
    assert {"330.00", "333.00"} <= values("orders_fixed", "amount")


def test_decimal_comma_is_read_as_a_number(corpus_ctx) -> None:  # type: ignore[no-untyped-def]
    from driftline.data.casting import typed

    source = corpus_ctx.pipeline.source("orders_cp1252")
    amounts = typed(corpus_ctx.lake.read(tables.bronze("orders_cp1252")), source)
    assert sorted(r[0] for r in amounts.select("amount").collect()) == [7.25, 12.5]


def test_new_columns_are_added_and_recorded(corpus_ctx) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    manifest = corpus_ctx.lake.read(tables.INGEST_MANIFEST)
    recorded = {
        r["file_name"]: r["new_columns"]
        for r in manifest.where(F.col("new_columns").isNotNull()).collect()
    }
    assert recorded == {
        "10_extra_column.csv": "loyalty_tier",
        "25_extra_key.jsonl": "channel",
        "30_extra_column.parquet": "promo_code",
        "34_inmet_a001.csv": "column_5",  # the weather export's unnamed last column
        "35_inmet_short_preamble.csv": "column_5",
    }
    bronze = corpus_ctx.lake.read(tables.bronze("orders_csv"))
    tiers = {
        r[0]
        for r in bronze.where(F.col("loyalty_tier").isNotNull()).select("loyalty_tier").collect()
    }
    assert tiers == {"gold", "silver"}


def test_archive_members_keep_their_names(corpus_ctx) -> None:  # type: ignore[no-untyped-def]
    bronze = corpus_ctx.lake.read(tables.bronze("orders_csv"))
    names = {r[0] for r in bronze.select("_source_file").distinct().collect()}
    assert {"15_two_members.zip!north/a.csv", "15_two_members.zip!south/b.csv"} <= names


def test_unreadable_binary_files_are_preserved(corpus_ctx) -> None:  # type: ignore[no-untyped-def]
    kept = Path(corpus_ctx.lake.root) / "_quarantined_files" / "orders_csv" / "2024-03-01"
    assert any(p.name.endswith("16_corrupt.zip") for p in kept.iterdir())


def test_a_legacy_export_is_read_past_its_preamble_and_trailing_delimiter(corpus_ctx) -> None:  # type: ignore[no-untyped-def]
    import json
    from datetime import datetime

    from pyspark.sql import functions as F

    from driftline.data.casting import typed

    manifest = corpus_ctx.lake.read(tables.INGEST_MANIFEST)
    (row,) = manifest.where(F.col("file_name") == "34_inmet_a001.csv").collect()
    assert json.loads(row["column_map"]) == {
        "": "column_5",
        "Data": "obs_date",
        "Hora UTC": "obs_time",
        "PRECIPITAÇÃO TOTAL, HORÁRIO (mm)": "precipitacao_total_horario_mm",
        "TEMPERATURA DO AR - BULBO SECO, HORARIA (°C)": "temperatura_do_ar_bulbo_seco_horaria_c",
    }
    (reason,) = corpus_ctx.lake.read(tables.quarantine("weather_legacy")).collect()
    assert reason["_reason"] == "malformed row: expected 5 fields, found 6"
    assert reason["_row_number"] == 5

    source = corpus_ctx.pipeline.source("weather_legacy")
    rows = sorted(
        typed(corpus_ctx.lake.read(tables.bronze("weather_legacy")), source, with_checks=True)
        .orderBy("obs_time")
        .collect(),
        key=lambda r: r["obs_time"],
    )
    assert [r["obs_date"] for r in rows] == [date(2020, 1, 1)] * 4
    assert [r["obs_time"] for r in rows] == [datetime(1970, 1, 1, h) for h in range(4)]
    # -9999 is this station's "no reading": missing, not a number and not a cast failure.
    assert [r["precipitacao_total_horario_mm"] for r in rows] == [0.0, None, 1.2, 0.0]
    assert [r["temperatura_do_ar_bulbo_seco_horaria_c"] for r in rows] == [21.4, 20.9, None, 19.8]
    assert not any(r[c] for r in rows for c in r.asDict() if c.startswith("_cast_failed_"))


def test_a_header_found_by_its_pattern_and_a_file_without_one(corpus_ctx) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    bronze = corpus_ctx.lake.read(tables.bronze("weather_pattern"))
    assert bronze.where(F.col("obs_date") == "2020/01/01").count() == 3
    manifest = corpus_ctx.lake.read(tables.INGEST_MANIFEST)
    (row,) = manifest.where(F.col("file_name") == "36_no_header.csv").collect()
    assert "no line matches the source's header_pattern" in row["reason"]


def test_a_date_without_a_delivery_is_recorded_and_blocks_when_told_to(corpus_ctx) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    from driftline.core.errors import SourceError

    with pytest.raises(SourceError, match=r"absent_feed delivered nothing for 2024-03-01"):
        ingest.run(corpus_ctx, source="absent_feed")
    manifest = corpus_ctx.lake.read(tables.INGEST_MANIFEST)
    (row,) = manifest.where(F.col("source") == "absent_feed").collect()
    assert (row["status"], row["rows_read"]) == ("missing", 0)
    assert "no file matched 'absent/*'" in row["reason"]


def test_a_lagged_source_is_not_due_on_the_first_dates(corpus_ctx) -> None:  # type: ignore[no-untyped-def]
    """Outcomes known `lag_days` after their day: a pipeline starting on the run date
    expects no file yet, so nothing blocks; a day later, the same absence blocks."""
    import dataclasses
    from datetime import date

    from driftline.core.errors import SourceError

    lagged = [
        s.model_copy(update={"lag_days": 1}) if s.name == "absent_feed" else s
        for s in corpus_ctx.pipeline.sources
    ]
    starting = corpus_ctx.pipeline.model_copy(
        update={"sources": lagged, "start_date": date(2024, 3, 1)}
    )
    ingest.run(dataclasses.replace(corpus_ctx, pipeline=starting), source="absent_feed")
    started = starting.model_copy(update={"start_date": date(2024, 2, 29)})
    with pytest.raises(SourceError, match="absent_feed delivered nothing"):
        ingest.run(dataclasses.replace(corpus_ctx, pipeline=started), source="absent_feed")
