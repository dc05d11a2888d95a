"""Delivered files copied where every executor can read them (`DRIFTLINE_STAGING_URI`).

The fast tests use a folder as the shared location (one every node would mount); the
integration test puts it in a bucket on moto's S3 server and checks that Spark read the
bucket's copies, that ingest accounts for every row exactly as it does without sharing,
and that nothing is left under the URI once the rows are committed."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from pathlib import Path

import pytest

from driftline.core.errors import ConfigError, SourceError
from driftline.core.intervals import RunInterval
from driftline.core.settings import load_settings
from driftline.sources import shared_staging
from driftline.sources.files import DroppedFile
from driftline.sources.readers import locator
from driftline.sources.unpack import Member

DAY = date(2024, 3, 1)
RUN = RunInterval(DAY)


def member(path: Path, label: str | None = None) -> Member:
    data = path.read_bytes()
    parent = DroppedFile(path.name, path, len(data), hashlib.sha256(data).hexdigest(), str(path))
    return Member(label or path.name, path, parent)


def test_without_a_staging_uri_spark_reads_the_files_where_they_are(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    found = [member(tmp_path / "a.csv")]
    assert shared_staging.share(load_settings(home=tmp_path), "s", RUN, "unpacked", found) == found
    assert found[0].spark_path == str(tmp_path / "a.csv")


def test_shared_copies_are_named_apart_replaced_on_a_rerun_and_cleared(tmp_path: Path) -> None:
    shared_root = tmp_path / "shared"
    settings = load_settings(home=tmp_path, staging_uri=str(shared_root))
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a b.csv").write_text(f"x\n{folder}\n")
    found = [member(tmp_path / "one" / "a b.csv"), member(tmp_path / "two" / "a b.csv")]
    where = shared_root / "customers" / DAY.isoformat() / "unpacked"
    (where / "left-over.csv").parent.mkdir(parents=True)
    (where / "left-over.csv").write_text("from an earlier run")

    shared = shared_staging.share(settings, "customers", RUN, "unpacked", found)

    assert sorted(p.name for p in where.iterdir()) == ["00000-a_b.csv", "00001-a_b.csv"]
    assert [Path(m.spark_path).read_text() for m in shared] == ["x\none\n", "x\ntwo\n"]
    assert [(m.label, m.path, m.parent) for m in shared] == [
        (m.label, m.path, m.parent) for m in found
    ]
    shared_staging.clear(settings, "customers", RUN)
    assert not where.parent.exists()
    shared_staging.clear(settings, "customers", RUN)  # nothing to remove: no error


def test_spark_uris_of_shared_copies_lead_back_to_the_local_files(tmp_path: Path) -> None:
    local = tmp_path / "a b.csv"
    local.write_text("x\n")
    on_s3 = Member("a b.csv", local, member(local).parent, "s3a://bucket/st/00000-a_b.csv")
    locate = locator([on_s3])
    assert locate("s3a://bucket/st/00000-a_b.csv") == local
    assert locate("s3://bucket/st//00000-a_b.csv") == local  # Hadoop drops the empty part
    with pytest.raises(SourceError, match="none of the shared copies"):
        locate("s3a://bucket/st/00001-other.csv")
    # Without shared copies Spark's URI is the local file, URL-encoded.
    assert locator([member(local)])(local.as_uri()) == local  # file:///...a%20b.csv


def test_a_shared_folder_with_a_space_maps_back_from_spark_s_encoded_uri(tmp_path: Path) -> None:
    local = tmp_path / "a.csv"
    local.write_text("x\n")
    shared = Member("a.csv", local, member(local).parent, "/mnt/shared data/00000-a.csv")
    assert locator([shared])("file:/mnt/shared%20data/00000-a.csv") == local


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("relative/staging", "absolute path"),
        ("gs://bucket/staging", "s3:// URI"),
        ("s3:///staging", "names no bucket"),
        ("s3://bucket/50%/staging", "without %, # or ?"),
    ],
)
def test_a_staging_uri_spark_nodes_cannot_share_is_refused(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"DRIFTLINE_STAGING_URI.*{problem}"):
        load_settings(staging_uri=value)


@pytest.mark.parametrize("inside", ["staging", "drop", "drop/shared", "."])
def test_a_shared_folder_overlapping_the_drop_or_local_staging_is_refused(
    tmp_path: Path, inside: str
) -> None:
    """Each night's copies would land among the delivered files, or be deleted from under
    the local copies being shared."""
    with pytest.raises(ConfigError, match=r"overlaps DRIFTLINE_(DROP|STAGING)_ROOT"):
        load_settings(home=tmp_path, staging_uri=str(tmp_path / inside))


def test_each_pipeline_of_a_project_shares_under_its_own_name(tmp_path: Path) -> None:
    from driftline.core.loading import pipeline_settings

    (tmp_path / "pipelines").mkdir()
    for name in ("churn", "fraud"):
        (tmp_path / "pipelines" / f"{name}.yaml").write_text(f"pipeline: {name}\n")
    settings = load_settings(home=tmp_path, staging_uri="s3://bucket/staging/")
    assert pipeline_settings(settings, "fraud").staging_uri == "s3://bucket/staging/fraud"


@pytest.mark.integration
def test_spark_reads_the_copies_in_the_bucket_and_every_row_is_accounted_for(  # type: ignore[no-untyped-def]
    spark, s3_lake_store, tmp_path, monkeypatch
) -> None:
    import gzip

    from pyarrow import fs as pafs

    from driftline.context import RunContext
    from driftline.core import object_store, tables
    from driftline.core.loading import load_pipeline
    from driftline.lake import open_lake
    from driftline.sources import arrow_csv
    from driftline.steps import ingest
    from tests.conftest import PROJECT, make_settings
    from tests.steps.conftest import HEADER, row

    drop = tmp_path / "drop" / "customers" / DAY.isoformat()
    drop.mkdir(parents=True)
    (drop / "a.csv").write_text(HEADER + row(1) + "C00002,2024-03-01,5\n" + row(3))
    (drop / "b.csv.gz").write_bytes(gzip.compress((HEADER + row(4) + row(5)).encode()))
    (drop / "bad.csv").write_text("customer_id,snapshot_date\nC9,2024-03-01\n")
    staging_uri = f"{s3_lake_store}/{uuid.uuid4().hex}/staging"
    read_from: list[str] = []
    original_read = ingest.read

    def spying_read(session, source, found):  # type: ignore[no-untyped-def]
        parsed, broken = original_read(session, source, found)
        read_from.extend(f for group in parsed for f in group.frame.inputFiles())
        return parsed, broken

    monkeypatch.setattr(ingest, "read", spying_read)
    original_land = arrow_csv.land

    def spying_land(session, files, *args):  # type: ignore[no-untyped-def]
        read_from.extend(f.uri for f in files)  # the executors read them with Arrow
        return original_land(session, files, *args)

    monkeypatch.setattr(arrow_csv, "land", spying_land)
    pipeline = load_pipeline(PROJECT / "driftline.yaml")
    accounts = {}
    for name, shared in (("here", None), ("shared", staging_uri)):
        settings = make_settings(tmp_path / name, drop_root=tmp_path / "drop", staging_uri=shared)
        lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
        ctx = RunContext(RUN, f"test-{name}", settings, pipeline, spark, lake)
        ingest.run(ctx, source="customers")
        bronze = lake.read(tables.bronze("customers"))
        quarantine = lake.read(tables.quarantine("customers"))
        accounts[name] = {
            "manifest": sorted(
                (r["file_name"], r["status"], r["rows_bronze"], r["rows_quarantined"])
                for r in lake.read(tables.INGEST_MANIFEST).collect()
            ),
            "bronze": sorted(
                (r["_source_file"], r["_row_number"], r["customer_id"]) for r in bronze.collect()
            ),
            "quarantine": sorted(
                (r["_source_file"], r["_row_number"], r["_raw"]) for r in quarantine.collect()
            ),
        }
    assert accounts["shared"] == accounts["here"]
    assert ("a.csv", "ingested", 2, 1) in accounts["here"]["manifest"]
    assert ("bad.csv", "quarantined", 0, 1) in accounts["here"]["manifest"]
    shared_reads = [f for f in read_from if f.startswith("s3a://")]
    assert shared_reads and all(
        f.startswith(object_store_prefix(staging_uri)) for f in shared_reads
    )
    assert len(shared_reads) == len(read_from) // 2  # the other run read its local files
    filesystem, root = object_store.filesystem(staging_uri)
    left = filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    assert [i.path for i in left if i.type == pafs.FileType.File] == []


def object_store_prefix(uri: str) -> str:
    return "s3a://" + uri[len("s3://") :]


@pytest.mark.integration
def test_a_night_with_nothing_to_share_records_its_missing_delivery(  # type: ignore[no-untyped-def]
    spark, tmp_path
) -> None:
    """Nothing delivered: nothing is copied, and ingest still writes its manifest (a
    shared folder every node mounts, the other form of the setting)."""
    from driftline.context import RunContext
    from driftline.core import tables
    from driftline.core.loading import load_pipeline
    from driftline.lake import open_lake
    from driftline.steps import ingest
    from tests.conftest import PROJECT, make_settings

    (tmp_path / "drop").mkdir()
    settings = make_settings(tmp_path, staging_uri=str(tmp_path / "shared"))
    lake = open_lake(settings.resolved_lake_uri, spark, "delta-rs")
    pipeline = load_pipeline(PROJECT / "driftline.yaml")
    ctx = RunContext(RUN, "test-empty", settings, pipeline, spark, lake)
    result = ingest.run(ctx, source="customers")
    assert result.metrics["customers"]["missing"] is True
    (entry,) = lake.read(tables.INGEST_MANIFEST).collect()
    assert entry["status"] == "missing"
    assert not (tmp_path / "shared" / "customers").exists()
