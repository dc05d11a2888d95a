"""Ingest: what a source delivered for the run date into `bronze/<source>`, every row
accounted for.

Files come from a local drop folder, SFTP, S3 or a SQL extract (`driftline.sources`), are
unpacked and decoded, and parsed by Spark in one job per group of alike files. A row that
cannot be parsed goes to `quarantine/<source>` with its raw text and a reason; a file that
is broken as a whole (truncated archive, undecodable, missing or mistyped column) is
quarantined whole and the other files go on. The `ingest_manifest` records, per delivered
file, rows read = rows in bronze + rows in quarantine, and makes ingest exactly-once: a file
whose content was already ingested for another date is not ingested again.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from driftline.context import RunContext, StepResult
from driftline.core import tables
from driftline.core.errors import SourceError
from driftline.core.source_config import SourceConfig
from driftline.sources.acquire import acquire
from driftline.sources.files import DroppedFile
from driftline.sources.readers import CORRUPT, FILE, REASON, ROW, Parsed, line_records, read
from driftline.sources.sql import Watermarks
from driftline.sources.staging import fresh_dir
from driftline.sources.unpack import TEXT_FORMATS, Member, members

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

logger = logging.getLogger(__name__)

METADATA_DDL = tables.BRONZE_METADATA_DDL
METADATA_COLUMNS = tables.BRONZE_METADATA
MANIFEST_DDL = (
    "source string, file_name string, file_path string, origin string, checksum string, "
    "size_bytes long, rows_read long, rows_bronze long, rows_quarantined long, status string, "
    "reason string, new_columns string, watermark_from string, watermark_to string, "
    f"{tables.RUN_DATE} date"
)


@dataclass
class FileOutcome:
    """What became of one delivered file (all its archive members together)."""

    file: DroppedFile | None
    status: str  # ingested | duplicate | empty | quarantined | not_ready
    name: str = ""
    rows_read: int = 0
    rows_bronze: int = 0
    rows_quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # undeclared columns the file carried

    @property
    def reason(self) -> str | None:
        return "; ".join(self.reasons) or None


def run(ctx: RunContext, source: str | None = None) -> StepResult:
    """Ingest one source (an Airflow mapped task) or, without `source`, all of them."""
    names = [source] if source else [s.name for s in ctx.pipeline.sources]
    result = StepResult("ingest", ctx.ds)
    for name in names:
        outcomes, versions, new_columns = ingest_source(ctx, ctx.pipeline.source(name))
        result.table_versions.update(versions)
        result.metrics[name] = {
            "files": len(outcomes),
            "rows_read": sum(o.rows_read for o in outcomes),
            "rows_bronze": sum(o.rows_bronze for o in outcomes),
            "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
            "duplicates": sum(o.status == "duplicate" for o in outcomes),
            "quarantined_files": sum(o.status == "quarantined" for o in outcomes),
            "not_ready": sum(o.status == "not_ready" for o in outcomes),
            "new_columns": new_columns,
        }
    return result


def ingest_source(
    ctx: RunContext, source: SourceConfig
) -> tuple[list[FileOutcome], dict[str, int], list[str]]:
    delivered = acquire(ctx.settings, source, ctx.run_date, _watermarks(ctx, source))
    logger.info("source %s: %d file(s) for %s", source.name, len(delivered.files), ctx.ds)
    seen_elsewhere = _checksums_ingested_on_other_dates(ctx, source.name)
    workdir = fresh_dir(ctx.settings.resolved_staging_root, source.name, ctx.run_date, "unpacked")

    outcomes = [FileOutcome(None, "not_ready", name) for name in delivered.not_ready]
    by_file: dict[str, FileOutcome] = {}
    readable: list[Member] = []
    broken: list[tuple[Member | DroppedFile, str]] = []
    seen_today: dict[str, str] = {}
    for index, file in enumerate(delivered.files):
        outcome = FileOutcome(file, "ingested", file.name)
        outcomes.append(outcome)
        if file.size == 0:
            outcome.status = "empty"
            outcome.reasons.append("file is empty")
            continue
        if file.checksum in seen_elsewhere:
            outcome.status = "duplicate"
            outcome.reasons.append(
                f"same content already ingested for {seen_elsewhere[file.checksum]}"
            )
            continue
        if file.checksum in seen_today:
            outcome.status = "duplicate"
            outcome.reasons.append(f"same content as {seen_today[file.checksum]} in this drop")
            continue
        seen_today[file.checksum] = file.name
        by_file[file.checksum] = outcome
        try:
            readable.extend(members(source, file, workdir, index))
        except SourceError as error:
            broken.append((file, str(error)))

    parsed, broken_members = read(ctx.spark, source, readable)
    broken.extend(broken_members)

    ingested_at = datetime.now(UTC)  # audit metadata only; never used to choose data
    extras, added = _bronze_extras(ctx, source, [g.extra_columns for g in parsed])
    # Every readable member and every file quarantined whole gets a number, which the
    # write groups its files by, so each one's rows are counted from the files written.
    units: list[tuple[str, str]] = [(m.parent.checksum, m.label) for m in readable]
    unit_of = {os.path.abspath(m.path): i for i, m in enumerate(readable)}
    parts: list[DataFrame] = []
    for group in parsed:
        frame = _with_lineage(
            ctx,
            source,
            group,
            [unit_of[os.path.abspath(f)] for f in group.files],
            units,
            ingested_at,
        )
        parts.append(_unified(frame, source, extras))
        for member in group.members:
            by_file[member.parent.checksum].columns.update(group.extra_columns)
    whole: dict[str, tuple[DroppedFile, str]] = {}
    for item, reason in broken:
        file = item.parent if isinstance(item, Member) else item
        label = item.label if isinstance(item, Member) else item.name
        units.append((file.checksum, label))
        quarantined = _whole_file(ctx, source, item, reason, ingested_at, len(units) - 1)
        parts.append(_unified(quarantined, source, extras))
        whole[label] = (file, reason)
        logger.warning("source %s: quarantined %s whole: %s", source.name, label, reason)

    versions, counts = _write_rows(ctx, source, parts, extras)
    for (unit, target), rows in sorted(counts.items()):
        checksum, label = units[unit]
        outcome = by_file[checksum]
        outcome.rows_read += rows
        if target == BRONZE:
            outcome.rows_bronze += rows
        else:
            outcome.rows_quarantined += rows
            if label not in whole:
                outcome.reasons.append(f"{rows} malformed row(s) in {label}")
    for label, (file, reason) in whole.items():
        by_file[file.checksum].reasons.append(f"{label} quarantined whole: {reason}")
    for outcome in by_file.values():
        if outcome.rows_read == 0:
            outcome.status = "empty"
            outcome.reasons.append("no rows (empty or header only)")
        elif outcome.rows_bronze == 0:
            outcome.status = "quarantined"
    versions.update(_write_manifest(ctx, source, outcomes, added))
    return outcomes, versions, added


def _manifest_rows(ctx: RunContext, source: str) -> DataFrame | None:
    from pyspark.sql import functions as F

    if not ctx.lake.exists(tables.INGEST_MANIFEST):
        return None
    return ctx.lake.read(tables.INGEST_MANIFEST).where(F.col("source") == source)


def _checksums_ingested_on_other_dates(ctx: RunContext, source: str) -> dict[str, str]:
    from pyspark.sql import functions as F

    manifest = _manifest_rows(ctx, source)
    if manifest is None:
        return {}
    rows = (
        manifest.where(F.col(tables.RUN_DATE) != F.lit(ctx.run_date))
        .where(F.col("status").isin("ingested", "quarantined"))
        .select("checksum", F.col(tables.RUN_DATE).cast("string"))
        .collect()
    )
    return {r[0]: r[1] for r in rows}


def _watermarks(ctx: RunContext, source: SourceConfig) -> Watermarks:
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
        row = rows.orderBy(F.col(tables.RUN_DATE).desc()).select("watermark_to").first()
        return None if row is None else str(row[0])

    return Watermarks(
        after=latest(marks.where(F.col(tables.RUN_DATE) < F.lit(ctx.run_date))),
        up_to=latest(marks.where(F.col(tables.RUN_DATE) == F.lit(ctx.run_date))),
    )


def _with_lineage(
    ctx: RunContext,
    source: SourceConfig,
    group: Parsed,
    unit_of_file: list[int],
    units: list[tuple[str, str]],
    ingested_at: datetime,
) -> DataFrame:
    """Bronze's lineage columns: which delivered file (and archive member), which row.

    The reader numbers each row's file; the file's unit (see `ingest_source`), name and
    checksum are literal arrays indexed by it, or constants where the group is one file.
    """
    from pyspark.sql import functions as F

    def by_file(values: list[Any], kind: str) -> Column:
        if not values:  # no rows (an empty or header-only file)
            return F.lit(None).cast(kind)
        if len(set(values)) == 1:  # one file: a constant, cheaper per row than a lookup
            return F.lit(values[0]).cast(kind)
        return F.element_at(F.array(*[F.lit(v) for v in values]), F.col(FILE) + 1)

    return group.frame.select(
        "*",
        F.lit(source.name).alias("_source"),
        by_file([units[u][1] for u in unit_of_file], "string").alias("_source_file"),
        by_file([units[u][0] for u in unit_of_file], "string").alias("_file_checksum"),
        F.lit(ingested_at).alias("_ingested_at"),
        F.lit(ctx.run_date).alias(tables.RUN_DATE),
        by_file(unit_of_file, "int").alias(UNIT),
    )


def _whole_file(
    ctx: RunContext,
    source: SourceConfig,
    item: Member | DroppedFile,
    reason: str,
    ingested_at: datetime,
    unit: int,
) -> DataFrame:
    """Every line of a file that cannot be ingested, as raw text, so nothing is lost.

    A decoded text member is read by Spark; a file that did not decode is split into lines
    as Latin-1 (which maps every byte, so the raw bytes survive); a binary file (archive,
    Parquet) becomes one row pointing at its preserved copy.
    """
    from pyspark.sql import functions as F

    from driftline.core.transforms import with_file_row_numbers

    file = item.parent if isinstance(item, Member) else item
    label = item.label if isinstance(item, Member) else item.name
    lineage = [
        F.lit(reason).alias("_reason"),
        F.lit(source.name).alias("_source"),
        F.lit(label).alias("_source_file"),
        F.lit(file.checksum).alias("_file_checksum"),
        F.lit(ingested_at).alias("_ingested_at"),
        F.lit(ctx.run_date).alias(tables.RUN_DATE),
        F.lit(unit).alias(UNIT),
    ]
    skip = _header_lines(source)
    if isinstance(item, Member) and source.read_format in TEXT_FORMATS:
        lines = ctx.spark.read.text(str(item.path))
        counter = line_records(header=False, skip_blank=False)
        numbered, _ = with_file_row_numbers(lines, ROW, FILE, counter)
    elif source.read_format in TEXT_FORMATS and _is_plain(source, file):
        text = file.path.read_bytes().decode("latin-1")
        numbered = ctx.spark.createDataFrame(
            [(line, i + 1) for i, line in enumerate(text.splitlines())], f"value string, {ROW} long"
        )
    else:
        kept = _preserve(ctx, source, file)
        note = f"<{file.size} bytes, not readable as {source.read_format}; original kept at {kept}>"
        numbered = ctx.spark.createDataFrame([(note, 1)], f"value string, {ROW} long")
        skip = 0
    numbered = numbered.where(F.col(ROW) > skip).withColumn(ROW, F.col(ROW) - skip)
    return numbered.select(F.col("value").alias("_raw"), *lineage, F.col(ROW))


def _header_lines(source: SourceConfig) -> int:
    if source.read_format == "csv":
        return 1 if source.csv.header else 0
    if source.read_format == "fixed_width" and source.fixed_width is not None:
        return source.fixed_width.header_lines
    return 0


def _is_plain(source: SourceConfig, file: DroppedFile) -> bool:
    from driftline.sources.unpack import compression_of

    return compression_of(source, file.name) == "none"


def _preserve(ctx: RunContext, source: SourceConfig, file: DroppedFile) -> str:
    """Keep an unreadable file's bytes next to the lakehouse, where an operator can get them."""
    from pyarrow import fs as pafs

    from driftline.sources.staging import safe_name

    target = (
        f"{ctx.lake.root}/_quarantined_files/{source.name}/{ctx.ds}/"
        f"{file.checksum[:16]}-{safe_name(file.name)}"
    )
    filesystem, path = pafs.FileSystem.from_uri(target)
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    pafs.copy_files(str(file.path), path, destination_filesystem=filesystem)
    return target


TARGET = "__dl_target"
UNIT = "__dl_unit"  # the delivered file or archive member a row came from
BRONZE, QUARANTINE = "bronze", "quarantine"
QUARANTINE_COLUMNS = ("_raw", "_reason")


def _bronze_extras(
    ctx: RunContext, source: SourceConfig, found: list[list[str]]
) -> tuple[list[str], list[str]]:
    """(every undeclared column bronze keeps, those new with this date's files).

    Bronze keeps every column any file ever added (null where a file lacks it), so a date
    whose files lack a column does not drop it from the table.
    """
    table = tables.bronze(source.name)
    existing: list[str] = []
    if ctx.lake.exists(table):
        existing = [
            c
            for c in ctx.lake.read(table).columns
            if c not in source.columns and c not in METADATA_COLUMNS
        ]
    added = sorted({c for extras in found for c in extras} - set(existing))
    if added:
        logger.warning(
            "source %s: new column(s) %s added to %s (strings; declare them in the YAML to "
            "use them)",
            source.name,
            added,
            table,
        )
    return existing + added, added


def _unified(frame: DataFrame, source: SourceConfig, extras: list[str]) -> DataFrame:
    """Parsed or whole-file rows in the one shape the ingest write takes: bronze's columns,
    quarantine's `_raw`/`_reason`, lineage, and which table each row belongs to."""
    from pyspark.sql import functions as F

    if CORRUPT in frame.columns:  # parsed rows: the reader's verdict decides
        raw, reason = F.col(CORRUPT), F.col(REASON)
        target = F.when(F.col(CORRUPT).isNull(), F.lit(BRONZE)).otherwise(F.lit(QUARANTINE))
    else:  # a file quarantined whole
        raw, reason, target = F.col("_raw"), F.col("_reason"), F.lit(QUARANTINE)
    present = set(frame.columns)
    data = [
        (F.col(c) if c in present else F.lit(None)).cast("string").alias(c)
        for c in [*source.columns, *extras]
    ]
    return frame.select(
        *data,
        raw.alias("_raw"),
        reason.alias("_reason"),
        *[F.col(c) for c in METADATA_COLUMNS],
        F.lit("ingest").alias(tables.STAGE),
        target.alias(TARGET),
        F.col(UNIT),
    )


def _write_rows(
    ctx: RunContext, source: SourceConfig, parts: list[DataFrame], extras: list[str]
) -> tuple[dict[str, int], dict[tuple[int, str], int]]:
    """Replace this date's partitions of bronze and quarantine in one Spark write; return
    the versions and the committed rows per (unit, table).

    Every row goes to exactly one of the two tables. The counts come from the files each
    commit added (their Parquet footers), so the manifest records what the tables hold.
    """
    from driftline.lake.base import SplitTarget

    if parts:
        rows = parts[0]
        for part in parts[1:]:
            rows = rows.unionByName(part)
    else:
        declared = ", ".join(f"`{c}` string" for c in [*source.columns, *extras])
        rows = ctx.spark.createDataFrame(
            [],
            f"{declared}, _raw string, _reason string, {METADATA_DDL}, "
            f"{tables.STAGE} string, {TARGET} string, {UNIT} int",
        )
    lineage = [c for c in METADATA_COLUMNS if c != tables.RUN_DATE]
    written = ctx.lake.replace_partition_split(
        rows,
        TARGET,
        {
            BRONZE: SplitTarget(
                tables.bronze(source.name),
                [*source.columns, *extras, *lineage],
                {tables.RUN_DATE: ctx.ds},
            ),
            QUARANTINE: SplitTarget(
                tables.quarantine(source.name),
                [*QUARANTINE_COLUMNS, *lineage],
                {tables.STAGE: "ingest", tables.RUN_DATE: ctx.ds},
            ),
        },
        ctx.commit_metadata("ingest"),
        count_by=UNIT,
    )
    counts = {
        (int(unit), target): n
        for target, result in written.items()
        for unit, n in result.rows_by.items()
    }
    return {r.table: r.version for r in written.values()}, counts


def _write_manifest(
    ctx: RunContext, source: SourceConfig, outcomes: list[FileOutcome], added: list[str]
) -> dict[str, int]:
    """Written last: a crash before it leaves the date looking un-ingested, and the re-run
    replaces the same partitions again."""
    written = ctx.lake.replace_partition_rows(
        tables.INGEST_MANIFEST,
        [(*_manifest_row(source, o, added, ctx), ctx.run_id) for o in outcomes],
        f"{MANIFEST_DDL}, run_id string",
        {"source": source.name, tables.RUN_DATE: ctx.ds},
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
    )
