"""The contract every Delta backend honours, and the facade steps use."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from driftline.core.errors import TableNotFoundError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteResult:
    """What a commit produced: the new table version and how many rows it wrote (and,
    for a split write counting by a column, how many of each of its values)."""

    table: str
    version: int
    rows: int
    rows_by: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Commit:
    """A backend's answer to a write: the version it committed and the rows in its files."""

    version: int
    rows: int
    rows_by: dict[str, int] = field(default_factory=dict)


# How long superseded versions stay readable by default: seven years, a common record
# retention in regulated industries. `DRIFTLINE_AUDIT_RETENTION_DAYS` sets it.
DEFAULT_RETENTION_DAYS = 2555


def retention_properties(days: int) -> dict[str, str]:
    """Delta table properties that keep `days` of history: the log entries time travel
    reads (Delta's default is 30 days) and the files of removed versions (7 days)."""
    interval = f"interval {days} days"
    return {"delta.logRetentionDuration": interval, "delta.deletedFileRetentionDuration": interval}


@dataclass(frozen=True)
class Maintenance:
    """What one table's maintenance reclaimed."""

    table: str
    files_removed: int
    staging_folders_removed: int = 0


@dataclass(frozen=True)
class SplitTarget:
    """Where the rows of one value of a split column go: a table, the columns it keeps,
    and the partition they replace (its columns must be constant columns of the frame)."""

    table: str
    columns: list[str]
    partition: dict[str, str]


class TableBackend(Protocol):
    """Operations on one Delta table at `uri`.

    Every write is one atomic Delta commit: either all of its files become visible in the
    new version or none do, so a crash mid-write leaves the previous version readable.
    """

    name: str

    def exists(self, uri: str) -> bool: ...

    def read(self, uri: str, version: int | None) -> DataFrame: ...

    def append(
        self, uri: str, df: DataFrame, partition_by: list[str], metadata: dict[str, str]
    ) -> Commit: ...

    def replace_partition(
        self,
        uri: str,
        df: DataFrame,
        partition: dict[str, str],
        partition_by: list[str],
        metadata: dict[str, str],
    ) -> Commit: ...

    def replace_partition_rows(
        self,
        uri: str,
        rows: pa.Table,
        partition: dict[str, str],
        metadata: dict[str, str],
    ) -> Commit: ...

    def merge(
        self,
        uri: str,
        df: DataFrame,
        keys: list[str],
        order_by: list[str],
        partition_by: list[str],
        metadata: dict[str, str],
    ) -> Commit: ...

    def version(self, uri: str) -> int: ...

    def history(self, uri: str) -> list[dict[str, Any]]: ...

    def partition_rows(
        self, uri: str, partition: dict[str, str], version: int | None
    ) -> int | None: ...

    def maintain(self, uri: str, retention_days: int) -> Maintenance: ...


class Lake:
    """The lakehouse rooted at `root`: tables are addressed by name (`bronze/customers`)."""

    def __init__(self, root: str, spark: SparkSession, backend: TableBackend) -> None:
        self.root = root.rstrip("/")
        self.spark = spark
        self.backend = backend

    def uri(self, table: str) -> str:
        if not table or table.startswith("/") or ".." in table.split("/"):
            raise ValueError(f"invalid table name {table!r}")
        return f"{self.root}/{table}"

    def exists(self, table: str) -> bool:
        return self.backend.exists(self.uri(table))

    def staging_uri(self, table: str) -> str:
        """A new folder inside `table`'s staging area for Parquet files written outside
        Spark's writer (Arrow on the executors), on the table's own storage so a commit
        can move them in; no reader looks there, and `maintain` removes one a crash left."""
        from driftline.lake.delta_files import STAGING_DIR

        return f"{self.uri(table)}/{STAGING_DIR}/{uuid.uuid4().hex}"

    def read(self, table: str, version: int | None = None) -> DataFrame:
        """The table at `version` (time travel) or at its latest version."""
        if not self.exists(table):
            raise TableNotFoundError(
                f"Delta table {table!r} does not exist under {self.root}: run the step that "
                "writes it first (for a new lakehouse, `driftline demo` or the nightly DAG)"
            )
        return self.backend.read(self.uri(table), version)

    def append(
        self,
        table: str,
        df: DataFrame,
        partition_by: list[str] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> WriteResult:
        commit = self.backend.append(self.uri(table), df, partition_by or [], metadata or {})
        logger.info("appended %d rows to %s (version %d)", commit.rows, table, commit.version)
        return WriteResult(table, commit.version, commit.rows)

    def replace_partition(
        self,
        table: str,
        df: DataFrame,
        partition: dict[str, str],
        metadata: dict[str, str] | None = None,
    ) -> WriteResult:
        """Atomically swap the rows of one partition for `df` (idempotent re-runs).

        `partition` maps each partition column to its value; `df` must only hold rows of it.
        """
        commit = self.backend.replace_partition(
            self.uri(table), df, partition, list(partition), metadata or {}
        )
        return _replaced(partition, WriteResult(table, commit.version, commit.rows))

    def replace_partition_rows(
        self,
        table: str,
        rows: list[tuple[Any, ...]],
        ddl: str,
        partition: dict[str, str],
        metadata: dict[str, str] | None = None,
    ) -> WriteResult:
        """`replace_partition` for a few rows built on the driver (a manifest, metrics,
        validation results), in the schema `ddl` (Spark DDL, as `createDataFrame` takes).

        Such rows need no Spark job: on the delta-rs backend they are written as one
        Parquet file and committed directly, which saves a job per small table per step.
        """
        import pyarrow as pa
        from pyspark.sql.pandas.types import to_arrow_schema
        from pyspark.sql.types import StructType, _parse_datatype_string

        schema = _parse_datatype_string(ddl)
        assert isinstance(schema, StructType), ddl
        arrow = pa.Table.from_pylist(
            [dict(zip(schema.names, row, strict=True)) for row in rows],
            schema=to_arrow_schema(schema, timezone="UTC"),
        )
        commit = self.backend.replace_partition_rows(
            self.uri(table), arrow, partition, metadata or {}
        )
        return _replaced(partition, WriteResult(table, commit.version, commit.rows))

    def replace_partition_split(
        self,
        df: DataFrame,
        by: str,
        targets: dict[str, SplitTarget],
        metadata: dict[str, str] | None = None,
        count_by: str | None = None,
        staged: str | None = None,
    ) -> dict[str, WriteResult]:
        """Replace one partition in each of several tables with the rows of `df` whose `by`
        column holds that target's key; every row goes to exactly one table.

        With `count_by`, each result also says how many rows it took of each value of that
        column (ingest counts the rows of every delivered file this way).

        `staged` (from `staging_uri`) holds more rows as Parquet files others wrote, laid
        out as Spark would write `df` partitioned by `by` and `count_by`
        (`<by>=<value>/<count_by>=<key>/`), with `df`'s columns less the targets' partition
        columns; they are committed with `df`'s rows and the folder is removed.

        Backends that can (delta-rs) write `df` once and commit each table's share of the
        files, counting from the files' footers; others get one partition replace per
        table from a cached frame, and one aggregation for the counts.
        """
        native = getattr(self.backend, "replace_partition_split", None)
        if native is not None:
            commits = native(
                df,
                by,
                {v: (self.uri(t.table), t.columns, t.partition) for v, t in targets.items()},
                metadata or {},
                count_by,
                staged,
            )
            return {
                v: _replaced(
                    targets[v].partition,
                    WriteResult(targets[v].table, c.version, c.rows, c.rows_by),
                )
                for v, c in commits.items()
            }
        try:
            if staged is not None:
                df = df.unionByName(self._read_staged(df, staged, targets))
            return self._split_by_partition_replaces(df, by, targets, metadata, count_by)
        finally:
            if staged is not None:
                from driftline.lake import delta_files

                filesystem, path = delta_files.filesystem(staged)
                delta_files.remove_dir(filesystem, path)

    def _read_staged(
        self, df: DataFrame, staged: str, targets: dict[str, SplitTarget]
    ) -> DataFrame:
        """The staged files as `df`'s rows: the folder names give `by` and `count_by`, and
        every target's partition columns (constants of `df`) are filled in."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import StructType

        from driftline.lake.delta_files import spark_uri

        constants = {k: v for t in targets.values() for k, v in t.partition.items()}
        stored = [f for f in df.schema.fields if f.name not in constants]
        rows = self.spark.read.schema(StructType(stored)).parquet(spark_uri(staged))
        return rows.select(
            *[
                F.lit(constants[f.name]).cast(f.dataType).alias(f.name)
                if f.name in constants
                else F.col(f.name)
                for f in df.schema.fields
            ]
        )

    def _split_by_partition_replaces(
        self,
        df: DataFrame,
        by: str,
        targets: dict[str, SplitTarget],
        metadata: dict[str, str] | None,
        count_by: str | None,
    ) -> dict[str, WriteResult]:
        from pyspark.sql import functions as F

        cached = df.persist()
        try:
            counts: dict[str, dict[str, int]] = {value: {} for value in targets}
            if count_by is not None:
                for value, key, n in cached.groupBy(by, count_by).count().collect():
                    if value in counts:
                        counts[value][str(key)] = int(n)
            results = {}
            for value, target in targets.items():
                written = self.replace_partition(
                    target.table,
                    cached.where(F.col(by) == value).select(*target.columns, *target.partition),
                    target.partition,
                    metadata,
                )
                results[value] = WriteResult(
                    written.table, written.version, written.rows, counts[value]
                )
            return results
        finally:
            cached.unpersist()

    def merge(
        self,
        table: str,
        df: DataFrame,
        keys: list[str],
        order_by: list[str],
        partition_by: list[str] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> WriteResult:
        """Upsert `df` on `keys`; when a key is in both, the row largest by `order_by` wins.

        Ordering instead of "source always wins" keeps a re-run of an old date from
        overwriting newer data that later dates already merged.
        """
        commit = self.backend.merge(
            self.uri(table), df, keys, order_by, partition_by or [], metadata or {}
        )
        logger.info(
            "merged into %s on %s: %d rows now (version %d)",
            table,
            keys,
            commit.rows,
            commit.version,
        )
        return WriteResult(table, commit.version, commit.rows)

    def _require(self, table: str) -> None:
        if not self.exists(table):
            raise TableNotFoundError(f"Delta table {table!r} does not exist under {self.root}")

    def partition_rows(
        self, table: str, partition: dict[str, str], version: int | None = None
    ) -> int | None:
        """Rows in one partition, from the Delta log's per-file statistics (no scan), or
        None where the backend cannot tell without reading the data."""
        self._require(table)
        return self.backend.partition_rows(self.uri(table), partition, version)

    def data_files(
        self, table: str, partition: dict[str, str], version: int | None = None
    ) -> list[str] | None:
        """The Parquet files holding one partition of `table` at `version`, for work that
        scans files itself (Arrow tasks on the executors) instead of through Spark's
        reader; None when the table's files cannot be read alone (deletion vectors,
        column mapping), so the caller reads the table with `read`."""
        from driftline.lake import delta_files

        return delta_files.partition_file_uris(self.uri(table), partition, version)

    def maintain(self, table: str, retention_days: int) -> Maintenance:
        """VACUUM `table`: delete files no version younger than `retention_days` needs.

        Time travel, which audits and the promotion gate rely on, reaches back exactly that
        far afterwards, so the retention also becomes the table's Delta log and deleted-file
        retention. Files of writes that crashed before their commit are reclaimed too, once
        older than the retention (the delta-rs backend also clears its staging folders).
        """
        self._require(table)
        done = self.backend.maintain(self.uri(table), retention_days)
        logger.info(
            "maintained %s: %d file(s) and %d staging folder(s) older than %d day(s) removed",
            table,
            done.files_removed,
            done.staging_folders_removed,
            retention_days,
        )
        return replace(done, table=table)

    def version(self, table: str) -> int:
        self._require(table)
        return self.backend.version(self.uri(table))

    def history(self, table: str) -> list[dict[str, Any]]:
        self._require(table)
        return self.backend.history(self.uri(table))


def _replaced(partition: dict[str, str], result: WriteResult) -> WriteResult:
    logger.info(
        "replaced partition %s of %s with %d rows (version %d)",
        partition,
        result.table,
        result.rows,
        result.version,
    )
    return result
