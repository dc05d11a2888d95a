"""The `sources:` part of the pipeline file: where a siloed source's data arrives, in what
format, with what columns.

Validated when the file loads, so a source that cannot be read (a sql source without a
table, a fixed-width layout with overlapping fields) fails at start-up, not at 02:00.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from driftline.core.validation import Identifier, Strict, check_identifier

# Spark SQL type names a source column may declare. Kept small on purpose: these are the
# types a legacy extract can be parsed into without guessing.
ColumnType = Literal["string", "int", "bigint", "double", "boolean", "date", "timestamp"]


class CsvOptions(Strict):
    """How a delimited export is laid out, including the habits of legacy exporters."""

    delimiter: str = Field(",", min_length=1, max_length=1)
    header: bool = True
    quote: str = Field('"', min_length=1, max_length=1)
    # "," for European exports (12,5): numeric columns are read with it as the decimal mark.
    decimal: Literal[".", ","] = "."
    # Metadata lines before the header (station name, export date ...): drop a fixed
    # number, or take the first line matching `header_pattern` (a regex) as the header.
    skip_lines: int = Field(0, ge=0, le=10_000)
    header_pattern: str | None = Field(None, min_length=1)
    # Every line ends with the delimiter (`a;b;c;`): the empty last field is not a column.
    trailing_delimiter: bool = False
    # Delivered header name -> column name, for names the documented rule would not map
    # to the declared one (see `sources.readers.column_name`).
    rename: dict[str, Identifier] = {}

    @field_validator("header_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a valid regular expression: {error}") from None
        return value

    @model_validator(mode="after")
    def _one_way_to_find_the_header(self) -> CsvOptions:
        if self.header_pattern is not None and not self.header:
            raise ValueError("header_pattern finds a header line; it needs header: true")
        if self.header_pattern is not None and self.skip_lines:
            raise ValueError("use either skip_lines or header_pattern, not both")
        targets = list(self.rename.values())
        repeated = sorted({t for t in targets if targets.count(t) > 1})
        if repeated:
            raise ValueError(f"rename maps several delivered names to {repeated}")
        if self.rename and not self.header:
            raise ValueError("rename maps header names; it needs header: true")
        return self

    @property
    def rewrites_lines(self) -> bool:
        """Whether files must be rewritten before Spark reads them (Spark's CSV reader can
        neither skip leading lines nor ignore a trailing delimiter)."""
        return bool(self.skip_lines or self.header_pattern or self.trailing_delimiter)


class FixedWidthColumn(Strict):
    """Where a field sits on a line: 1-based `start` and `width`, as layouts on paper say."""

    start: int = Field(ge=1)
    width: int = Field(ge=1)


class FixedWidthOptions(Strict):
    """The column layout of a fixed-width (mainframe/COBOL-style) export."""

    columns: dict[str, FixedWidthColumn]
    header_lines: int = Field(0, ge=0)
    # A line shorter than the layout is always malformed; with `strict_length` a longer one
    # is too (it usually means the layout changed).
    strict_length: bool = False

    @field_validator("columns")
    @classmethod
    def _layout_is_sane(cls, value: dict[str, FixedWidthColumn]) -> dict[str, FixedWidthColumn]:
        if not value:
            raise ValueError("a fixed-width layout needs at least one column")
        spans = sorted((c.start, c.start + c.width - 1, name) for name, c in value.items())
        for (_, end, left), (start, _, right) in itertools.pairwise(spans):
            if start <= end:
                raise ValueError(f"columns {left!r} and {right!r} overlap")
        for name in value:
            check_identifier(name)
        return value

    @property
    def line_length(self) -> int:
        return max(c.start + c.width - 1 for c in self.columns.values())


class ArrivalRule(Strict):
    """When a dropped file counts as complete, so a file still being written is not read.

    With `done_marker` (e.g. ".done") a file is ready once `<name><marker>` exists next to
    it; otherwise it is ready when its size and modification time are unchanged across a
    wait of `stable_seconds` (0 trusts the sender to rename into place atomically).
    """

    done_marker: str | None = Field(None, min_length=1, max_length=32)
    stable_seconds: float = Field(0, ge=0, le=3600)
    # For `on_arrival` sources: how often the deferred sensor of `driftline_file_drop`
    # looks, and how long it waits for the date's files before it gives up.
    poke_seconds: float = Field(300, ge=1, le=86_400)
    timeout_hours: float = Field(20, gt=0, le=168)

    @field_validator("done_marker")
    @classmethod
    def _marker_is_a_suffix(cls, value: str | None) -> str | None:
        if value is not None and ("/" in value or "\\" in value or value in {".", ".."}):
            raise ValueError("must be a file-name suffix such as '.done', not a path")
        return value


class LateFiles(Strict):
    """Files that land for a date whose night already ran, and corrected re-deliveries."""

    # rerun: each night looks back for them and re-runs the nightly of their date (ingest
    # replaces the date's partitions, so nothing is duplicated); ignore: an operator
    # re-runs the date (`driftline run --date D`) when they should count.
    action: Literal["rerun", "ignore"] = "rerun"
    lookback_days: int = Field(7, ge=1, le=366)
    # A file delivered again under the same name with other content: `replace` (its rows
    # replace the old file's when the date re-runs; the manifest records what replaced
    # what) or `ignore` (no re-run for it).
    corrections: Literal["replace", "ignore"] = "replace"


class SqlExtract(Strict):
    """A table of a legacy database, extracted in full or incrementally by a watermark.

    The declared `columns` are what is selected; names are validated here and quoted by
    SQLAlchemy, never pasted into SQL.
    """

    table: str = Field(min_length=1, max_length=257)
    # Incremental: only rows whose watermark is above the one recorded for the previous
    # extract. Without it every run extracts the whole table (unchanged content is then a
    # duplicate and not ingested again).
    watermark: Identifier | None = None
    fetch_rows: int = Field(50_000, ge=1)

    @field_validator("table")
    @classmethod
    def _schema_and_table(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) > 2:
            raise ValueError("use 'table' or 'schema.table'")
        for part in parts:
            check_identifier(part)
        return value

    @property
    def schema_and_name(self) -> tuple[str | None, str]:
        schema, _, name = self.table.rpartition(".")
        return (schema or None), name


# What a source's `path` may name, filled in per run.
PATH_PLACEHOLDERS = ("run_date", "run_hour")


class SourceConfig(Strict):
    """One siloed source: where its data arrives, in what format, with what columns.

    Credentials are never part of it: `conn_id` names an Airflow connection (which may come
    from an `AIRFLOW_CONN_*` environment variable).
    """

    name: Identifier
    kind: Literal["local", "sftp", "s3", "sql"] = "local"
    # local: a glob relative to the drop root; sftp: a remote glob (absolute or relative to
    # the login folder); s3: a key glob inside `bucket`. `{run_date}` is replaced by the
    # logical date (YYYY-MM-DD), so a run only ever picks the files of its own date, and in
    # an hourly pipeline `{run_hour}` by its hour (00-23).
    path: str | None = None
    conn_id: str | None = Field(None, min_length=1, max_length=250)
    bucket: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
    sql: SqlExtract | None = None
    format: Literal["csv", "jsonl", "parquet", "fixed_width"] = "csv"
    # "auto" unpacks by file-name suffix (.gz, .zip); a zip may hold several files.
    compression: Literal["auto", "none", "gzip", "zip"] = "auto"
    # The most a delivered archive may unpack to, all members together: one that unpacks to
    # more (a decompression bomb, or an extract far larger than agreed) is quarantined whole.
    max_unpacked_mb: int = Field(10_240, ge=1, le=10_485_760)
    encoding: str = "utf-8"
    csv: CsvOptions = CsvOptions()
    fixed_width: FixedWidthOptions | None = None
    # Spark datetime patterns for date and timestamp columns not written the ISO way, e.g.
    # {obs_date: "yyyy/MM/dd", obs_time: "HHmm 'UTC'", booked: "dd/MM/yyyy HH:mm"}.
    formats: dict[str, str] = {}
    # Values that mean "missing" besides an empty field, per column, or for every column
    # under "*": {"*": ["NULL"], rain_mm: ["-9999", "-"]}. Bronze keeps them as delivered.
    missing_values: dict[str, list[str]] = {}
    # A date on which nothing arrived (file sources): recorded in the ingest manifest as
    # `missing` and then `warn` (an alert), `block` (the task fails; nothing downstream
    # runs on no data) or `ignore`.
    when_missing: Literal["warn", "block", "ignore"] = "warn"
    # How many days after the data's own date its file arrives (a day's outcomes known the
    # next day: 1). The pipeline's first `lag_days` dates from `start_date` expect no file,
    # so a missing one there is logged, not alerted or blocked.
    lag_days: int = Field(0, ge=0, le=366)
    arrival: ArrivalRule = ArrivalRule()
    late_files: LateFiles = LateFiles()
    # Also watched by the `driftline_file_drop` DAG, which ingests it as soon as it lands.
    on_arrival: bool = False
    columns: dict[str, ColumnType]

    @field_validator("columns")
    @classmethod
    def _columns_are_identifiers(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a source must declare at least one column")
        for column in value:
            check_identifier(column)
        return value

    @field_validator("path")
    @classmethod
    def _path_stays_inside(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        if ".." in Path(value).parts:
            raise ValueError("must not contain '..'")
        if info.data.get("kind", "local") in ("local", "s3") and value.startswith("/"):
            raise ValueError("must be a glob relative to DRIFTLINE_DROP_ROOT (or the bucket)")
        from string import Formatter

        try:
            fields = {name for _, name, _, _ in Formatter().parse(value) if name is not None}
        except ValueError as error:
            raise ValueError(f"{error}: write a literal brace as {{{{ or }}}}") from None
        unknown = sorted(fields - set(PATH_PLACEHOLDERS))
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {unknown}: a path may name {list(PATH_PLACEHOLDERS)}"
            )
        return value

    def path_for(self, day: str, hour: str = "*") -> str:
        """The source's path for one run: its date, and its hour (any hour by default)."""
        assert self.path is not None
        return self.path.format(run_date=day, run_hour=hour)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (try utf-8, latin-1, cp1252)") from None
        return value

    @model_validator(mode="after")
    def _kind_has_what_it_needs(self) -> SourceConfig:
        self._formats_and_markers_name_columns()
        if self.kind == "sql":
            if self.sql is None:
                raise ValueError("a sql source needs `sql: {table: ...}`")
            if self.conn_id is None:
                raise ValueError("a sql source needs `conn_id` (an Airflow connection)")
            if self.sql.watermark and self.sql.watermark not in self.columns:
                raise ValueError(f"sql.watermark {self.sql.watermark!r} is not a declared column")
            if self.on_arrival:
                raise ValueError("on_arrival watches for files; a sql source has none")
            return self
        if self.sql is not None:
            raise ValueError("`sql` is only for kind: sql")
        if self.path is None:
            raise ValueError(f"a {self.kind} source needs `path`")
        if self.kind in ("sftp", "s3") and self.conn_id is None:
            raise ValueError(f"a {self.kind} source needs `conn_id` (an Airflow connection)")
        if self.kind == "s3" and self.bucket is None:
            raise ValueError("an s3 source needs `bucket`")
        if self.format == "fixed_width":
            if self.fixed_width is None:
                raise ValueError("format fixed_width needs a `fixed_width.columns` layout")
            if set(self.fixed_width.columns) != set(self.columns):
                raise ValueError(
                    "fixed_width.columns must lay out exactly the declared columns; differ: "
                    f"{sorted(set(self.fixed_width.columns) ^ set(self.columns))}"
                )
        return self

    def _formats_and_markers_name_columns(self) -> None:
        for column in self.formats:
            if self.columns.get(column) not in ("date", "timestamp"):
                raise ValueError(
                    f"formats.{column}: only a declared date or timestamp column takes a "
                    f"format (declared: {self.columns.get(column, 'not a column')})"
                )
        unknown = sorted(set(self.missing_values) - {*self.columns, "*"})
        if unknown:
            raise ValueError(f"missing_values names undeclared column(s) {unknown}")

    def missing_markers(self, column: str) -> list[str]:
        return [*self.missing_values.get("*", []), *self.missing_values.get(column, [])]

    @property
    def read_format(self) -> str:
        """What Spark reads: SQL extracts are staged as Parquet whatever `format` says."""
        return "parquet" if self.kind == "sql" else self.format
