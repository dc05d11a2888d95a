"""The contract every Delta backend of `driftline.lake` honours, run against each one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from driftline.core.errors import TableNotFoundError
from tests.conftest import data_files_on_disk

pytestmark = pytest.mark.integration


@pytest.fixture(params=["delta-rs", "delta-spark", "delta-rs-on-s3", "delta-spark-on-s3"])
def lake(request: pytest.FixtureRequest, spark, tmp_path: Path, s3_lake_store: str):  # type: ignore[no-untyped-def]
    """Each backend with the lake in a local folder and on S3 (the moto server, through
    `s3a://` for Spark). No skip: the shared session carries Delta's and S3A's jars
    (infra/setup.sh caches them), and open_lake refuses delta-spark without them."""
    import uuid

    from driftline.lake import open_lake

    backend, _, store = request.param.partition("-on-")
    root = f"{s3_lake_store}/{uuid.uuid4().hex}/lake" if store else str(tmp_path / "lake")
    return open_lake(root, spark, backend)


def delta_table(lake, table: str):  # type: ignore[no-untyped-def]
    """delta-rs' own view of a table, wherever the lake lives."""
    from deltalake import DeltaTable

    from driftline.core import object_store

    uri = lake.uri(table)
    options = object_store.delta_rs_options() if object_store.is_s3(uri) else None
    return DeltaTable(uri, storage_options=options)


def rows(df) -> list[tuple]:  # type: ignore[no-untyped-def]
    return sorted(tuple(r) for r in df.collect())


def day(spark, run_date: str, ids: list[int]):  # type: ignore[no-untyped-def]
    d = date.fromisoformat(run_date)
    return spark.createDataFrame([(i, f"v{i}", d) for i in ids], "id int, v string, _run_date date")


def test_replace_partition_is_idempotent_and_leaves_other_dates(lake, spark) -> None:  # type: ignore[no-untyped-def]
    lake.replace_partition("t", day(spark, "2024-01-01", [1, 2]), {"_run_date": "2024-01-01"})
    lake.replace_partition("t", day(spark, "2024-01-02", [3]), {"_run_date": "2024-01-02"})
    lake.replace_partition("t", day(spark, "2024-01-02", [3]), {"_run_date": "2024-01-02"})
    result = lake.replace_partition(
        "t", day(spark, "2024-01-02", [4, 5]), {"_run_date": "2024-01-02"}
    )
    assert result.rows == 2
    assert [r[0] for r in rows(lake.read("t"))] == [1, 2, 4, 5]


def test_driver_rows_replace_a_partition_like_a_dataframe_would(lake, spark) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    ddl = "id int, v string, score double, at timestamp, source string, _run_date date"
    at = datetime(2024, 1, 1, 12, tzinfo=UTC)
    one = date(2024, 1, 1)
    partition = {"source": "a", "_run_date": "2024-01-01"}
    lake.replace_partition_rows("m", [(1, "x", 0.5, at, "a", one)], ddl, partition)
    lake.replace_partition(
        "m",
        spark.createDataFrame([(9, "y", 1.0, at, "b", one)], ddl),
        {"source": "b", "_run_date": "2024-01-01"},
    )
    result = lake.replace_partition_rows(
        "m", [(2, "z", None, at, "a", one), (3, None, 2.0, None, "a", one)], ddl, partition
    )
    assert result.rows == 2
    read = lake.read("m")
    assert read.schema.simpleString() == spark.createDataFrame([], ddl).schema.simpleString()
    assert [(r[0], r[1], r[2], r[4]) for r in rows(read)] == [
        (2, "z", None, "a"),
        (3, None, 2.0, "a"),
        (9, "y", 1.0, "b"),
    ]
    assert read.where("id = 2").first()["at"] == at.replace(tzinfo=None)


def evolved(lake, columns: list[str], new: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Where the backends differ: delta-spark's mergeSchema appends a new column after the
    table's existing ones (the partition column included), delta-rs keeps the writer's
    order. Driftline selects columns by name, never by position."""
    if lake.backend.name == "delta-spark":
        return [*columns, "_run_date", new]
    return [*columns, new, "_run_date"]


def test_a_replace_that_brings_a_new_column_evolves_the_schema(lake, spark) -> None:  # type: ignore[no-untyped-def]
    """Bronze gains a source's new column and predictions gain lineage columns over time:
    the later date's rows carry it, the earlier date's read it as null, and the version
    before the change still reads with its own schema."""
    from pyspark.sql import functions as F

    from driftline.lake.base import SplitTarget

    first = lake.replace_partition("t", day(spark, "2024-01-01", [1]), {"_run_date": "2024-01-01"})
    wider = spark.createDataFrame(
        [(2, "v2", "gold", date(2024, 1, 2))], "id int, v string, tier string, _run_date date"
    )
    lake.replace_partition("t", wider, {"_run_date": "2024-01-02"})
    read = lake.read("t")
    assert read.columns == evolved(lake, ["id", "v"], "tier")
    assert [(r["id"], r["tier"]) for r in read.orderBy("id").collect()] == [(1, None), (2, "gold")]
    assert lake.read("t", version=first.version).columns == ["id", "v", "_run_date"]
    targets = {
        "ok": SplitTarget("good", ["id", "v"], {"_run_date": "2024-01-01"}),
        "bad": SplitTarget(
            "rejects", ["id", "raw"], {"_stage": "ingest", "_run_date": "2024-01-01"}
        ),
    }
    lake.replace_partition_split(split_frame(spark, "2024-01-01", [1], [2]), "target", targets)
    wider_split = split_frame(spark, "2024-01-02", [3], []).withColumn("tier", F.lit("gold"))
    lake.replace_partition_split(
        wider_split,
        "target",
        {
            "ok": SplitTarget("good", ["id", "v", "tier"], {"_run_date": "2024-01-02"}),
            "bad": SplitTarget(
                "rejects", ["id", "raw"], {"_stage": "ingest", "_run_date": "2024-01-02"}
            ),
        },
    )
    good = lake.read("good")
    assert good.columns == evolved(lake, ["id", "v"], "tier")
    assert [(r["id"], r["tier"]) for r in good.orderBy("id").collect()] == [(1, None), (3, "gold")]


def test_time_travel_reads_an_earlier_version(lake, spark) -> None:  # type: ignore[no-untyped-def]
    first = lake.replace_partition("t", day(spark, "2024-01-01", [1]), {"_run_date": "2024-01-01"})
    lake.replace_partition("t", day(spark, "2024-01-01", [7, 8]), {"_run_date": "2024-01-01"})
    assert [r[0] for r in rows(lake.read("t", version=first.version))] == [1]
    assert [r[0] for r in rows(lake.read("t"))] == [7, 8]
    assert lake.version("t") == first.version + 1
    assert len(lake.history("t")) == 2


def test_merge_upserts_and_latest_wins(lake, spark) -> None:  # type: ignore[no-untyped-def]
    schema = "id int, v string, _run_date date"
    lake.merge(
        "s",
        spark.createDataFrame([(1, "a", date(2024, 1, 2)), (2, "b", date(2024, 1, 2))], schema),
        ["id"],
        ["_run_date"],
    )
    # An older date re-run must not overwrite what the newer date wrote; new keys insert.
    lake.merge(
        "s",
        spark.createDataFrame([(1, "old", date(2024, 1, 1)), (3, "c", date(2024, 1, 1))], schema),
        ["id"],
        ["_run_date"],
    )
    lake.merge(
        "s", spark.createDataFrame([(2, "newer", date(2024, 1, 3))], schema), ["id"], ["_run_date"]
    )
    assert [(r[0], r[1]) for r in rows(lake.read("s"))] == [(1, "a"), (2, "newer"), (3, "c")]


def test_failed_write_leaves_previous_version_intact(lake, spark) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType

    lake.replace_partition("t", day(spark, "2024-01-01", [1, 2]), {"_run_date": "2024-01-01"})
    before = lake.version("t")

    @F.udf(IntegerType())
    def explode_on_three(value: int) -> int:
        if value == 3:
            raise RuntimeError("executor died mid-write")
        return value

    failing = day(spark, "2024-01-01", [1, 2, 3, 4]).withColumn("id", explode_on_three("id"))
    with pytest.raises(Exception, match="executor died mid-write"):
        lake.replace_partition("t", failing, {"_run_date": "2024-01-01"})
    assert lake.version("t") == before
    assert [r[0] for r in rows(lake.read("t"))] == [1, 2]


def test_tables_keep_the_audit_retention_until_maintenance_reclaims_it(lake, spark) -> None:  # type: ignore[no-untyped-def]
    if lake.backend.name == "delta-spark":
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    first = lake.replace_partition("t", day(spark, "2024-01-01", [1]), {"_run_date": "2024-01-01"})
    lake.replace_partition("t", day(spark, "2024-01-01", [7, 8]), {"_run_date": "2024-01-01"})
    lake.replace_partition("t", day(spark, "2024-01-02", [9]), {"_run_date": "2024-01-02"})
    config = delta_table(lake, "t").metadata().configuration
    assert config["delta.logRetentionDuration"] == "interval 2555 days"
    assert config["delta.deletedFileRetentionDuration"] == "interval 2555 days"

    kept = lake.maintain("t", retention_days=2555)
    assert kept.files_removed == 0
    assert [r[0] for r in rows(lake.read("t", version=first.version))] == [1]

    reclaimed = lake.maintain("t", retention_days=0)
    assert reclaimed.files_removed >= 1
    assert [r[0] for r in rows(lake.read("t"))] == [7, 8, 9]
    current = delta_table(lake, "t")
    assert data_files_on_disk(lake.uri("t")) == {
        f.removeprefix(lake.uri("t") + "/") for f in current.file_uris()
    }
    assert current.metadata().configuration["delta.logRetentionDuration"] == "interval 0 days"


def test_maintenance_reclaims_what_a_crashed_write_left_behind(lake, spark) -> None:  # type: ignore[no-untyped-def]
    """A write killed after its files were staged, or moved in, but before its commit."""
    import os
    import time

    from pyarrow import fs as pafs

    from driftline.core import object_store

    if lake.backend.name == "delta-spark":
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    lake.replace_partition("t", day(spark, "2024-01-01", [1, 2]), {"_run_date": "2024-01-01"})
    filesystem, root = object_store.filesystem(lake.uri("t"))
    committed = data_files_on_disk(lake.uri("t"))
    orphan = f"{root}/_run_date=2024-01-01/crashed-part-00000.parquet"
    filesystem.copy_file(f"{root}/{sorted(committed)[0]}", orphan)
    staged = f"{root}/_staging/0123abcd/_run_date=2024-01-01/part-00000.parquet"
    filesystem.create_dir(staged.rsplit("/", 1)[0], recursive=True)
    filesystem.copy_file(orphan, staged)
    if object_store.is_s3(lake.uri("t")):
        time.sleep(1.1)  # an object's age has whole seconds: let these be older than now
    else:
        an_hour_ago = time.time() - 3600
        for path in (orphan, staged):
            os.utime(path, (an_hour_ago, an_hour_ago))

    def exists(path: str) -> bool:
        return bool(filesystem.get_file_info(path).type == pafs.FileType.File)

    lake.maintain("t", retention_days=1)  # younger than the retention: could be in flight
    assert exists(orphan) and exists(staged)

    done = lake.maintain("t", retention_days=0)
    assert not exists(orphan)
    assert data_files_on_disk(lake.uri("t")) == committed
    if lake.backend.name == "delta-rs":
        assert done.staging_folders_removed == 1
        assert not exists(staged)
    assert [r[0] for r in rows(lake.read("t"))] == [1, 2]


def test_append_adds_rows(lake, spark) -> None:  # type: ignore[no-untyped-def]
    lake.append("a", day(spark, "2024-01-01", [1]), ["_run_date"])
    lake.append("a", day(spark, "2024-01-01", [2]), ["_run_date"])
    assert [r[0] for r in rows(lake.read("a"))] == [1, 2]


def test_missing_table_is_a_clear_error(lake) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TableNotFoundError, match="'nope' does not exist"):
        lake.read("nope")


def test_tables_are_readable_by_delta_rs(lake, spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lake.replace_partition("t", day(spark, "2024-01-01", [1, 2]), {"_run_date": "2024-01-01"})
    table = delta_table(lake, "t")
    assert table.metadata().partition_columns == ["_run_date"]
    assert sorted(table.to_pyarrow_table().column("id").to_pylist()) == [1, 2]


def test_empty_write_commits_a_readable_table(lake, spark) -> None:  # type: ignore[no-untyped-def]
    empty = spark.createDataFrame([], "id int, v string, _run_date date")
    lake.replace_partition("e", empty, {"_run_date": "2024-01-01"})
    assert lake.read("e").count() == 0
    assert [f.name for f in lake.read("e").schema.fields] == ["id", "v", "_run_date"]


def test_partition_values_with_awkward_characters(lake, spark) -> None:  # type: ignore[no-untyped-def]
    for value in ("silver/customer", "features:scoring", "a b%c"):
        df = spark.createDataFrame([(1, value)], "id int, t string")
        lake.replace_partition("p", df, {"t": value})
        lake.replace_partition("p", df, {"t": value})
    assert sorted(r["t"] for r in lake.read("p").collect()) == [
        "a b%c",
        "features:scoring",
        "silver/customer",
    ]
    assert sorted(delta_table(lake, "p").to_pyarrow_table().column("t").to_pylist()) == [
        "a b%c",
        "features:scoring",
        "silver/customer",
    ]
    # VACUUM in full mode must find the live files under their escaped folder names.
    if lake.backend.name == "delta-spark":
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    assert lake.maintain("p", retention_days=0).files_removed == 3  # the superseded ones
    assert sorted(r["t"] for r in lake.read("p").collect()) == [
        "a b%c",
        "features:scoring",
        "silver/customer",
    ]


def split_frame(spark, run_date: str, good: list[int], bad: list[int]):  # type: ignore[no-untyped-def]
    d = date.fromisoformat(run_date)
    return spark.createDataFrame(
        [(i, f"v{i}", None, d, "ingest", "ok", i % 2) for i in good]
        + [(i, None, f"raw{i}", d, "ingest", "bad", i % 2) for i in bad],
        "id int, v string, raw string, _run_date date, _stage string, target string, unit int",
    )


@pytest.mark.parametrize("native", [True, False], ids=["one-write", "fallback"])
def test_a_split_write_commits_the_files_others_staged_with_its_own_rows(
    lake, spark, native: bool
) -> None:  # type: ignore[no-untyped-def]
    """Ingest's Arrow tasks write Parquet beside Spark's write (sources.arrow_csv); one
    commit per table takes both, and the counts per unit include the staged files."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyarrow import fs as pafs

    from driftline.core import object_store
    from driftline.lake.base import Lake, SplitTarget

    if not native:
        lake = Lake(lake.root, spark, without_split(lake.backend))
    staged = lake.staging_uri("good")
    filesystem, root = object_store.filesystem(staged)
    for target, unit, ids, v, raw in (
        ("ok", 5, [10, 11], ["a", "b"], [None, None]),
        ("bad", 5, [12], [None], ["r12"]),
    ):
        folder = f"{root}/target={target}/unit={unit}"
        filesystem.create_dir(folder, recursive=True)
        table = pa.table(
            {
                "id": pa.array(ids, pa.int32()),
                "v": pa.array(v, pa.string()),
                "raw": pa.array(raw, pa.string()),
            }
        )
        pq.write_table(table, f"{folder}/arrow.parquet", filesystem=filesystem)
    targets = {
        "ok": SplitTarget("good", ["id", "v"], {"_run_date": "2024-01-01"}),
        "bad": SplitTarget(
            "rejects", ["id", "raw"], {"_stage": "ingest", "_run_date": "2024-01-01"}
        ),
    }
    written = lake.replace_partition_split(
        split_frame(spark, "2024-01-01", [1, 2], [3]),
        "target",
        targets,
        count_by="unit",
        staged=staged,
    )
    assert (written["ok"].rows, written["bad"].rows) == (4, 2)
    assert written["ok"].rows_by == {"0": 1, "1": 1, "5": 2}
    assert written["bad"].rows_by == {"1": 1, "5": 1}
    assert [(r[0], r[1]) for r in rows(lake.read("good"))] == [
        (1, "v1"),
        (2, "v2"),
        (10, "a"),
        (11, "b"),
    ]
    assert [(r[0], r[1], r[2]) for r in rows(lake.read("rejects"))] == [
        (3, "raw3", "ingest"),
        (12, "r12", "ingest"),
    ]
    left = filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    assert [i.path for i in left if i.type == pafs.FileType.File] == []


def without_split(backend):  # type: ignore[no-untyped-def]
    """`backend` without its single-write split: the facade's fallback is used."""

    class Plain:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            if name == "replace_partition_split":
                raise AttributeError(name)
            return getattr(backend, name)

    return Plain()


@pytest.mark.parametrize("native", [True, False], ids=["one-write", "fallback"])
def test_split_write_sends_each_row_to_one_table_and_replaces(lake, spark, native: bool) -> None:  # type: ignore[no-untyped-def]
    from driftline.lake.base import Lake, SplitTarget

    if not native:  # a backend without the single-write path gets one replace per table
        lake = Lake(lake.root, spark, without_split(lake.backend))
    targets = {
        "ok": SplitTarget("good", ["id", "v"], {"_run_date": "2024-01-01"}),
        "bad": SplitTarget(
            "rejects", ["id", "raw"], {"_stage": "ingest", "_run_date": "2024-01-01"}
        ),
    }
    lake.replace_partition_split(
        split_frame(spark, "2024-01-01", [1, 2, 3], [4]), "target", targets
    )
    written = lake.replace_partition_split(
        split_frame(spark, "2024-01-01", [1, 2], [5, 6, 7]).repartition(3),
        "target",
        targets,
        count_by="unit",
    )
    assert (written["ok"].rows, written["bad"].rows) == (2, 3)
    # Rows of each unit (say, a delivered file) per table, from what was committed.
    assert (written["ok"].rows_by, written["bad"].rows_by) == ({"0": 1, "1": 1}, {"0": 1, "1": 2})
    good, rejects = lake.read("good"), lake.read("rejects")
    assert good.columns == ["id", "v", "_run_date"]
    assert rejects.columns == ["id", "raw", "_stage", "_run_date"]
    assert [r[0] for r in rows(good)] == [1, 2]
    assert [(r[0], r[1]) for r in rows(rejects)] == [(5, "raw5"), (6, "raw6"), (7, "raw7")]
    # The other table's partition of another date is untouched by a replace.
    lake.replace_partition_split(
        split_frame(spark, "2024-01-02", [9], []),
        "target",
        {
            "ok": SplitTarget("good", ["id", "v"], {"_run_date": "2024-01-02"}),
            "bad": SplitTarget(
                "rejects", ["id", "raw"], {"_stage": "ingest", "_run_date": "2024-01-02"}
            ),
        },
    )
    assert [r[0] for r in rows(lake.read("good"))] == [1, 2, 9]
    assert lake.read("rejects").count() == 3


def test_two_writers_commit_at_once_and_each_reports_its_own_version(lake, spark) -> None:  # type: ignore[no-untyped-def]
    """Two replaces of different dates commit to one table at the same moment: both land
    (or one fails cleanly as a LakeWriteError and lands on retry), the log stays readable,
    and each write reports the version its own commit created, never the other's."""
    import threading

    from driftline.core.errors import LakeWriteError

    lake.replace_partition("t", day(spark, "2024-01-01", [1]), {"_run_date": "2024-01-01"})
    frames = {
        d: day(spark, d, [int(d[-1]) * 10, int(d[-1]) * 10 + 1])
        for d in ("2024-01-02", "2024-01-03")
    }
    start = threading.Barrier(len(frames))
    reported: dict[str, int] = {}
    retried: list[str] = []

    def write(run_date: str) -> None:
        start.wait()
        for attempt in range(2):
            try:
                result = lake.replace_partition(
                    "t", frames[run_date], {"_run_date": run_date}, {"driftline.run_date": run_date}
                )
            except LakeWriteError:
                if attempt:
                    raise
                retried.append(run_date)
                continue
            reported[run_date] = result.version
            return

    threads = [threading.Thread(target=write, args=(d,)) for d in frames]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert set(reported) == set(frames), f"retried: {retried}"
    assert sorted(reported.values()) == [1, 2]
    assert [r[0] for r in rows(lake.read("t"))] == [1, 20, 21, 30, 31]
    for run_date, version in reported.items():
        assert {r[0] for r in rows(lake.read("t", version=version))} >= {int(run_date[-1]) * 10}
        entry = next(h for h in lake.history("t") if int(h["version"]) == version)
        assert run_date in str(entry), (run_date, entry)


def test_what_one_backend_writes_the_other_reads_identically(lake, spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Tables are Delta, not a backend's private format: replaces, a merge, a split write
    and an added column written by one backend read back through the other, at the latest
    version and at every earlier one, with the same history length."""
    from driftline.lake import open_lake
    from driftline.lake.base import SplitTarget

    lake.replace_partition("t", day(spark, "2024-01-01", [1, 2]), {"_run_date": "2024-01-01"})
    lake.replace_partition("t", day(spark, "2024-01-02", [3]), {"_run_date": "2024-01-02"})
    lake.replace_partition("t", day(spark, "2024-01-01", [4]), {"_run_date": "2024-01-01"})
    wider = spark.createDataFrame(
        [(5, "v5", "gold", date(2024, 1, 3))], "id int, v string, tier string, _run_date date"
    )
    lake.replace_partition("t", wider, {"_run_date": "2024-01-03"})
    schema = "id int, v string, _run_date date"
    for batch in (
        [(1, "a", date(2024, 1, 2))],
        [(1, "b", date(2024, 1, 3)), (2, "c", date(2024, 1, 1))],
    ):
        lake.merge("m", spark.createDataFrame(batch, schema), ["id"], ["_run_date"])
    lake.replace_partition_split(
        split_frame(spark, "2024-01-01", [1, 2], [3]),
        "target",
        {
            "ok": SplitTarget("good", ["id", "v"], {"_run_date": "2024-01-01"}),
            "bad": SplitTarget(
                "rejects", ["id", "raw"], {"_stage": "ingest", "_run_date": "2024-01-01"}
            ),
        },
    )
    other = "delta-rs" if lake.backend.name == "delta-spark" else "delta-spark"
    reader = open_lake(lake.root, spark, other)

    def named(df):  # type: ignore[no-untyped-def]
        return sorted(tuple(sorted(r.asDict().items())) for r in df.collect())

    for table in ("t", "m", "good", "rejects"):
        assert reader.version(table) == lake.version(table), table
        assert len(reader.history(table)) == len(lake.history(table)), table
        for version in range(lake.version(table) + 1):
            assert named(reader.read(table, version=version)) == named(
                lake.read(table, version=version)
            ), (table, version)


def test_a_partitions_data_files_hold_its_rows_until_a_delta_reader_is_needed(lake, spark) -> None:  # type: ignore[no-untyped-def]
    """`data_files` names the files of one partition at a version, readable alone by
    Arrow (`s3://` too), and says None once deleted rows hide inside files (deletion
    vectors) or physical column names differ from the schema's (column mapping)."""
    import pyarrow.parquet as pq

    from driftline.core import object_store
    from driftline.lake.delta_files import spark_uri

    lake.replace_partition("t", day(spark, "2024-01-01", [1, 2]), {"_run_date": "2024-01-01"})
    lake.replace_partition("t", day(spark, "2024-01-02", [3]), {"_run_date": "2024-01-02"})
    lake.replace_partition("t", day(spark, "2024-01-02", [4, 5]), {"_run_date": "2024-01-02"})

    def ids(files: list[str]) -> list[int]:
        found = []
        for uri in files:
            filesystem, path = object_store.filesystem(uri)
            with filesystem.open_input_file(path) as handle:
                found += pq.read_table(handle).column("id").to_pylist()
        return sorted(found)

    latest = lake.data_files("t", {"_run_date": "2024-01-02"})
    assert latest is not None and ids(latest) == [4, 5]
    assert ids(lake.data_files("t", {"_run_date": "2024-01-02"}, version=1) or []) == [3]
    assert lake.data_files("t", {"_run_date": "2024-01-09"}) == []
    hourly = "id int, v string, _run_date date, _run_hour int"
    for hour, of_hour in ((5, [6]), (15, [7, 8])):
        rows_of_hour = [(i, "h", date(2024, 1, 1), hour) for i in of_hour]
        partition = {"_run_date": "2024-01-01", "_run_hour": str(hour)}
        lake.replace_partition("h", spark.createDataFrame(rows_of_hour, hourly), partition)
    assert ids(lake.data_files("h", {"_run_date": "2024-01-01", "_run_hour": "5"}) or []) == [6]

    table = f"delta.`{spark_uri(lake.uri('t'))}`"
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('delta.enableDeletionVectors' = true)")
    spark.sql(f"DELETE FROM {table} WHERE id = 4")
    assert lake.data_files("t", {"_run_date": "2024-01-02"}) is None

    lake.replace_partition("c", day(spark, "2024-01-01", [1]), {"_run_date": "2024-01-01"})
    spark.sql(
        f"ALTER TABLE delta.`{spark_uri(lake.uri('c'))}` SET TBLPROPERTIES ("
        "'delta.columnMapping.mode' = 'name', 'delta.minReaderVersion' = '2', "
        "'delta.minWriterVersion' = '5')"
    )
    assert lake.data_files("c", {"_run_date": "2024-01-01"}) is None
