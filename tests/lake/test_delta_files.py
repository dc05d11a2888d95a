"""File-level helpers of the delta-rs backend, on small local tables (no Spark)."""

from __future__ import annotations

from pathlib import Path

from driftline.lake import delta_files


def test_data_files_are_named_as_stored_whatever_the_partition_value(tmp_path: Path) -> None:
    """The log keeps paths URL-encoded; readers get the stored name back. (On S3, where
    delta-rs' own URIs stay partly encoded, the lake contract suite's awkward partition
    values test covers it against moto.)"""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    uri = str(tmp_path / "t")
    for value in ("a b%c", "silver/customer", "plain"):
        write_deltalake(uri, pa.table({"id": [1], "t": [value]}), partition_by=["t"], mode="append")
    files = delta_files.data_file_uris(DeltaTable(uri), uri)
    assert len(files) == 3
    assert all(Path(f).is_file() for f in files), files
    assert {Path(f).parent.name for f in files} == {"t=a%20b%25c", "t=silver%2Fcustomer", "t=plain"}


def test_a_write_this_process_cannot_see_is_never_committed(tmp_path: Path) -> None:
    """A Spark driver elsewhere (a Spark Connect server on another host) may write staged
    files this process cannot read: no `_SUCCESS` here means no commit, and the error says
    the lake must be shared."""
    import pytest
    from pyarrow import fs as pafs

    from driftline.core.errors import LakeWriteError

    filesystem = pafs.LocalFileSystem()
    staging = tmp_path / "table" / delta_files.STAGING_DIR / "write"
    with pytest.raises(LakeWriteError, match="must share the lake"):
        delta_files.require_written(filesystem, str(staging), str(tmp_path / "table"))
    staging.mkdir(parents=True)
    (staging / "_SUCCESS").touch()
    delta_files.require_written(filesystem, str(staging), str(tmp_path / "table"))
