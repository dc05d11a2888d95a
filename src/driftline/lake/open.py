"""Choosing the Delta backend for a session."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from driftline.core import object_store
from driftline.core.errors import ConfigError
from driftline.core.spark import has_delta_jars
from driftline.lake.base import DEFAULT_RETENTION_DAYS, Lake, TableBackend
from driftline.lake.delta_rs import DeltaRsBackend
from driftline.lake.delta_spark import DeltaSparkBackend

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)


def open_lake(
    root: str,
    spark: SparkSession,
    backend: str = "auto",
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> Lake:
    """`auto` picks delta-spark when the session can load Delta's classes, else delta-rs.
    New tables keep `retention_days` of history for time travel."""
    if backend == "auto":
        backend = "delta-spark" if has_delta_jars(spark) else "delta-rs"
    chosen: TableBackend
    if backend == "delta-spark":
        if not has_delta_jars(spark):
            raise ConfigError(
                "DRIFTLINE_LAKE_BACKEND=delta-spark but Delta Lake's jars are not on the Spark "
                "classpath: add io.delta:delta-spark_2.13 to the cluster image, or set "
                "DRIFTLINE_LAKE_BACKEND=delta-rs"
            )
        chosen = DeltaSparkBackend(spark, retention_days)
    elif backend == "delta-rs":
        options = object_store.delta_rs_options() if object_store.is_s3(root) else None
        chosen = DeltaRsBackend(spark, storage_options=options, retention_days=retention_days)
    else:
        raise ConfigError(f"DRIFTLINE_LAKE_BACKEND: unknown backend {backend!r}")
    logger.info("lakehouse %s on the %s backend", root, chosen.name)
    return Lake(root, spark, chosen)
