"""delta-spark backend: Delta's own Spark integration, for sessions that have its jars.

Used on clusters and in the compose stack, where the Spark image bakes Delta's jars in.
On machines that cannot reach Maven Central it is unavailable and `open_lake` falls back to
delta-rs.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from driftline.lake.base import DEFAULT_RETENTION_DAYS, Commit, Maintenance, retention_properties
from driftline.lake.delta_files import spark_uri

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

logger = logging.getLogger(__name__)


class DeltaSparkBackend:
    name = "delta-spark"

    def __init__(self, spark: SparkSession, retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.spark = spark
        # Delta's documented session defaults for the properties of tables created later.
        for key, value in retention_properties(retention_days).items():
            name = key.removeprefix("delta.")
            spark.conf.set(f"spark.databricks.delta.properties.defaults.{name}", value)

    def _delta_table(self, uri: str) -> Any:
        from delta.tables import DeltaTable

        return DeltaTable.forPath(self.spark, spark_uri(uri))

    def exists(self, uri: str) -> bool:
        from delta.tables import DeltaTable

        return bool(DeltaTable.isDeltaTable(self.spark, spark_uri(uri)))

    def read(self, uri: str, version: int | None) -> DataFrame:
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(spark_uri(uri))

    def version(self, uri: str) -> int:
        return int(self._delta_table(uri).history(1).collect()[0]["version"])

    def history(self, uri: str) -> list[dict[str, Any]]:
        return [row.asDict(recursive=True) for row in self._delta_table(uri).history().collect()]

    def partition_rows(
        self, uri: str, partition: dict[str, str], version: int | None
    ) -> int | None:
        """Not read from the log here: callers count the rows themselves."""
        return None

    def maintain(self, uri: str, retention_days: int) -> Maintenance:
        """Align the table's retention properties and VACUUM it (Delta's VACUUM also takes
        untracked files older than the retention). Delta refuses a retention under 7 days
        unless `spark.databricks.delta.retentionDurationCheck.enabled` is false."""
        properties = ", ".join(
            f"'{k}' = '{v}'" for k, v in retention_properties(retention_days).items()
        )
        self.spark.sql(f"ALTER TABLE delta.`{spark_uri(uri)}` SET TBLPROPERTIES ({properties})")
        self._delta_table(uri).vacuum(retention_days * 24)
        last = self._delta_table(uri).history(1).collect()[0]
        removed = 0
        if last["operation"] == "VACUUM END":
            removed = int((last["operationMetrics"] or {}).get("numDeletedFiles") or 0)
        return Maintenance(uri, removed)

    def _commit(self, uri: str, write_id: str) -> Commit:
        """This write's own commit, found by its write id in the log: the table's latest
        version could be a concurrent writer's."""
        table = self._delta_table(uri)
        for history in (table.history(16), table.history()):
            for entry in history.collect():
                if write_id in (entry["userMetadata"] or ""):
                    metrics = entry["operationMetrics"] or {}
                    rows = metrics.get("numOutputRows") or metrics.get("numTargetRowsInserted")
                    return Commit(version=int(entry["version"]), rows=int(rows or 0))
        # Delta commits nothing for a write that neither adds nor removes a file (an empty
        # frame replacing an absent partition): the table stays at the version it was.
        logger.debug("write %s to %s changed nothing; no new version", write_id, uri)
        return Commit(version=self.version(uri), rows=0)

    def _writer(self, df: DataFrame, partition_by: list[str], metadata: dict[str, str]) -> Any:
        # Additive schema evolution, as the delta-rs backend does: bronze gains a source's
        # new columns, and a table gains lineage columns as Driftline grows.
        writer = (
            df.write.format("delta")
            .option("userMetadata", json.dumps(metadata))
            .option("mergeSchema", "true")
        )
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        return writer

    def append(
        self, uri: str, df: DataFrame, partition_by: list[str], metadata: dict[str, str]
    ) -> Commit:
        write_id, metadata = _tagged(metadata)
        self._writer(df, partition_by, metadata).mode("append").save(spark_uri(uri))
        return self._commit(uri, write_id)

    def replace_partition(
        self,
        uri: str,
        df: DataFrame,
        partition: dict[str, str],
        partition_by: list[str],
        metadata: dict[str, str],
    ) -> Commit:
        condition = " AND ".join(
            f"`{column}` = '{str(value).replace(chr(39), chr(39) * 2)}'"
            for column, value in partition.items()
        )
        mode = "overwrite" if self.exists(uri) else "append"
        write_id, metadata = _tagged(metadata)
        writer = self._writer(df, partition_by, metadata).mode(mode)
        if mode == "overwrite":
            writer = writer.option("replaceWhere", condition)
        writer.save(spark_uri(uri))
        return self._commit(uri, write_id)

    def replace_partition_rows(
        self,
        uri: str,
        rows: pa.Table,
        partition: dict[str, str],
        metadata: dict[str, str],
    ) -> Commit:
        from pyspark.sql.pandas.types import from_arrow_schema

        df = self.spark.createDataFrame(rows.to_pylist(), from_arrow_schema(rows.schema))
        return self.replace_partition(uri, df, partition, list(partition), metadata)

    def merge(
        self,
        uri: str,
        df: DataFrame,
        keys: list[str],
        order_by: list[str],
        partition_by: list[str],
        metadata: dict[str, str],
    ) -> Commit:
        from driftline.core.transforms import latest_per_key

        source = latest_per_key(None, df, keys, order_by)
        if not self.exists(uri):
            return self.append(uri, source, partition_by, metadata)
        on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        # Latest wins: only replace a target row with a source row that is not older.
        newer = " OR ".join(f"s.`{c}` > t.`{c}` OR t.`{c}` IS NULL" for c in order_by) or "true"
        not_older = f"({newer}) OR ({' AND '.join(f's.`{c}` <=> t.`{c}`' for c in order_by)})"
        write_id, metadata = _tagged(metadata)
        self.spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", json.dumps(metadata))
        try:
            (
                self._delta_table(uri)
                .alias("t")
                .merge(source.alias("s"), on)
                .whenMatchedUpdateAll(condition=not_older)
                .whenNotMatchedInsertAll()
                .execute()
            )
        finally:
            self.spark.conf.unset("spark.databricks.delta.commitInfo.userMetadata")
        return self._commit(uri, write_id)


def _tagged(metadata: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A fresh write id, and the commit metadata carrying it."""
    write_id = uuid.uuid4().hex
    return write_id, {**metadata, "driftline.write_id": write_id}
