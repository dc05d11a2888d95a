"""Ingest: a source's files for the run date into `bronze/<source>`, every row accounted for.

Rows Spark cannot parse go to `quarantine/<source>` with their raw text and a reason; a file
whose header lacks a declared column is quarantined whole. The `ingest_manifest` records,
per file, rows read = rows in bronze + rows in quarantine, and makes ingest exactly-once: a
file whose checksum was already ingested for another date is not ingested again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from driftline import tables
from driftline.config import SourceConfig
from driftline.context import RunContext, StepResult
from driftline.errors import SourceError
from driftline.sources.files import DroppedFile, files_for_date, read_header

if TYPE_CHECKING:
    from pyspark import StorageLevel
    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)

CORRUPT = "_corrupt_record"
METADATA_DDL = tables.BRONZE_METADATA_DDL
METADATA_COLUMNS = tables.BRONZE_METADATA


@dataclass
class FileOutcome:
    file: DroppedFile
    status: str  # ingested | duplicate | empty | quarantined
    rows_read: int = 0
    rows_bronze: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


def run(ctx: RunContext, source: str | None = None) -> StepResult:
    """Ingest one source (an Airflow mapped task) or, without `source`, all of them."""
    names = [source] if source else [s.name for s in ctx.pipeline.sources]
    result = StepResult("ingest", ctx.ds)
    for name in names:
        outcomes, versions = ingest_source(ctx, ctx.pipeline.source(name))
        result.table_versions.update(versions)
        result.metrics[name] = {
            "files": len(outcomes),
            "rows_read": sum(o.rows_read for o in outcomes),
            "rows_bronze": sum(o.rows_bronze for o in outcomes),
            "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
            "duplicates": sum(o.status == "duplicate" for o in outcomes),
        }
    return result


def ingest_source(
    ctx: RunContext, source: SourceConfig
) -> tuple[list[FileOutcome], dict[str, int]]:
    files = files_for_date(ctx.settings.resolved_drop_root, source, ctx.run_date)
    logger.info("source %s: %d file(s) for %s", source.name, len(files), ctx.ds)
    seen_elsewhere = _checksums_ingested_on_other_dates(ctx, source.name)

    outcomes: list[FileOutcome] = []
    readable: dict[tuple[str, ...], list[DroppedFile]] = {}
    broken: list[tuple[DroppedFile, str]] = []
    for file in files:
        if file.checksum in seen_elsewhere:
            outcomes.append(
                FileOutcome(
                    file,
                    "duplicate",
                    reason=(f"same content already ingested for {seen_elsewhere[file.checksum]}"),
                )
            )
            continue
        if file.size == 0:
            outcomes.append(FileOutcome(file, "empty", reason="file is empty"))
            continue
        try:
            header = tuple(read_header(file.path, source)) if source.csv.header else ()
        except SourceError as error:
            broken.append((file, str(error)))
            continue
        missing = [c for c in source.columns if source.csv.header and c not in header]
        if missing:
            broken.append(
                (file, f"header lacks declared column(s) {missing}; found {list(header)}")
            )
            continue
        readable.setdefault(header, []).append(file)

    ingested_at = datetime.now(UTC)  # audit metadata only; never used to choose data
    bronze_parts: list[DataFrame] = []
    quarantine_parts: list[DataFrame] = []
    cached: list[DataFrame] = []
    for header, group in readable.items():
        # Parsed once and kept on local disk: the counts, bronze and quarantine all read it,
        # and Spark refuses to query the corrupt-record column of a raw CSV scan on its own.
        parsed = _read_csv(ctx, source, header, group, ingested_at).persist(_disk_only())
        cached.append(parsed)
        counts = _count_by_file(parsed)
        for file in group:
            read, bad = counts.get(str(file.path), (0, 0))
            outcomes.append(FileOutcome(file, "ingested", read, read - bad, bad))
        bronze_parts.append(_bronze_rows(parsed, source))
        quarantine_parts.append(
            _quarantined_rows(parsed, "malformed row: wrong number of fields or unbalanced quotes")
        )
    for file, reason in broken:
        rows = _whole_file(ctx, source, file, reason, ingested_at)
        count = rows.count()
        outcomes.append(FileOutcome(file, "quarantined", count, 0, count, reason))
        quarantine_parts.append(rows)
        logger.warning("source %s: quarantined %s whole: %s", source.name, file.path.name, reason)

    try:
        versions = _write(ctx, source, bronze_parts, quarantine_parts, outcomes)
    finally:
        for frame in cached:
            frame.unpersist()
    return outcomes, versions


def _disk_only() -> StorageLevel:
    from pyspark import StorageLevel

    return StorageLevel.DISK_ONLY


def _checksums_ingested_on_other_dates(ctx: RunContext, source: str) -> dict[str, str]:
    from pyspark.sql import functions as F

    if not ctx.lake.exists(tables.INGEST_MANIFEST):
        return {}
    rows = (
        ctx.lake.read(tables.INGEST_MANIFEST)
        .where((F.col("source") == source) & (F.col(tables.RUN_DATE) != F.lit(ctx.run_date)))
        .where(F.col("status").isin("ingested", "quarantined"))
        .select("checksum", F.col(tables.RUN_DATE).cast("string"))
        .collect()
    )
    return {r[0]: r[1] for r in rows}


def _read_csv(
    ctx: RunContext,
    source: SourceConfig,
    header: tuple[str, ...],
    files: list[DroppedFile],
    ingested_at: datetime,
) -> DataFrame:
    """All files sharing one header, read in one Spark job, as strings plus metadata."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from driftline.transforms import with_file_row_numbers

    names = list(header) if header else list(source.columns)
    schema = StructType([StructField(n, StringType()) for n in [*names, CORRUPT]])
    checksums = F.create_map(
        *[item for f in files for item in (F.lit(str(f.path)), F.lit(f.checksum))]
    )
    raw = (
        ctx.spark.read.schema(schema)
        .option("header", source.csv.header)
        .option("sep", source.csv.delimiter)
        .option("quote", source.csv.quote)
        .option("escape", source.csv.quote)
        .option("encoding", source.csv.encoding)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .csv([str(f.path) for f in files])
    )
    local_path = F.url_decode(F.regexp_replace(F.col("__dl_file_uri"), r"^file:(//)?", ""))
    return with_file_row_numbers(raw, "_row_number", "__dl_file_uri").select(
        *[F.col(c) for c in source.columns],
        F.col(CORRUPT),
        F.lit(source.name).alias("_source"),
        local_path.alias("_source_file"),
        checksums[local_path].alias("_file_checksum"),
        F.lit(ingested_at).alias("_ingested_at"),
        F.lit(ctx.run_date).alias(tables.RUN_DATE),
        F.col("_row_number"),
    )


def _count_by_file(parsed: DataFrame) -> dict[str, tuple[int, int]]:
    """Rows read and rows malformed per file, in one small aggregate."""
    from pyspark.sql import functions as F

    rows = parsed.groupBy("_source_file").agg(F.count(F.lit(1)), F.count(CORRUPT)).collect()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def _bronze_rows(parsed: DataFrame, source: SourceConfig) -> DataFrame:
    from pyspark.sql import functions as F

    return parsed.where(F.col(CORRUPT).isNull()).select(*source.columns, *METADATA_COLUMNS)


def _quarantined_rows(parsed: DataFrame, reason: str) -> DataFrame:
    from pyspark.sql import functions as F

    return parsed.where(F.col(CORRUPT).isNotNull()).select(
        F.col(CORRUPT).alias("_raw"), F.lit(reason).alias("_reason"), *METADATA_COLUMNS
    )


def _whole_file(
    ctx: RunContext, source: SourceConfig, file: DroppedFile, reason: str, ingested_at: datetime
) -> DataFrame:
    """Every line of an unreadable file, as raw text, so nothing is lost."""
    from pyspark.sql import functions as F

    from driftline.transforms import with_file_row_numbers

    lines = ctx.spark.read.option("wholetext", False).text(str(file.path))
    numbered = with_file_row_numbers(lines, "_row_number", "__dl_file_uri")
    if source.csv.header:
        numbered = numbered.where(F.col("_row_number") > 1).withColumn(
            "_row_number", F.col("_row_number") - 1
        )
    return numbered.select(
        F.col("value").alias("_raw"),
        F.lit(reason).alias("_reason"),
        F.lit(source.name).alias("_source"),
        F.lit(str(file.path)).alias("_source_file"),
        F.lit(file.checksum).alias("_file_checksum"),
        F.lit(ingested_at).alias("_ingested_at"),
        F.lit(ctx.run_date).alias(tables.RUN_DATE),
        F.col("_row_number"),
    )


def _union(parts: list[DataFrame]) -> DataFrame | None:
    if not parts:
        return None
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def _write(
    ctx: RunContext,
    source: SourceConfig,
    bronze_parts: list[DataFrame],
    quarantine_parts: list[DataFrame],
    outcomes: list[FileOutcome],
) -> dict[str, int]:
    """Replace this date's partitions of bronze, quarantine and the manifest.

    The manifest is written last: a crash before it leaves the date looking un-ingested, and
    the re-run replaces the same partitions again.
    """
    from pyspark.sql import functions as F

    partition = {tables.RUN_DATE: ctx.ds}
    metadata = ctx.commit_metadata("ingest")
    versions: dict[str, int] = {}

    bronze = _union(bronze_parts)
    if bronze is None:
        declared = ", ".join(f"`{c}` string" for c in source.columns)
        bronze = ctx.spark.createDataFrame([], f"{declared}, {METADATA_DDL}")
    written = ctx.lake.replace_partition(tables.bronze(source.name), bronze, partition, metadata)
    versions[written.table] = written.version

    quarantine = _union(quarantine_parts)
    if quarantine is None:
        quarantine = ctx.spark.createDataFrame([], f"_raw string, _reason string, {METADATA_DDL}")
    quarantine = quarantine.withColumn(tables.STAGE, F.lit("ingest"))
    q = ctx.lake.replace_partition(
        tables.quarantine(source.name), quarantine, {tables.STAGE: "ingest", **partition}, metadata
    )
    versions[q.table] = q.version

    expected_bronze = sum(o.rows_bronze for o in outcomes)
    expected_quarantine = sum(o.rows_quarantined for o in outcomes)
    if (written.rows, q.rows) != (expected_bronze, expected_quarantine):
        raise SourceError(
            f"source {source.name}: row accounting failed for {ctx.ds}: counted "
            f"{expected_bronze} good / {expected_quarantine} bad rows but wrote "
            f"{written.rows} to bronze and {q.rows} to quarantine; the manifest was not "
            "updated, re-run the task"
        )

    manifest = ctx.spark.createDataFrame(
        [
            (
                source.name,
                o.file.path.name,
                str(o.file.path),
                o.file.checksum,
                o.file.size,
                o.rows_read,
                o.rows_bronze,
                o.rows_quarantined,
                o.status,
                o.reason,
                ctx.run_date,
            )
            for o in outcomes
        ],
        "source string, file_name string, file_path string, checksum string, size_bytes long, "
        "rows_read long, rows_bronze long, rows_quarantined long, status string, "
        f"reason string, {tables.RUN_DATE} date",
    ).withColumn("run_id", F.lit(ctx.run_id))
    m = ctx.lake.replace_partition(
        tables.INGEST_MANIFEST, manifest, {"source": source.name, **partition}, metadata
    )
    versions[m.table] = m.version
    return versions
