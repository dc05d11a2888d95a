"""The `ingest_manifest` table: one row per delivered file or extract, what became of it.

It is what makes ingest exactly-once (a checksum already ingested for another date is a
duplicate) and what an auditor reads to see that rows read = rows in bronze + rows in
quarantine. Incremental SQL extracts keep their watermark windows here, so a re-run of a
date extracts the same window again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from driftline.context import RunContext
from driftline.core import tables
from driftline.core.source_config import SourceConfig
from driftline.sources.files import DroppedFile
from driftline.sources.sql import Watermarks

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

MANIFEST_DDL = (
    "source string, file_name string, file_path string, origin string, checksum string, "
    "size_bytes long, rows_read long, rows_bronze long, rows_quarantined long, status string, "
    "reason string, new_columns string, watermark_from string, watermark_to string, "
    f"{tables.RUN_DATE} date, column_map string, replaces string"
)


@dataclass
class FileOutcome:
    """What became of one delivered file (all its archive members together)."""

    file: DroppedFile | None
    status: str  # ingested | duplicate | empty | quarantined | not_ready | missing
    name: str = ""
    rows_read: int = 0
    rows_bronze: int = 0
    rows_quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # undeclared columns the file carried
    renamed: dict[str, str] = field(default_factory=dict)  # header name -> bronze column
    replaces: str | None = None  # checksum of the earlier delivery of this name it corrects

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) or None


def _manifest_rows(ctx: RunContext, source: str) -> DataFrame | None:
    from pyspark.sql import functions as F

    if not ctx.lake.exists(tables.INGEST_MANIFEST):
        return None
    return ctx.lake.read(tables.INGEST_MANIFEST).where(F.col("source") == source)


def recorded_deliveries(ctx: RunContext, source: str) -> tuple[dict[str, str], dict[str, str]]:
    """What the manifest holds for this source, in one read: (checksum -> the other date it
    was ingested on, for exactly-once; file name -> checksum recorded for this run date,
    before this run replaces it: a name delivered again with other content is a
    correction)."""
    from pyspark.sql import functions as F

    manifest = _manifest_rows(ctx, source)
    if manifest is None:
        return {}, {}
    rows = (
        manifest.where(F.col("checksum").isNotNull())
        .select("checksum", ctx.interval.label_column(), "file_name", "status")
        .collect()
    )
    today = ctx.ds
    elsewhere = {r[0]: r[1] for r in rows if r[1] != today and r[3] in ("ingested", "quarantined")}
    return elsewhere, {r[2]: r[0] for r in rows if r[1] == today}


def watermarks(ctx: RunContext, source: SourceConfig) -> Watermarks:
    """Where this date's incremental extract starts (the latest earlier date's high-water
    mark) and, for a re-run, where it ended the first time."""
    from pyspark.sql import functions as F

    if source.kind != "sql" or source.sql is None or not source.sql.watermark:
        return Watermarks()
    manifest = _manifest_rows(ctx, source.name)
    if manifest is None:
        return Watermarks()
    marks = manifest.where(F.col("watermark_to").isNotNull())

    def latest(rows: DataFrame) -> str | None:
        newest = rows.orderBy(*[c.desc() for c in ctx.interval.order()])
        row = newest.select("watermark_to").first()
        return None if row is None else str(row[0])

    return Watermarks(
        after=latest(marks.where(ctx.interval.before())),
        up_to=latest(marks.where(ctx.interval.is_this())),
    )


def write_manifest(
    ctx: RunContext, source: SourceConfig, outcomes: list[FileOutcome], added: list[str]
) -> dict[str, int]:
    """Written last: a crash before it leaves the date looking un-ingested, and the re-run
    replaces the same partitions again. An hourly pipeline's manifest also has the run's
    hour (last, so a daily pipeline's manifest keeps the columns it always had)."""
    hour = ctx.interval.values[1:]
    written = ctx.lake.replace_partition_rows(
        tables.INGEST_MANIFEST,
        [(*_manifest_row(source, o, added, ctx), ctx.run_id, *hour) for o in outcomes],
        f"{MANIFEST_DDL}, run_id string" + (f", {tables.RUN_HOUR} int" if hour else ""),
        {"source": source.name, **ctx.interval.partition},
        ctx.commit_metadata("ingest"),
    )
    return {written.table: written.version}


def _manifest_row(
    source: SourceConfig, o: FileOutcome, new_columns: list[str], ctx: RunContext
) -> tuple[object, ...]:
    f = o.file
    return (
        source.name,
        o.name,
        str(f.path) if f else None,
        f.origin if f else None,
        f.checksum if f else None,
        f.size if f else None,
        o.rows_read,
        o.rows_bronze,
        o.rows_quarantined,
        o.status,
        o.reason,
        ",".join(sorted(o.columns & set(new_columns))) or None,
        f.watermark_from if f else None,
        f.watermark_to if f else None,
        ctx.run_date,
        json.dumps(o.renamed, ensure_ascii=False, sort_keys=True) if o.renamed else None,
        o.replaces,
    )
