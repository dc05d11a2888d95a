"""The one place a SparkSession is made.

Every entry point (Airflow task, spark-submit job, CLI, tests) goes through `get_spark`, so
the settings that keep Driftline correct are set once: Python workers run the driver's own
interpreter (a virtualenv's xgboost is importable on executors), session time zone is UTC
(dates never shift with the host), and the UI is off unless asked for.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

from driftline.core.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def get_spark(settings: Settings, app_name: str = "driftline") -> SparkSession:
    """Return the active session or build one from `settings`.

    An existing session is reused as is: inside one process (an Airflow `dag.test()` run,
    the test suite, a spark-submit job) all steps share one JVM.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active

    # Workers must start the interpreter that has our dependencies installed. Without this,
    # PySpark starts `python3` from PATH and the executors fail to import xgboost.
    executor_python = settings.executor_python or sys.executable
    os.environ.setdefault("PYSPARK_PYTHON", executor_python)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    builder = SparkSession.builder
    if not launched_by_spark_submit():
        # Under spark-submit the master and the application's name are the ones it was
        # given (the Spark connection's master; the launcher names each step's application).
        builder = builder.appName(app_name).master(settings.spark_master)
    builder = (
        builder.config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.ui.enabled", str(settings.spark_ui).lower())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Larger Arrow batches amortise per-batch Python and XGBoost call overhead in scoring.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50000")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.pyspark.python", executor_python)
        .config("spark.pyspark.driver.python", sys.executable)
        .config("spark.driver.extraJavaOptions", "-Dlog4j.rootLogger=WARN,console")
    )
    if settings.lake_backend == "delta-spark":
        # Delta's jars matching the installed delta-spark, resolved by Spark's Ivy from its
        # cache (`infra/setup.sh` fills it once), as Delta's own pip set-up does.
        from delta import configure_spark_with_delta_pip

        # Driftline's tables are many small daily partitions: Delta's defaults (50 tasks to
        # rebuild a snapshot, 10,000 to list a table for VACUUM) are sized for a few huge
        # tables and made each maintenance run take a minute here; the shuffle partitions
        # setting scales both with the cluster instead.
        parallelism = str(settings.spark_shuffle_partitions)
        builder = configure_spark_with_delta_pip(
            builder.config("spark.sql.extensions", DELTA_EXTENSION)
            .config("spark.sql.catalog.spark_catalog", DELTA_CATALOG)
            .config("spark.databricks.delta.snapshotPartitions", parallelism)
            .config("spark.sql.sources.parallelPartitionDiscovery.parallelism", parallelism),
            extra_packages=extra_packages(settings),
        )
    elif settings.spark_packages:
        builder = builder.config("spark.jars.packages", ",".join(extra_packages(settings)))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    logger.info("started Spark %s on %s", session.version, session.sparkContext.master)
    return session


def extra_packages(settings: Settings) -> list[str]:
    return [p.strip() for p in settings.spark_packages.split(",") if p.strip()]


def submit_packages(settings: Settings) -> list[str]:
    """The Maven packages a spark-submit of a Driftline job must name: spark-submit resolves
    them before the driver starts (a session's `spark.jars.packages` would come too late),
    Delta's own for the installed delta-spark on that backend, as delta's pip set-up
    names them, and `DRIFTLINE_SPARK_PACKAGES`."""
    if settings.lake_backend != "delta-spark":
        return extra_packages(settings)
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    # A builder that is never built: only its options are read.
    builder = configure_spark_with_delta_pip(
        SparkSession.Builder(), extra_packages=extra_packages(settings)
    )
    return str(builder._options["spark.jars.packages"]).split(",")


def launched_by_spark_submit() -> bool:
    """Whether this Python process is a driver that spark-submit started (it hands the
    driver its JVM gateway through the environment)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def has_delta_jars(spark: SparkSession) -> bool:
    """Whether Delta Lake's JVM classes are on this session's classpath."""
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        # Jars from `spark.jars.packages` live in the session's own class loader, which
        # `Class.forName` from py4j's thread does not see.
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        loader.loadClass("io.delta.tables.DeltaTable")
    except Exception:
        return False
    return True


def cache_delta_jars() -> None:
    """Resolve Delta's jars for the installed delta-spark (and `DRIFTLINE_SPARK_PACKAGES`)
    once, from Maven Central into Spark's Ivy cache, so later sessions (and a built image)
    resolve them offline."""
    from driftline.core.settings import load_settings

    settings = load_settings(spark_master="local[1]", lake_backend="delta-spark")
    spark = get_spark(settings, "jars")
    try:
        if not has_delta_jars(spark):
            raise RuntimeError("Delta's jars were resolved but do not load")
    finally:
        spark.stop()


if __name__ == "__main__":
    cache_delta_jars()
