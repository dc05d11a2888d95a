"""delta-rs backend: Spark writes Parquet in parallel, delta-rs commits it atomically.

This is the embedded default: it needs no JVM jars, so it runs on laptops, in CI and on
air-gapped hosts where Maven Central cannot be reached.

A write has three phases:

1. Spark writes the rows as Parquet under `<table>/_staging/<write id>/` (executors, in
   parallel; nothing is collected to the driver). No reader looks there.
2. The driver moves each file next to the table's data (`<table>/<k>=<v>/<write id>-…`),
   reading only Parquet footers to record row counts in the Delta log.
3. One delta-rs transaction adds those files (and removes replaced ones).

A crash before phase 3 leaves unreferenced files only: every reader still sees the previous
version, and `maintain` (VACUUM, `driftline lake maintain`) reclaims the orphans.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from driftline.core.errors import LakeWriteError, TableNotFoundError
from driftline.lake import delta_files
from driftline.lake.base import DEFAULT_RETENTION_DAYS, Commit, Maintenance, retention_properties

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

logger = logging.getLogger(__name__)


class DeltaRsBackend:
    name = "delta-rs"

    def __init__(
        self,
        spark: SparkSession,
        storage_options: dict[str, str] | None = None,
        retention_days: int = DEFAULT_RETENTION_DAYS,
    ):
        self.spark = spark
        self.storage_options = storage_options or {}
        # New tables keep this much history; `maintain` aligns older tables.
        self.retention_days = retention_days

    # -- reading ---------------------------------------------------------------------------

    def exists(self, uri: str) -> bool:
        from deltalake import DeltaTable

        return bool(DeltaTable.is_deltatable(uri, storage_options=self.storage_options))

    def _table(self, uri: str, version: int | None = None) -> Any:
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError as RsTableNotFound

        try:
            return DeltaTable(uri, version=version, storage_options=self.storage_options)
        except RsTableNotFound:
            raise TableNotFoundError(f"no Delta table at {uri}") from None
        except Exception as error:  # delta-rs raises a generic error for a missing version
            if version is not None:
                raise TableNotFoundError(
                    f"Delta table {uri} has no version {version}: {error}"
                ) from None
            raise

    def read(self, uri: str, version: int | None) -> DataFrame:
        """Read the snapshot's own file list with Spark, so it scales like any Parquet scan.

        Partition values come back from the `k=v` folders the files sit in, typed by the
        table schema.
        """
        from pyspark.sql.pandas.types import from_arrow_schema

        table = self._table(uri, version)
        arrow_schema = delta_files.arrow_schema(table)
        spark_schema = from_arrow_schema(arrow_schema, prefer_timestamp_ntz=False)
        files = [delta_files.spark_uri(f) for f in delta_files.data_file_uris(table, uri)]
        if not files:
            return self.spark.createDataFrame([], spark_schema)
        return (
            self.spark.read.schema(spark_schema)
            .option("basePath", delta_files.spark_uri(uri))
            .parquet(*files)
        )

    def version(self, uri: str) -> int:
        return int(self._table(uri).version())

    def history(self, uri: str) -> list[dict[str, Any]]:
        return list(self._table(uri).history())

    def partition_rows(
        self, uri: str, partition: dict[str, str], version: int | None
    ) -> int | None:
        """Sum of `numRecords` over the snapshot's files in `partition`; None when a file
        was committed without that statistic."""
        actions = delta_files.partition_actions(self._table(uri, version), partition)
        if actions is None:
            return None  # not partitioned that way
        counts = actions.column("num_records").to_pylist() if actions.num_rows else []
        if any(n is None for n in counts):
            return None
        return int(sum(counts))

    # -- maintenance -----------------------------------------------------------------------

    def maintain(self, uri: str, retention_days: int) -> Maintenance:
        """Align the table's retention properties, VACUUM in full mode (which also takes
        files a crashed write moved in but never committed) and clear staging folders no
        write has touched within the retention."""
        table = self._table(uri)
        wanted = retention_properties(retention_days)
        if any(table.metadata().configuration.get(k) != v for k, v in wanted.items()):
            table.alter.set_table_properties(wanted, raise_if_not_exists=False)
        removed = table.vacuum(
            retention_hours=retention_days * 24,
            dry_run=False,
            enforce_retention_duration=False,
            full=True,
        )
        filesystem, root = delta_files.filesystem(uri)
        stale = delta_files.remove_stale_staging(
            filesystem, root, time.time() - retention_days * 86400
        )
        # On an object store VACUUM also lists the empty "folder" objects that Arrow leaves
        # as directory markers (`t=a`, `""`); only data files count.
        data_files = [path for path in removed if path.endswith(".parquet")]
        return Maintenance(uri, len(data_files), stale)

    # -- writing ---------------------------------------------------------------------------

    def append(
        self, uri: str, df: DataFrame, partition_by: list[str], metadata: dict[str, str]
    ) -> Commit:
        return self._write(uri, df, partition_by, metadata, mode="append")

    def replace_partition(
        self,
        uri: str,
        df: DataFrame,
        partition: dict[str, str],
        partition_by: list[str],
        metadata: dict[str, str],
    ) -> Commit:
        filters = [(column, "=", str(value)) for column, value in partition.items()]
        return self._write(
            uri, df, partition_by, metadata, mode="overwrite", partition_filters=filters
        )

    def replace_partition_rows(
        self,
        uri: str,
        rows: pa.Table,
        partition: dict[str, str],
        metadata: dict[str, str],
    ) -> Commit:
        """One Parquet file written from the driver and committed: no Spark job."""
        import pyarrow.parquet as pq

        write_id = uuid.uuid4().hex
        filesystem, root = delta_files.filesystem(uri)
        relative_dir = delta_files.partition_dir(partition)
        relative = f"{relative_dir}/{write_id}-rows.snappy.parquet"
        filesystem.create_dir(f"{root}/{relative_dir}", recursive=True)
        data = rows.drop_columns(list(partition))
        with filesystem.open_output_stream(f"{root}/{relative}") as out:
            pq.write_table(data, out, compression="snappy")
        size = filesystem.get_file_info(f"{root}/{relative}").size
        values = {k: str(v) for k, v in partition.items()}
        action = delta_files.add_action(relative, size, values, rows.num_rows)
        filters = [(column, "=", str(value)) for column, value in partition.items()]
        return self._commit(
            uri,
            [action],
            delta_files.nullable(rows.schema),
            list(partition),
            metadata,
            write_id,
            "overwrite",
            filters,
        )

    def merge(
        self,
        uri: str,
        df: DataFrame,
        keys: list[str],
        order_by: list[str],
        partition_by: list[str],
        metadata: dict[str, str],
    ) -> Commit:
        """Copy-on-write upsert computed by Spark, committed as one overwrite.

        delta-rs' own MERGE takes its source through the driver; computing the merged state
        in Spark keeps the data on the executors. The whole table is rewritten, which is
        right for silver tables of entities (one row per key) and wrong for fact tables:
        those use `replace_partition`.
        """
        from driftline.core.transforms import latest_per_key

        if self.exists(uri):
            current = self.read(uri, None)
            merged = latest_per_key(current, df, keys, order_by)
            return self._write(uri, merged, partition_by, metadata, mode="overwrite")
        return self._write(
            uri, latest_per_key(None, df, keys, order_by), partition_by, metadata, mode="append"
        )

    def replace_partition_split(
        self,
        df: DataFrame,
        by: str,
        targets: dict[str, tuple[str, list[str], dict[str, str]]],
        metadata: dict[str, str],
        count_by: str | None = None,
        staged: str | None = None,
    ) -> dict[str, Commit]:
        """One Spark write of `df`; the rows of each value of `by` replace a partition of
        their own table (`targets`: value -> (uri, the table's columns, its partition)).

        The rows are parsed and written once, and each table adopts its part of the files,
        so no cache or second pass is needed to send rows to two tables. Every file holds
        all of `df`'s columns; each table's schema names only its own, and readers project
        to it. Partition values are constants of the write and live in folder names and
        the Delta log, not in the files. With `count_by`, the staged files are also
        grouped by that column, so each file's footer counts the rows of one of its values.
        `staged` holds more such files, written by others in the same layout; each table
        adopts its share of those too, in the same commit.
        """
        from pyspark.sql.pandas.types import to_arrow_schema

        partition_columns = sorted({c for _, _, part in targets.values() for c in part})
        first_uri = next(iter(targets.values()))[0]
        write_id = uuid.uuid4().hex
        staging = f"{first_uri}/{delta_files.STAGING_DIR}/{write_id}"
        (
            df.drop(*partition_columns)
            .write.mode("error")
            .option("compression", "snappy")
            .partitionBy(by, *([count_by] if count_by else []))
            .parquet(delta_files.spark_uri(staging))
        )
        filesystem, staging_root = delta_files.filesystem(staging)
        delta_files.require_written(filesystem, staging_root, first_uri)
        staged_root = delta_files.filesystem(staged)[1] if staged is not None else None
        commits = {}
        for value, (uri, columns, partition) in targets.items():
            schema = delta_files.nullable(
                to_arrow_schema(df.select(*columns, *partition).schema, timezone="UTC")
            )
            _, root = delta_files.filesystem(uri)
            source_dir = f"{staging_root}/{by}={value}"
            adopted = delta_files.adopt_files(filesystem, source_dir, root, write_id, partition)
            if staged_root is not None:
                adopted += delta_files.adopt_files(
                    filesystem, f"{staged_root}/{by}={value}", root, write_id, partition
                )
            filters = [(column, "=", str(v)) for column, v in partition.items()]
            commit = self._commit(
                uri,
                [action for action, _, _ in adopted],
                schema,
                list(partition),
                metadata,
                write_id,
                "overwrite",
                filters,
            )
            rows_by: dict[str, int] = {}
            if count_by is not None:
                for _, folder, rows in adopted:
                    key = str(delta_files.partition_values(folder, [count_by])[count_by])
                    rows_by[key] = rows_by.get(key, 0) + rows
            commits[value] = Commit(commit.version, commit.rows, rows_by)
        delta_files.remove_dir(filesystem, staging_root)
        if staged_root is not None:
            delta_files.remove_dir(filesystem, staged_root)
        return commits

    def _write(
        self,
        uri: str,
        df: DataFrame,
        partition_by: list[str],
        metadata: dict[str, str],
        mode: str,
        partition_filters: list[tuple[str, str, str]] | None = None,
    ) -> Commit:
        from pyspark.sql.pandas.types import to_arrow_schema

        write_id = uuid.uuid4().hex
        staging = f"{uri}/{delta_files.STAGING_DIR}/{write_id}"
        writer = df.write.mode("error").option("compression", "snappy")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(delta_files.spark_uri(staging))

        schema = delta_files.nullable(to_arrow_schema(df.schema, timezone="UTC"))
        filesystem, root = delta_files.filesystem(uri)
        delta_files.require_written(filesystem, f"{root}/{delta_files.STAGING_DIR}/{write_id}", uri)
        actions = delta_files.publish_staged_files(filesystem, root, write_id, partition_by)
        commit = self._commit(
            uri, actions, schema, partition_by, metadata, write_id, mode, partition_filters
        )
        delta_files.remove_dir(filesystem, f"{root}/{delta_files.STAGING_DIR}/{write_id}")
        return commit

    def _commit(
        self,
        uri: str,
        actions: list[Any],
        schema: pa.Schema,
        partition_by: list[str],
        metadata: dict[str, str],
        write_id: str,
        mode: str,
        partition_filters: list[tuple[str, str, str]] | None,
    ) -> Commit:
        """One delta-rs transaction adding `actions` (creating the table if need be)."""
        from deltalake import CommitProperties
        from deltalake.transaction import create_table_with_add_actions

        rows = sum(json.loads(a.stats)["numRecords"] for a in actions)
        commit_properties = CommitProperties(
            custom_metadata={"driftline.write_id": write_id, **metadata}
        )
        try:
            if self.exists(uri):
                table = self._table(uri)
                table.create_write_transaction(
                    actions,
                    mode=mode,
                    schema=schema,
                    partition_by=partition_by or None,
                    partition_filters=partition_filters,
                    commit_properties=commit_properties,
                )
                version = self._version_of_write(uri, write_id)
            else:
                create_table_with_add_actions(
                    uri,
                    delta_files.delta_schema(schema),
                    actions,
                    mode="append",
                    partition_by=partition_by or None,
                    configuration=retention_properties(self.retention_days),
                    storage_options=self.storage_options,
                    commit_properties=commit_properties,
                )
                version = 0
        except Exception as error:
            raise LakeWriteError(
                f"could not commit write {write_id} to {uri}: {error}. The table is unchanged; "
                "re-run the task (its files are orphans until `driftline lake maintain` removes "
                "them)"
            ) from error
        return Commit(version=version, rows=rows)

    def _version_of_write(self, uri: str, write_id: str) -> int:
        """The version this write's own commit created, found by its write id in the log:
        reading the table's latest version instead could name a concurrent writer's."""
        table = self._table(uri)
        for limit in (16, None):
            for entry in table.history(limit):
                if entry.get("driftline.write_id") == write_id:
                    return int(entry["version"])
        # A transaction with nothing to add or remove may leave no commit behind.
        logger.debug("write %s to %s changed nothing; no new version", write_id, uri)
        return int(table.version())
