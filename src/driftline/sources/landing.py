"""How a source's rows land: bronze and quarantine in one shape, with their lineage, and
written by one split write that replaces the run date's partitions of both tables.

A parsed row goes to bronze, or to quarantine with its raw text and the reader's reason; a
file that cannot be parsed at all lands in quarantine line by line (or as a pointer to its
preserved bytes), so every delivered row is in exactly one of the two tables.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from driftline.context import RunContext
from driftline.core import object_store, tables
from driftline.core.source_config import SourceConfig
from driftline.sources.files import DroppedFile
from driftline.sources.readers import (
    CORRUPT,
    FILE,
    REASON,
    ROW,
    Parsed,
    line_records,
    locator,
)
from driftline.sources.unpack import TEXT_FORMATS, Member

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

logger = logging.getLogger(__name__)

TARGET = "__dl_target"
UNIT = "__dl_unit"  # the delivered file or archive member a row came from
BRONZE, QUARANTINE = "bronze", "quarantine"
QUARANTINE_COLUMNS = ("_raw", "_reason")


def with_lineage(
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
        *ctx.interval.literals(),
        by_file(unit_of_file, "int").alias(UNIT),
    )


def whole_file(
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
        *ctx.interval.literals(),
        F.lit(unit).alias(UNIT),
    ]
    skip = _header_lines(source)
    if isinstance(item, Member) and source.read_format in TEXT_FORMATS:
        lines = ctx.spark.read.text(item.spark_path)
        counter = line_records(header=False, skip_blank=False, locate=locator([item]))
        numbered, _ = with_file_row_numbers(lines, ROW, FILE, counter)
    elif source.read_format in TEXT_FORMATS and _is_plain(source, file):
        if source.read_format == "csv" and source.csv.rewrites_lines:
            skip = 0  # where its header is, is what could not be found: keep every line
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
    filesystem, path = object_store.filesystem(target)
    filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
    pafs.copy_files(str(file.path), path, destination_filesystem=filesystem)
    return target


def bronze_extras(
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
            if c not in source.columns and c not in tables.bronze_metadata(ctx.pipeline.hourly)
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


def unified(frame: DataFrame, source: SourceConfig, extras: list[str], hourly: bool) -> DataFrame:
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
        *[F.col(c) for c in tables.bronze_metadata(hourly)],
        F.lit("ingest").alias(tables.STAGE),
        target.alias(TARGET),
        F.col(UNIT),
    )


def write_rows(
    ctx: RunContext,
    source: SourceConfig,
    parts: list[DataFrame],
    extras: list[str],
    staged: str | None = None,
) -> tuple[dict[str, int], dict[tuple[int, str], int]]:
    """Replace this date's partitions of bronze and quarantine in one Spark write (with
    the rows Arrow already wrote under `staged`, `sources.arrow_csv`); return the versions
    and the committed rows per (unit, table).

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
            f"{declared}, _raw string, _reason string, "
            f"{tables.bronze_metadata_ddl(ctx.pipeline.hourly)}, "
            f"{tables.STAGE} string, {TARGET} string, {UNIT} int",
        )
    partition = ctx.interval.partition
    lineage = [c for c in tables.bronze_metadata(ctx.pipeline.hourly) if c not in partition]
    written = ctx.lake.replace_partition_split(
        rows,
        TARGET,
        {
            BRONZE: SplitTarget(
                tables.bronze(source.name),
                [*source.columns, *extras, *lineage],
                partition,
            ),
            QUARANTINE: SplitTarget(
                tables.quarantine(source.name),
                [*QUARANTINE_COLUMNS, *lineage],
                {tables.STAGE: "ingest", **partition},
            ),
        },
        ctx.commit_metadata("ingest"),
        count_by=UNIT,
        staged=staged,
    )
    counts = {
        (int(unit), target): n
        for target, result in written.items()
        for unit, n in result.rows_by.items()
    }
    return {r.table: r.version for r in written.values()}, counts
