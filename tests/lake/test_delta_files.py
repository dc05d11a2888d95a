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
