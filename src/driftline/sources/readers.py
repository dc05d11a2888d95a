"""Spark readers, one per format, that all produce the same shape of parsed rows.

Every reader returns the declared columns and any new ones as strings (bronze keeps what
the source said; typing happens after the quality gate), `_corrupt_record` holding the raw
text of a row that could not be parsed and `_reject_reason` saying why, the local path of
the file each row came from and its 1-based row number in that file.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from driftline.core.errors import SourceError
from driftline.core.source_config import SourceConfig
from driftline.core.transforms import BlockCounter
from driftline.sources.line_counts import records_per_block
from driftline.sources.unpack import Member

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

CORRUPT = "_corrupt_record"
REASON = "_reject_reason"
FILE = "__dl_file"  # the row's file: an index into `Parsed.files`
ROW = "_row_number"

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


@dataclass
class Parsed:
    frame: DataFrame
    members: list[Member]
    extra_columns: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # local paths, as `FILE` indexes them
    # Delivered column name -> bronze column, where they differ (recorded in the manifest).
    renamed: dict[str, str] = field(default_factory=dict)


def local_path(uri: str) -> Path:
    """The local file a Spark file URI (`file:///a%20b.csv`) names."""
    return Path(unquote(urlparse(uri).path))


def locator(members: list[Member]) -> Callable[[str], Path]:
    """The local copy of each file Spark names by its URI: a shared copy's
    (`s3a://bucket/staging/...`) is the member it was uploaded from; a local file is itself.
    The driver counts lines and quarantines from the local copy, never from the store."""

    def key(uri: str, encoded: bool) -> tuple[str, str, str]:
        # Spark names files URL-encoded; a shared copy's URI is as Driftline built it.
        parts = urlparse(uri)
        scheme = "s3" if parts.scheme in ("s3", "s3a") else parts.scheme or "file"
        path = unquote(parts.path) if encoded else parts.path
        return scheme, parts.netloc, posixpath.normpath(path)

    shared = {key(m.read_uri, encoded=False): m.path for m in members if m.read_uri}

    def locate(uri: str) -> Path:
        found = shared.get(key(uri, encoded=True))
        if found is not None:
            return found
        if shared:
            raise SourceError(
                f"Spark read {uri}, which is none of the shared copies it was given; check "
                "that DRIFTLINE_STAGING_URI names its folder plainly (no %, # or ?)"
            )
        return local_path(uri)

    return locate


def column_name(raw: str, position: int | None = None) -> str:
    """A delivered column name as a bronze column, by one documented rule: accents are
    dropped, every run of other characters than letters and digits becomes `_`, and the
    result is case-folded (`Straße` -> `strasse`) (`PRECIPITAÇÃO TOTAL, HORÁRIO (mm)` ->
    `precipitacao_total_horario_mm`, `Hora UTC` -> `hora_utc`); a name that starts with a
    digit gets `c_` in front, and an empty one is `column_<position>` (1-based)."""
    folded = "".join(
        c
        for c in unicodedata.normalize("NFKD", raw.strip().casefold())
        if not unicodedata.combining(c)
    )
    name = _NOT_IDENTIFIER.sub("_", folded).strip("_")
    name = re.sub("_+", "_", name)
    if not name:
        return f"column_{position}" if position is not None else "column"
    return name if not name[0].isdigit() else f"c_{name}"


def bronze_names(delivered: list[str], source: SourceConfig) -> list[str]:
    """The bronze column of each delivered header name: the source's explicit `rename`
    first, then a declared name as is, then `column_name`'s rule."""
    names = []
    for position, raw in enumerate(delivered, start=1):
        if raw in source.csv.rename:
            names.append(source.csv.rename[raw])
        elif raw in source.columns:
            names.append(raw)
        else:
            names.append(column_name(raw, position))
    return names


def read(
    spark: SparkSession, source: SourceConfig, found: list[Member]
) -> tuple[list[Parsed], list[tuple[Member, str]]]:
    """Parse `found` the way the source's format says: (parsed groups, broken members)."""
    readers = {
        "csv": _csv,
        "jsonl": _jsonl,
        "parquet": _parquet,
        "fixed_width": _fixed_width,
    }
    return readers[source.read_format](spark, source, found)


def line_records(
    header: bool, skip_blank: bool, locate: Callable[[str], Path] = local_path
) -> BlockCounter:
    """Rows per block of a line-based file, counted on the driver (from the local copy that
    `locate` finds for Spark's URI) where that is exact."""

    def count(uri: str, starts: list[int]) -> list[int] | None:
        return records_per_block(locate(uri), starts, header, skip_blank)

    return count


def _finish(
    scan: DataFrame,
    source: SourceConfig,
    members: list[Member],
    extras: list[str],
    reason: Column,
    count_blocks: BlockCounter | None = None,
) -> Parsed:
    """Number the rows of each file and put the common columns in their common order."""
    from pyspark.sql import functions as F

    from driftline.core.transforms import with_file_row_numbers

    numbered, uris = with_file_row_numbers(scan, ROW, FILE, count_blocks)
    locate = locator(members)
    frame = numbered.select(
        *[F.col(c).cast("string").alias(c) for c in [*source.columns, *extras]],
        F.col(CORRUPT),
        F.when(F.col(CORRUPT).isNotNull(), reason).alias(REASON),
        F.col(FILE),
        F.col(ROW),
    )
    return Parsed(frame, members, extras, [locate(u) for u in uris])


# -- CSV -------------------------------------------------------------------------------------


def header_of(member: Member, source: SourceConfig) -> list[str]:
    with member.path.open("r", encoding="utf-8", newline="") as handle:
        first = handle.readline()
    reader = csv.reader(
        io.StringIO(first), delimiter=source.csv.delimiter, quotechar=source.csv.quote
    )
    return [name.strip() for name in next(reader, [])]


def csv_columns(
    member: Member, source: SourceConfig
) -> tuple[list[str], dict[str, str], str | None]:
    """(the bronze column of each of the file's columns, the delivered names that were
    renamed, what is wrong with its header: None when nothing)."""
    if not source.csv.header:
        return list(source.columns), {}, None
    delivered = header_of(member, source)
    names = bronze_names(delivered, source)
    renamed = {raw: name for raw, name in zip(delivered, names, strict=True) if raw != name}
    return names, renamed, _header_problem(names, source)


def _csv(
    spark: SparkSession, source: SourceConfig, found: list[Member]
) -> tuple[list[Parsed], list[tuple[Member, str]]]:
    from pyspark.sql.types import StringType, StructField, StructType

    groups: dict[tuple[str, ...], list[Member]] = {}
    broken: list[tuple[Member, str]] = []
    renamed: dict[tuple[str, ...], dict[str, str]] = {}
    for member in found:
        if member.path.stat().st_size == 0:
            groups.setdefault((), []).append(member)  # nothing to read: no rows
            continue
        names, mapping, problem = csv_columns(member, source)
        if problem:
            broken.append((member, problem))
        else:
            groups.setdefault(tuple(names), []).append(member)
            renamed.setdefault(tuple(names), {}).update(mapping)

    parsed = []
    for header, members in groups.items():
        if not header:
            continue
        schema = StructType([StructField(n, StringType()) for n in [*header, CORRUPT]])
        scan = (
            spark.read.schema(schema)
            .option("header", source.csv.header)
            .option("sep", source.csv.delimiter)
            .option("quote", source.csv.quote)
            .option("escape", source.csv.quote)
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT)
            .csv([m.spark_path for m in members])
        )
        extras = [n for n in header if n not in source.columns]
        reason = _malformed_reason(len(header), source.csv.delimiter, source.csv.quote)
        # One record per non-blank line (multi-line records are off), so lines count rows.
        counter = line_records(source.csv.header, skip_blank=True, locate=locator(members))
        group = _finish(scan, source, members, extras, reason, counter)
        group.renamed = renamed.get(header, {})
        parsed.append(group)
    empty = groups.get((), [])
    if empty:
        parsed.append(Parsed(_no_rows(spark, source), empty))
    return parsed, broken


def _malformed_reason(expected: int, delimiter: str, quote: str) -> Column:
    """Why Spark could not parse a line, as expected vs found fields: the delimiters
    outside quoted fields are counted (an odd number of quotes is reported as such)."""
    from pyspark.sql import functions as F

    raw = F.regexp_replace(F.col(CORRUPT), "[\r\n]+$", "")
    quotes = F.length(raw) - F.length(F.replace(raw, F.lit(quote), F.lit("")))
    q = re.escape(quote)
    unquoted = F.regexp_replace(raw, f"{q}[^{q}]*{q}", "")
    found = F.length(unquoted) - F.length(F.replace(unquoted, F.lit(delimiter), F.lit(""))) + 1
    return F.when(
        quotes % 2 == 1,
        F.lit(f"malformed row: unbalanced quotes (expected {expected} fields)"),
    ).otherwise(
        F.concat(F.lit(f"malformed row: expected {expected} fields, found "), found.cast("string"))
    )


def _header_problem(names: list[str], source: SourceConfig) -> str | None:
    missing = [c for c in source.columns if c not in names]
    if missing:
        return f"lacks declared column(s) {missing} (found {names}); fix the export or the YAML"
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        return f"repeats column(s) {repeated} in its header"
    return None


def _no_rows(spark: SparkSession, source: SourceConfig) -> DataFrame:
    declared = ", ".join(f"`{c}` string" for c in source.columns)
    return spark.createDataFrame(
        [], f"{declared}, {CORRUPT} string, {REASON} string, {FILE} int, {ROW} long"
    )


# -- JSON lines ------------------------------------------------------------------------------


def _json_keys(member: Member) -> set[str]:
    keys: set[str] = set()
    with member.path.open("r", encoding="utf-8") as handle:
        for line in handle:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                keys.update(value)
    return keys


def _jsonl(
    spark: SparkSession, source: SourceConfig, found: list[Member]
) -> tuple[list[Parsed], list[tuple[Member, str]]]:
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    groups: dict[tuple[str, ...], list[Member]] = {}
    broken: list[tuple[Member, str]] = []
    for member in found:
        keys = _json_keys(member)
        if not keys:
            groups.setdefault((), []).append(member)
            continue
        missing = [c for c in source.columns if c not in keys]
        if missing and len(missing) == len(source.columns):
            broken.append((member, f"no row has any declared column {list(source.columns)}"))
            continue
        if missing:
            broken.append((member, f"no row has declared column(s) {missing}"))
            continue
        extras = sorted(k for k in keys if k not in source.columns)
        groups.setdefault(tuple(extras), []).append(member)

    parsed = []
    for extras_key, members in groups.items():
        extras = list(extras_key)
        wanted = [*source.columns, *extras]
        schema = StructType([StructField(n, StringType()) for n in [*wanted, CORRUPT]])
        scan = (
            spark.read.schema(schema)
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT)
            .json([m.spark_path for m in members])
        )
        renamed = [column_name(e) if e not in source.columns else e for e in extras]
        for old, new in zip(extras, renamed, strict=True):
            if old != new:
                scan = scan.withColumnRenamed(old, new)
        reason = F.lit("malformed row: not a JSON object on one line")
        parsed.append(_finish(scan, source, members, renamed, reason))
    return parsed, broken


# -- Parquet ---------------------------------------------------------------------------------

# Which Arrow types can hold a declared type without losing meaning. Strings fit every
# declared type (they are parsed after the quality gate, like CSV).
_COMPATIBLE = {
    "int": ("int8", "int16", "int32", "uint8", "uint16"),
    "bigint": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"),
    "double": ("int8", "int16", "int32", "int64", "float", "double", "halffloat", "decimal"),
    "boolean": ("bool",),
    "date": ("date32", "date64", "timestamp"),
    "timestamp": ("timestamp", "date32", "date64"),
}


def parquet_problem(member: Member, source: SourceConfig) -> tuple[str | None, list[str]]:
    """(why the file cannot be read as the source, the file's undeclared columns)."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(member.path)
    except Exception as error:  # pyarrow raises ArrowInvalid / OSError for broken files
        return f"not a readable Parquet file ({error})", []
    types = {f.name: f.type for f in schema}
    missing = [c for c in source.columns if c not in types]
    if missing:
        return f"lacks declared column(s) {missing} (found {list(types)})", []
    for column, declared in source.columns.items():
        arrow = str(types[column])
        if declared == "string" or arrow in ("string", "large_string"):
            continue
        if not arrow.startswith(_COMPATIBLE[declared]):
            return (
                f"column {column!r} is {arrow} in the file but declared {declared}; "
                "fix the export or the YAML",
                [],
            )
    return None, [n for n in types if n not in source.columns]


def _parquet(
    spark: SparkSession, source: SourceConfig, found: list[Member]
) -> tuple[list[Parsed], list[tuple[Member, str]]]:
    from pyspark.sql import functions as F

    parsed: list[Parsed] = []
    broken: list[tuple[Member, str]] = []
    for member in found:
        if member.path.stat().st_size == 0:
            parsed.append(Parsed(_no_rows(spark, source), [member]))
            continue
        problem, raw_extras = parquet_problem(member, source)
        if problem:
            broken.append((member, problem))
            continue
        scan = spark.read.parquet(member.spark_path)
        extras = []
        for raw in raw_extras:
            name = column_name(raw)
            scan = scan.withColumnRenamed(raw, name)
            extras.append(name)
        scan = scan.withColumn(CORRUPT, F.lit(None).cast("string"))
        parsed.append(_finish(scan, source, [member], extras, F.lit(None)))
    return parsed, broken


# -- Fixed width -----------------------------------------------------------------------------


def _fixed_width(
    spark: SparkSession, source: SourceConfig, found: list[Member]
) -> tuple[list[Parsed], list[tuple[Member, str]]]:
    from pyspark.sql import functions as F

    from driftline.core.transforms import with_file_row_numbers

    layout = source.fixed_width
    assert layout is not None
    members = [m for m in found if m.path.stat().st_size > 0]
    parsed = []
    if members:
        lines = spark.read.text([m.spark_path for m in members])
        locate = locator(members)
        counter = line_records(header=False, skip_blank=False, locate=locate)
        numbered, uris = with_file_row_numbers(lines, "__dl_line", FILE, counter)
        body = numbered.where(F.col("__dl_line") > layout.header_lines).withColumn(
            ROW, F.col("__dl_line") - layout.header_lines
        )
        text = F.regexp_replace(F.col("value"), "\r$", "")
        length = F.length(text)
        too_short = length < layout.line_length
        wrong = (length != layout.line_length) if layout.strict_length else too_short
        reason = (
            F.when(F.trim(text) == "", F.lit("blank line"))
            .when(
                too_short,
                F.concat(
                    F.lit("line is "),
                    length.cast("string"),
                    F.lit(f" characters, the layout needs {layout.line_length}"),
                ),
            )
            .otherwise(
                F.concat(
                    F.lit("line is "),
                    length.cast("string"),
                    F.lit(f" characters, strict layout of {layout.line_length}"),
                )
            )
        )
        bad = (F.trim(text) == "") | wrong
        fields = [
            F.when(~bad, F.nullif(F.trim(F.substring(text, c.start, c.width)), F.lit(""))).alias(
                name
            )
            for name, c in layout.columns.items()
        ]
        frame = body.select(
            *fields,
            F.when(bad, F.col("value")).alias(CORRUPT),
            F.when(bad, reason).alias(REASON),
            F.col(FILE),
            F.col(ROW),
        )
        parsed.append(
            Parsed(
                frame.select(*source.columns, CORRUPT, REASON, FILE, ROW),
                members,
                files=[locate(u) for u in uris],
            )
        )
    empty = [m for m in found if m.path.stat().st_size == 0]
    if empty:
        parsed.append(Parsed(_no_rows(spark, source), empty))
    return parsed, []
