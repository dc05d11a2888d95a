"""Spark's class archive: where it lives, when a driver maps it, and (integration) that
one built here is the one a fresh driver's JVM maps."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from driftline.core.errors import ConfigError, SparkUnavailableError
from driftline.core.settings import load_settings
from driftline.core.spark import (
    build_class_archive,
    class_archive,
    driver_java_options,
    drop_broken_jars,
)


def test_the_default_archive_is_per_java_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runtimes = []
    for name in ("jdk-a", "jdk-b"):
        java = tmp_path / name / "bin" / "java"
        java.parent.mkdir(parents=True)
        java.write_text("")
        monkeypatch.setenv("JAVA_HOME", str(tmp_path / name))
        archive = class_archive(load_settings())
        assert archive is not None
        assert archive.parent == tmp_path / "cache" / "driftline" / "spark-classes"
        runtimes.append(archive)
    assert runtimes[0] != runtimes[1]


def test_a_reinstalled_spark_gets_an_archive_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The JVM refuses an archive whose jars changed since the dump, even at the same path
    # (a virtualenv recreated): the name follows the jars folder's install time.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    jars = tmp_path / "spark" / "jars"
    jars.mkdir(parents=True)
    monkeypatch.setenv("SPARK_HOME", str(tmp_path / "spark"))
    before = class_archive(load_settings())
    os.utime(jars, ns=(1, 1))
    assert class_archive(load_settings()) != before


def test_a_jar_cut_short_is_removed_so_it_is_fetched_again(tmp_path: Path) -> None:
    import zipfile

    whole = tmp_path / "cache" / "org.example" / "lib" / "jars" / "lib-1.0.jar"
    whole.parent.mkdir(parents=True)
    with zipfile.ZipFile(whole, "w") as jar:
        jar.writestr("org/example/A.class", b"\xca\xfe\xba\xbe" * 1000)
    handed = tmp_path / "jars" / "org.example_lib-1.0.jar"
    handed.parent.mkdir()
    handed.write_bytes(whole.read_bytes()[:500])  # a copy killed half-way
    assert drop_broken_jars(tmp_path) == [handed]
    assert whole.exists() and not handed.exists()
    assert drop_broken_jars(tmp_path) == []


def test_a_driver_maps_the_archive_only_once_it_is_built(tmp_path: Path) -> None:
    archive = tmp_path / "spark.jsa"
    settings = load_settings(spark_class_archive=archive)
    assert "SharedArchiveFile" not in driver_java_options(settings)
    archive.write_bytes(b"built")
    assert f"-XX:SharedArchiveFile={archive}" in driver_java_options(settings).split()
    assert "-Dlog4j.rootLogger=WARN,console" in driver_java_options(settings).split()


def test_sharing_off_or_a_path_spark_cannot_split_maps_nothing(tmp_path: Path) -> None:
    archive = tmp_path / "spark.jsa"
    archive.write_bytes(b"built")
    off = load_settings(spark_class_archive=archive, spark_class_sharing=False)
    assert class_archive(off) is None
    assert "SharedArchiveFile" not in driver_java_options(off)
    spaced = tmp_path / "with space.jsa"
    spaced.write_bytes(b"built")
    assert "SharedArchiveFile" not in driver_java_options(load_settings(spark_class_archive=spaced))


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_a_fresh_driver_maps_the_archive_built_here(tmp_path: Path) -> None:
    archive = tmp_path / "spark.jsa"
    assert build_class_archive(load_settings(spark_class_archive=archive)) == archive
    assert archive.stat().st_size > 10 * 2**20
    assert not list(tmp_path.glob("*.partial"))
    # -Xshare:on makes a JVM that cannot map its archive (wrong jars, wrong Java) refuse to
    # start, so a session that starts here is one whose driver mapped this archive.
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "from driftline.core.settings import load_settings\n"
            "from driftline.core.spark import get_spark\n"
            "print(get_spark(load_settings()).range(3).count())",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={
            **os.environ,
            "DRIFTLINE_SPARK_CLASS_ARCHIVE": str(archive),
            "DRIFTLINE_LAKE_BACKEND": "delta-rs",
            "JDK_JAVA_OPTIONS": "-Xshare:on",
        },
    )
    assert started.returncode == 0, started.stderr[-3000:]
    assert started.stdout.strip().splitlines()[-1] == "3"


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_a_fresh_driver_loads_delta_and_s3a_from_a_filled_jars_folder(tmp_path: Path) -> None:
    # What the compose stack's images do: `driftline spark-jars` at build, then sessions on
    # delta-spark with the folder and no package resolved.
    folder = tmp_path / "jars"
    filled = subprocess.run(
        [sys.executable, "-m", "driftline.cli", "spark-jars", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=tmp_path,
    )
    assert filled.returncode == 0, filled.stdout[-3000:] + filled.stderr[-3000:]
    names = sorted(jar.name for jar in folder.glob("*.jar"))
    assert any(name.startswith("io.delta_delta-spark_") for name in names), names
    assert any(name.startswith("org.apache.hadoop_hadoop-aws-") for name in names), names
    assert not any("jackson-core" in name or "parquet-column" in name for name in names), names
    table = tmp_path / "table"
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "from driftline.core.settings import load_settings\n"
            "from driftline.core.spark import get_spark, _loads\n"
            "spark = get_spark(load_settings())\n"
            "print('packages', spark.conf.get('spark.jars.packages', None))\n"
            "print('s3a', _loads(spark, 'org.apache.hadoop.fs.s3a.S3AFileSystem'))\n"
            f"spark.range(3).write.format('delta').save('{table}')\n"
            f"spark.range(2).write.format('delta').mode('append').save('{table}')\n"
            f"print('history', spark.sql('DESCRIBE HISTORY delta.`{table}`').count())\n"
            f"print('rows', spark.read.format('delta').load('{table}').count())",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=tmp_path,
        env={
            **os.environ,
            "DRIFTLINE_SPARK_JARS_DIR": str(folder),
            "DRIFTLINE_LAKE_BACKEND": "delta-spark",
        },
    )
    assert started.returncode == 0, started.stderr[-3000:]
    keys = ("packages", "s3a", "history", "rows")
    printed = dict(
        line.split(" ", 1) for line in started.stdout.splitlines() if line.startswith(keys)
    )
    assert printed == {"packages": "None", "s3a": "True", "history": "2", "rows": "5"}, printed


@pytest.mark.integration
def test_delta_and_s3a_load_beside_pyspark_s_own_hadoop_only(spark) -> None:  # type: ignore[no-untyped-def]
    """Delta's kernel names an older Hadoop's client jars; the session leaves them out, so
    one Hadoop (pyspark's, which S3A matches) is on the classpath and Delta still loads."""
    from driftline.core.spark import _loads, has_delta_jars

    jars = spark.conf.get("spark.jars", "").split(",")
    assert any("delta-spark" in jar for jar in jars), jars
    assert not [jar for jar in jars if "hadoop-client-" in jar]
    assert has_delta_jars(spark)
    assert _loads(spark, "org.apache.hadoop.fs.s3a.S3AFileSystem")
    version = spark.sparkContext._jvm.org.apache.hadoop.util.VersionInfo.getVersion()
    assert object_store_hadoop() == version


def object_store_hadoop() -> str:
    from driftline.core import object_store

    return object_store.s3a_package().rsplit(":", 1)[1]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("localhost:15002", "sc://host:port"),
        ("http://localhost:15002", "sc://host:port"),
        ("sc://", "sc://host:port"),
        ("sc://localhost:port", "port must be a number"),
        ("sc://localhost:99999", "port must be a number"),
    ],
)
def test_a_connect_server_is_given_as_an_sc_url(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=rf"DRIFTLINE_SPARK_REMOTE.*{problem}"):
        load_settings(spark_remote=value)
    assert load_settings(spark_remote="").spark_remote is None
    assert load_settings(spark_remote="sc://spark:15002").spark_remote == "sc://spark:15002"


@pytest.mark.parametrize(
    ("other", "named"),
    [
        ({"step_launcher": "spark-submit"}, "DRIFTLINE_STEP_LAUNCHER"),
        ({"lake_backend": "delta-spark"}, "DRIFTLINE_LAKE_BACKEND"),
    ],
)
def test_a_connect_server_with_what_it_cannot_serve_is_refused(
    other: dict[str, str], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(spark_remote="sc://localhost:15002", **other)


def test_no_connect_server_answering_says_what_to_do() -> None:
    from driftline.core.spark import wait_for_server
    from driftline.orchestration.spark_server import free_port

    url = f"sc://127.0.0.1:{free_port()}"
    with pytest.raises(SparkUnavailableError, match=rf"DRIFTLINE_SPARK_REMOTE={url}.*driftline ui"):
        wait_for_server(url, seconds=0.5)


def test_packages_come_from_the_nodes_jars_folder_when_one_is_named(tmp_path: Path) -> None:
    from driftline.core.spark import ivy_jar_name, node_jars_conf, submit_packages

    lake = {"lake_uri": "s3://bucket/lake", "lake_backend": "delta-spark"}
    resolved = submit_packages(load_settings(**lake))
    assert any(p.startswith("io.delta:") for p in resolved), resolved
    assert any(p.startswith("org.apache.hadoop:hadoop-aws:") for p in resolved), resolved
    assert node_jars_conf(load_settings(**lake)) == {}

    folder = tmp_path / "jars"
    folder.mkdir()
    settings = load_settings(**lake, spark_jars_dir=folder)
    with pytest.raises(ConfigError, match=rf"{re.escape(str(folder))} lacks.*driftline spark-jars"):
        node_jars_conf(settings)
    for package in resolved:
        (folder / ivy_jar_name(package)).write_bytes(b"")
    # On the class path of every JVM where it runs: never resolved, shipped or copied.
    assert submit_packages(settings) == []
    assert node_jars_conf(settings) == {
        "spark.driver.extraClassPath": f"{folder}/*",
        "spark.executor.extraClassPath": f"{folder}/*",
    }
    # A package added since the folder was filled (or a version upgraded) is named.
    added = load_settings(**lake, spark_jars_dir=folder, spark_packages="org.example:extra:1.0")
    with pytest.raises(ConfigError, match=r"lacks the jars of org\.example:extra:1\.0:"):
        node_jars_conf(added)
    # The class archive's class path would not begin the driver's: it is not mapped.
    archive = tmp_path / "spark.jsa"
    archive.write_bytes(b"built")
    assert "SharedArchiveFile" in driver_java_options(load_settings(spark_class_archive=archive))
    without = load_settings(spark_class_archive=archive, spark_jars_dir=folder)
    assert "SharedArchiveFile" not in driver_java_options(without)


def test_delta_is_set_up_from_the_folder_only_where_the_backend_may_use_it(
    tmp_path: Path,
) -> None:
    from driftline.core.spark import delta_on_nodes

    folder = tmp_path / "jars"
    folder.mkdir()
    assert not delta_on_nodes(load_settings(spark_jars_dir=folder))  # auto, no Delta there
    (folder / "io.delta_delta-spark_4.2_2.13-4.4.0.jar").write_bytes(b"")
    assert delta_on_nodes(load_settings(spark_jars_dir=folder))  # auto picks delta-spark
    assert not delta_on_nodes(load_settings(spark_jars_dir=folder, lake_backend="delta-rs"))
    assert not delta_on_nodes(load_settings(lake_backend="delta-spark"))  # packages instead


def test_the_nodes_jars_folder_must_be_absolute() -> None:
    with pytest.raises(ConfigError, match=r"DRIFTLINE_SPARK_JARS_DIR.*absolute"):
        load_settings(spark_jars_dir="jars")
    assert load_settings(spark_jars_dir="").spark_jars_dir is None
