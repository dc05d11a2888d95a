"""The one place a SparkSession is made.

Every entry point (Airflow task, spark-submit job, CLI, tests) goes through `get_spark`, so
the settings that keep Driftline correct are set once: Python workers run the driver's own
interpreter (a virtualenv's xgboost is importable on executors), session time zone is UTC
(dates never shift with the host), and the UI is off unless asked for.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from driftline.core import object_store
from driftline.core.errors import ConfigError
from driftline.core.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
QUIET_DRIVER_LOG = "-Dlog4j.rootLogger=WARN,console"
# Hadoop's client jars, which Delta's kernel depends on at an older Hadoop (3.4.2 for Delta
# 4.4) than pyspark bundles (3.5.0): pyspark's own are on the classpath already, so the
# resolved packages leave these out (one Hadoop on the classpath, matching S3A's, and
# about 50 MB less for each application to load and ship to its executors).
BUNDLED_WITH_SPARK = (
    "org.apache.hadoop:hadoop-client-api",
    "org.apache.hadoop:hadoop-client-runtime",
)


def get_spark(settings: Settings, app_name: str = "driftline") -> SparkSession:
    """Return the active session or build one from `settings`.

    An existing session is reused as is: inside one process (an Airflow `dag.test()` run,
    the test suite, a spark-submit job) all steps share one JVM.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if settings.spark_remote is not None and not launched_by_spark_submit():
        return _connect_session(settings)
    return _new_session(settings, app_name, driver_java_options(settings))


# The SQL settings `_new_session` gives a session of its own that a Connect client sets on
# its session of the server (the rest are the server's, fixed when it started).
def _session_conf(settings: Settings) -> dict[str, str]:
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Larger Arrow batches amortise per-batch Python and XGBoost call overhead in scoring.
        "spark.sql.execution.arrow.maxRecordsPerBatch": "50000",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
    }


def is_connect(spark: SparkSession) -> bool:
    """Whether `spark` is a Spark Connect client (no JVM in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _connect_session(settings: Settings) -> SparkSession:
    """A session on the Spark Connect server `DRIFTLINE_SPARK_REMOTE`: the step's work runs
    in the server's long-lived JVM, so this process starts in a second or two instead of
    starting a JVM of its own. The session is released when the process exits normally; a
    killed task's session stays on the server until its idle timeout (an hour). A server
    that checks a token (`driftline ui`'s does) gets it from
    `SPARK_CONNECT_AUTHENTICATE_TOKEN`, which PySpark's client sends by itself."""
    import atexit

    from pyspark.sql import SparkSession

    url = str(settings.spark_remote)
    wait_for_server(url)
    session = SparkSession.builder.remote(url).getOrCreate()
    for key, value in _session_conf(settings).items():
        session.conf.set(key, value)
    atexit.register(session.stop)
    logger.info("Spark %s through the Connect server %s", session.version, url)
    return session


def wait_for_server(url: str, seconds: float = 180.0) -> None:
    """Wait until the Connect server accepts connections: `driftline ui` starts it beside
    the scheduler, whose first tasks may come before its JVM is up."""
    import socket
    import time

    from driftline.core.errors import SparkUnavailableError
    from driftline.core.settings import connect_address

    address = connect_address(url)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(address, timeout=5):
                return
        except OSError as error:
            if time.monotonic() > deadline:
                raise SparkUnavailableError(
                    f"DRIFTLINE_SPARK_REMOTE={url}: no Spark Connect server answers "
                    f"({error}); restart `driftline ui` (which starts one), start one with "
                    "`driftline spark-server`, or unset the setting"
                ) from error
            time.sleep(1)


def serve_connect(
    settings: Settings, port: int, parent: int | None = None, host: str = "127.0.0.1"
) -> None:
    """Run a Spark Connect server on `host`:`port` with Driftline's session settings (packages,
    S3A, executors' Python, class archive) until SIGTERM or, where `parent` is given,
    until that process is gone (`driftline ui` hands over to Airflow by exec).

    With `SPARK_CONNECT_AUTHENTICATE_TOKEN` set, only clients that send that token are
    served (PySpark's client sends it from the same variable; without TLS it does so only
    to `localhost`)."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server_conf = {
        "spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
        "spark.connect.grpc.binding.address": host,
        "spark.connect.grpc.binding.port": str(port),
    }
    token = os.environ.get("SPARK_CONNECT_AUTHENTICATE_TOKEN")
    if token:
        server_conf["spark.connect.authenticate.token"] = token
    else:
        logger.warning(
            "no SPARK_CONNECT_AUTHENTICATE_TOKEN: any client that reaches %s:%d can run "
            "code as this user",
            host,
            port,
        )
    session = _new_session(
        settings, "driftline-connect-server", driver_java_options(settings), server_conf
    )
    logger.info("Spark Connect server on sc://%s:%d", host, port)
    while not stop.wait(2):
        if parent is not None and os.getppid() != parent:
            break
    session.stop()


def _new_session(
    settings: Settings, app_name: str, java_options: str, server_conf: dict[str, str] | None = None
) -> SparkSession:
    from pyspark.sql import SparkSession

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
        .config("spark.pyspark.python", executor_python)
        .config("spark.pyspark.driver.python", sys.executable)
        .config("spark.driver.extraJavaOptions", java_options)
    )
    for key, value in {
        **_session_conf(settings),
        **node_jars_conf(settings),
        **(server_conf or {}),
    }.items():
        builder = builder.config(key, value)
    wanted = extra_packages(settings)
    packages = [] if settings.spark_jars_dir else wanted
    if delta_on_nodes(settings):
        for key, value in delta_conf(settings).items():
            builder = builder.config(key, value)
    elif settings.lake_backend == "delta-spark":
        # Delta's jars matching the installed delta-spark, resolved by Spark's Ivy from its
        # cache (`infra/setup.sh` fills it once), as Delta's own pip set-up does.
        from delta import configure_spark_with_delta_pip

        for key, value in delta_conf(settings).items():
            builder = builder.config(key, value)
        builder = configure_spark_with_delta_pip(builder, extra_packages=packages)
    elif packages:
        builder = builder.config("spark.jars.packages", ",".join(packages))
    if (settings.lake_backend == "delta-spark" and not settings.spark_jars_dir) or packages:
        builder = builder.config("spark.jars.excludes", ",".join(BUNDLED_WITH_SPARK))
    if has_s3a(wanted):
        # Only where S3A is loaded: a stray AWS_ENDPOINT_URL cannot fail a local lake's run.
        for key, value in object_store.s3a_conf().items():
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    logger.info("started Spark %s on %s", session.version, session.sparkContext.master)
    return session


def delta_conf(settings: Settings) -> dict[str, str]:
    """Delta's extension and catalog, and its settings sized for Driftline's tables."""
    # Driftline's tables are many small daily partitions: Delta's defaults (50 tasks to
    # rebuild a snapshot, 10,000 to list a table for VACUUM) are sized for a few huge tables
    # and made each maintenance run take a minute here; the shuffle partitions setting
    # scales both with the cluster instead.
    parallelism = str(settings.spark_shuffle_partitions)
    return {
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.databricks.delta.snapshotPartitions": parallelism,
        # Every VACUUM in the table's history, on any store: Delta logs them by default only
        # where a partial write can be seen (local, HDFS), not on S3.
        "spark.databricks.delta.vacuum.logging.enabled": "true",
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": parallelism,
    }


def driver_java_options(settings: Settings) -> str:
    """The driver JVM's options: Spark's class archive when one has been built for this
    Spark install and Java runtime (see `build_class_archive`)."""
    options = [QUIET_DRIVER_LOG]
    # Jars from the nodes' folder come first on the class path, which the archive's own
    # class path must begin: the JVM would refuse it on every start, with a warning.
    archive = None if settings.spark_jars_dir else class_archive(settings)
    # Spark splits these options on whitespace: a path with a space would break them.
    if archive is not None and archive.is_file() and not any(c.isspace() for c in str(archive)):
        options.append(f"-XX:SharedArchiveFile={archive}")
    return " ".join(options)


def class_archive(settings: Settings) -> Path | None:
    """Where Spark's class archive for this install lives (None when sharing is off).

    An archive only fits the jars and the Java runtime it was dumped from (the JVM checks
    both, down to the jars' modification times, and ignores one that does not fit, with a
    warning on every start), so the default name is a fingerprint of the two, install times
    included: another virtualenv, the same one recreated, or a Java upgrade gets an archive
    of its own.
    """
    if not settings.spark_class_sharing:
        return None
    if settings.spark_class_archive is not None:
        return settings.spark_class_archive
    java, jars = _java_executable(), _spark_jars()
    java_stamp = java.stat().st_mtime_ns if java is not None and java.exists() else 0
    jars_stamp = jars.stat().st_mtime_ns if jars.exists() else 0
    installed = f"{jars}|{jars_stamp}|{java}|{java_stamp}"
    fingerprint = hashlib.sha256(installed.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "driftline" / "spark-classes" / f"{fingerprint}.jsa"


def _spark_jars() -> Path:
    """The jars Spark's launcher puts on the driver's class path (SPARK_HOME's, else
    PySpark's own), found without importing PySpark."""
    home = os.environ.get("SPARK_HOME")
    if not home:
        spec = importlib.util.find_spec("pyspark")
        home = str(Path(spec.origin).parent) if spec is not None and spec.origin else ""
    return (Path(home) / "jars").resolve()


def _java_executable() -> Path | None:
    """The `java` Spark's launcher runs: JAVA_HOME's, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    return Path(found).resolve() if found else None


def build_class_archive(settings: Settings) -> Path | None:
    """Dump the classes a representative Driftline workload loads into Spark's class archive.

    The workload runs in a child process whose JVM writes the archive as it exits; it is
    written beside the target and renamed into place, so a driver starting meanwhile sees
    the old archive or the new one, never half of one.
    """
    target = class_archive(settings)
    if target is None:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.stem}.{os.getpid()}.partial")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "driftline.core.spark", "--dump-classes", str(partial)],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if done.returncode != 0 or not partial.is_file():
            raise RuntimeError(
                f"could not build Spark's class archive {target}; drivers start without "
                f"it (slower, same results):\n{done.stderr[-3000:]}"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("Spark's class archive: %s", target)
    return target


def _dump_classes(archive: Path) -> None:
    """Run the archive's workload in a session whose JVM dumps its classes on exit, then
    end that JVM and wait for it, so the archive is complete when this process returns."""
    from driftline.core.settings import load_settings

    settings = load_settings(
        spark_master="local[2]",
        lake_backend="delta-rs",
        spark_packages="",
        spark_remote=None,
        spark_jars_dir=None,
    )
    options = f"{QUIET_DRIVER_LOG} -XX:ArchiveClassesAtExit={archive}"
    spark = _new_session(settings, "driftline-class-archive", options)
    _representative_workload(spark)
    jvm = spark.sparkContext._gateway.proc  # type: ignore[union-attr]
    spark.stop()
    jvm.stdin.close()  # the gateway ends its JVM when this pipe closes
    jvm.wait(timeout=600)


def _representative_workload(spark: SparkSession) -> None:
    """What Driftline's steps make Spark load: CSV and Parquet I/O, joins, windows,
    aggregates, Arrow both ways and pandas/Arrow functions on the Python workers."""
    import pandas as pd
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    with tempfile.TemporaryDirectory(prefix="driftline-classes-") as folder:
        extract = Path(folder) / "extract.csv"
        extract.write_text("id,day,amount,segment\n1,2024-01-01,1.5,a\n2,2024-01-02,,b\n")
        rows = (
            spark.read.option("header", True)
            .option("mode", "PERMISSIVE")
            .schema("id INT, day DATE, amount DOUBLE, segment STRING, _corrupt_record STRING")
            .option("columnNameOfCorruptRecord", "_corrupt_record")
            .csv(str(extract))
            .withColumn("_source_file", F.input_file_name())
        )
        labels = spark.createDataFrame(pd.DataFrame({"id": [1, 2], "label": [0.0, 1.0]}))
        joined = rows.join(labels, "id", "left").withColumn(
            "rank", F.row_number().over(Window.partitionBy("segment").orderBy("id"))
        )
        summary = joined.groupBy("day").agg(
            F.count("*").alias("rows"),
            F.avg("amount").alias("mean"),
            F.percentile_approx("amount", 0.5).alias("median"),
            F.collect_list("segment").alias("segments"),
        )
        summary.write.mode("overwrite").partitionBy("day").parquet(f"{folder}/summary")
        spark.read.parquet(f"{folder}/summary").toPandas()
        joined.mapInPandas(lambda batches: batches, joined.schema).collect()
        joined.mapInArrow(lambda batches: batches, joined.schema).count()
        joined.groupBy("segment").applyInPandas(lambda frame: frame, joined.schema).count()
        joined.select(F.sha2(F.col("segment"), 256), F.to_json(F.struct("id", "day"))).collect()


def extra_packages(settings: Settings) -> list[str]:
    """`DRIFTLINE_SPARK_PACKAGES`, and Hadoop's S3A connector when the lake or the shared
    staging is on S3."""
    packages = [p.strip() for p in settings.spark_packages.split(",") if p.strip()]
    if settings.on_object_store:
        return with_s3a(packages)
    return packages


def has_s3a(packages: list[str]) -> bool:
    return any(p.startswith("org.apache.hadoop:hadoop-aws:") for p in packages)


def with_s3a(packages: list[str]) -> list[str]:
    """`packages` with Hadoop's S3A connector, unless one is named already (a pin that does
    not match pyspark's Hadoop is kept, with a warning: S3A fails at its first request)."""
    matching = object_store.s3a_package()
    for package in packages:
        if has_s3a([package]) and package != matching:
            logger.warning(
                "DRIFTLINE_SPARK_PACKAGES names %s but pyspark's Hadoop needs %s",
                package,
                matching,
            )
    return packages if has_s3a(packages) else [*packages, matching]


def ivy_jar_name(package: str) -> str:
    """The file Spark's Ivy resolves a Maven package `group:artifact:version` to."""
    group, artifact, version = package.split(":")[:3]
    return f"{group}_{artifact}-{version}.jar"


def node_jars_conf(settings: Settings) -> dict[str, str]:
    """The driver's and executors' class path where the packages' jars are already on every
    node (`DRIFTLINE_SPARK_JARS_DIR`): nothing is resolved, shipped or copied per
    application (a `local:` jar would still be copied into every executor's work folder).
    Empty where the setting is unset.

    Every package the session would otherwise resolve must be there at its version: a
    folder filled before an upgrade of delta-spark or pyspark, or before a package was
    added to `DRIFTLINE_SPARK_PACKAGES`, is refused rather than loaded stale or silently
    without it."""
    folder = settings.spark_jars_dir
    if folder is None:
        return {}
    wanted = submit_packages(settings.model_copy(update={"spark_jars_dir": None}))
    missing = [p for p in wanted if not (folder / ivy_jar_name(p)).is_file()]
    if missing or not any(folder.glob("*.jar")):
        raise ConfigError(
            f"DRIFTLINE_SPARK_JARS_DIR {folder} lacks the jars of "
            f"{', '.join(missing) or 'every package'}: fill it again on every node with "
            f"`driftline spark-jars {folder}` (the cluster image's build step, with the same "
            "DRIFTLINE_SPARK_PACKAGES), or unset it to have each application resolve and "
            "ship the packages"
        )
    class_path = f"{folder}/*"
    return {"spark.driver.extraClassPath": class_path, "spark.executor.extraClassPath": class_path}


def delta_on_nodes(settings: Settings) -> bool:
    """Whether Delta's extension goes on a session whose jars come from the nodes' folder:
    on delta-spark, and on `auto` where the folder holds Delta (`auto` then picks
    delta-spark, see `driftline.lake.open_lake`); never on delta-rs."""
    folder = settings.spark_jars_dir
    if folder is None or settings.lake_backend == "delta-rs":
        return False
    return settings.lake_backend == "delta-spark" or any(folder.glob("io.delta_delta-spark_*"))


def submit_packages(settings: Settings) -> list[str]:
    """The Maven packages a spark-submit of a Driftline job must name: spark-submit resolves
    them before the driver starts (a session's `spark.jars.packages` would come too late),
    Delta's own for the installed delta-spark on that backend, as delta's pip set-up
    names them, and `DRIFTLINE_SPARK_PACKAGES`; none where the nodes have the jars
    (`node_jars_conf`)."""
    if settings.spark_jars_dir is not None:
        return []
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
    return _loads(spark, "io.delta.tables.DeltaTable")


def _loads(spark: SparkSession, class_name: str) -> bool:
    if is_connect(spark):
        return False  # no JVM here to ask
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        # Jars from `spark.jars.packages` live in the session's own class loader, which
        # `Class.forName` from py4j's thread does not see.
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        loader.loadClass(class_name)
    except Exception:
        return False
    return True


# Where Spark 4's Ivy resolves `spark.jars.packages` to (Driftline leaves `spark.jars.ivy`
# unset): its cache, and the copies of the jars it hands Spark under `jars/`.
IVY_HOME = Path.home() / ".ivy2.5.2"


def cache_delta_jars() -> list[Path]:
    """Resolve Delta's jars for the installed delta-spark, Hadoop's S3A connector (for a
    lake on S3) and `DRIFTLINE_SPARK_PACKAGES` once, from Maven Central into Spark's Ivy
    cache, so later sessions (and a built image) resolve them offline; return the jar
    files they resolved to."""
    dropped = drop_broken_jars(IVY_HOME)
    if dropped:
        logger.warning("fetching again %d jar(s) a download cut short: %s", len(dropped), dropped)
    jars = _resolve_package_jars()
    broken = [jar for jar in jars if jar in drop_broken_jars(IVY_HOME)]
    if broken:
        raise RuntimeError(f"these jars were not fetched whole: {broken}; run this again")
    return jars


def drop_broken_jars(ivy_home: Path) -> list[Path]:
    """Remove the jars under Ivy's folder that are not whole zip files, so the next
    resolution fetches them again. Ivy writes a download, and the copy it hands Spark, in
    place: one cut short (a killed set-up) would stay and resolve "offline" ever after,
    and a JVM would fail only when it first needed a class from the missing part."""
    import zipfile

    broken = [
        jar
        for folder in (ivy_home / "jars", ivy_home / "cache")
        for jar in sorted(folder.rglob("*.jar"))
        if not zipfile.is_zipfile(jar)
    ]
    for jar in broken:
        jar.unlink()
    return broken


def _resolve_package_jars() -> list[Path]:
    from driftline.core.settings import load_settings

    # This process starts its own JVM whatever DRIFTLINE_SPARK_REMOTE says, and resolves
    # the packages even where DRIFTLINE_SPARK_JARS_DIR says the nodes have them.
    current = load_settings(spark_remote=None, spark_jars_dir=None)
    settings = load_settings(
        spark_remote=None,
        spark_jars_dir=None,
        spark_master="local[1]",
        lake_backend="delta-spark",
        spark_packages=",".join(with_s3a(extra_packages(current))),
    )
    spark = get_spark(settings, "jars")
    try:
        if not has_delta_jars(spark):
            raise RuntimeError("Delta's jars were resolved but do not load")
        if not _loads(spark, "org.apache.hadoop.fs.s3a.S3AFileSystem"):
            raise RuntimeError("Hadoop's S3A connector was resolved but does not load")
        resolved = spark.sparkContext.getConf().get("spark.jars") or ""
    finally:
        spark.stop()
    from urllib.parse import unquote, urlsplit

    return [Path(unquote(urlsplit(jar).path)) for jar in resolved.split(",") if jar]


def copy_package_jars(folder: Path) -> list[Path]:
    """Fill `folder` with the jars of every package Driftline's sessions load (see
    `cache_delta_jars`), for `DRIFTLINE_SPARK_JARS_DIR`: run it where the cluster's image
    is built, so every node has them at the same path. The folder is Driftline's own: a
    jar in it that is not one of these (another version, after an upgrade) is removed, so
    the class path never holds two of one artifact.

    That folder goes on the class path before Spark's own jars, so a library Spark already
    ships (Jackson, Parquet, log4j, ...: most of its classes are in Spark's jars) is left
    out: Spark's copy is the one a resolved package would have used too. A kept jar that
    shares some classes with Spark's would shadow them, and is named in a warning."""
    bundled: set[str] = set()
    for jar in _spark_jars().glob("*.jar"):
        bundled |= _classes(jar)
    jars = []
    for jar in cache_delta_jars():
        classes = _classes(jar)
        shared = len(classes & bundled)
        if shared * 2 > len(classes):
            logger.info("%s: Spark ships that library already, left out", jar.name)
            continue
        if shared:
            logger.warning("%s shadows %d of Spark's own classes", jar.name, shared)
        jars.append(jar)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {jar.name for jar in jars}
    for stale in folder.glob("*.jar"):
        if stale.name not in wanted:
            stale.unlink()
    for jar in jars:
        # A new name first, then renamed over the old: a JVM reading the folder meanwhile
        # sees one whole jar or the other. A hard link where it can (an image keeps one
        # copy of the AWS SDK, not two), else a copy.
        partial = folder / f".{jar.name}.partial"
        partial.unlink(missing_ok=True)
        try:
            os.link(jar, partial)
        except OSError:
            shutil.copy2(jar, partial)
        os.replace(partial, folder / jar.name)
    return [folder / jar.name for jar in jars]


def _classes(jar: Path) -> set[str]:
    import zipfile

    with zipfile.ZipFile(jar) as archive:
        return {
            name
            for name in archive.namelist()
            if name.endswith(".class")
            and not name.startswith("META-INF/")
            and name != "module-info.class"
        }


def _main(arguments: list[str]) -> None:
    """`python -m driftline.core.spark`: what `infra/setup.sh` prepares once (Delta's jars,
    Spark's class archive); `--dump-classes PATH` is the archive's own child process."""
    if arguments[:1] == ["--dump-classes"]:
        _dump_classes(Path(arguments[1]))
        return
    from driftline.core.settings import load_settings

    cache_delta_jars()
    try:
        build_class_archive(load_settings())
    except RuntimeError as error:
        # Drivers start without an archive, only slower: set-up goes on, saying so.
        logger.warning("%s", error)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _main(sys.argv[1:])
