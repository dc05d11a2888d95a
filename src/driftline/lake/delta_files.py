"""The file-level pieces of a delta-rs commit: staging, moving Parquet files into a table,
describing them as Delta log `add` actions (with row counts from their footers), partition
folders and values, and sweeping what a crashed write left behind.

Kept apart from `delta_rs.DeltaRsBackend` so the backend reads as the commit protocol and
this module as the file handling it relies on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from driftline.core.errors import LakeWriteError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyarrow import fs as pafs

logger = logging.getLogger(__name__)

STAGING_DIR = "_staging"


def spark_uri(uri: str) -> str:
    """Spark's Hadoop file systems name S3 `s3a://`; delta-rs and Arrow say `s3://`."""
    return "s3a://" + uri[len("s3://") :] if uri.startswith("s3://") else uri


def data_file_uris(table: Any, uri: str) -> list[str]:
    """The snapshot's data files, as paths Spark and Arrow take literally.

    The Delta log stores each file's path URL-encoded (a partition `a b%c` sits in the
    folder `t=a b%25c`, logged as `t=a%20b%2525c`). delta-rs' own `file_uris()` decodes
    local paths but hands back object-store URIs still partly encoded, which S3A would
    look up as other keys; decoding the logged paths once, here, gives the key itself.
    """
    import pyarrow as pa

    return _absolute(uri, pa.table(table.get_add_actions(flatten=False)).column("path"))


def _absolute(uri: str, logged: pa.ChunkedArray) -> list[str]:
    """The log's (URL-encoded, mostly table-relative) paths as the files' own."""
    decoded = (unquote(path) for path in logged.to_pylist())
    return [path if "://" in path else f"{uri.rstrip('/')}/{path}" for path in decoded]


# Reader features that leave every row of a data file as it is, under its own column
# names: a table with no others can be scanned file by file, without a Delta reader.
# Deletion vectors (rows a file still holds but the table has deleted) and column mapping
# (physical names unlike the schema's) need one.
PLAIN_READER_FEATURES = frozenset({"timestampNtz", "v2Checkpoint", "vacuumProtocolCheck"})


def partition_file_uris(
    uri: str, partition: Mapping[str, str], version: int | None
) -> list[str] | None:
    """The data files holding `partition` of the table at `uri` (at `version`), as Arrow
    takes them (`s3://`, not `s3a://`); None when they cannot be read alone (see
    `PLAIN_READER_FEATURES`) or delta-rs cannot read this table's log.

    Read with delta-rs whichever backend wrote the table: both write the same log."""
    from deltalake import DeltaTable

    from driftline.core import object_store

    options = object_store.delta_rs_options() if object_store.is_s3(uri) else None
    try:
        table = DeltaTable(uri, version=version, storage_options=options)
        protocol = table.protocol()
        features = set(protocol.reader_features or ())
        mapping = table.metadata().configuration.get("delta.columnMapping.mode", "none")
        actions = partition_actions(table, partition)
    except Exception as error:
        # Spark's reader may still manage, so fall back: delta-rs raises its own errors
        # for a log it cannot read, and OSError or others for storage it cannot reach
        # from here (credentials only the cluster holds).
        logger.warning("cannot list %s's files here (%s); Spark's reader reads them", uri, error)
        return None
    if protocol.min_reader_version == 2 or features - PLAIN_READER_FEATURES or mapping != "none":
        logger.info(
            "%s needs a Delta reader (reader version %d, features %s, column mapping %s)",
            uri,
            protocol.min_reader_version,
            sorted(features),
            mapping,
        )
        return None
    if actions is None:
        return None  # not partitioned that way
    return _absolute(uri, actions.column("path")) if actions.num_rows else []


def partition_actions(table: Any, partition: Mapping[str, str]) -> pa.Table | None:
    """The snapshot's add actions (flattened: `path`, `num_records`, `partition.<k>`) of the
    files in `partition`; None when the table is not partitioned by all of its columns.

    A partition value matches as Delta stores it, a string: a date's ISO form, an hour's
    digits (what `RunInterval.partition` gives)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    actions = pa.table(table.get_add_actions(flatten=True))
    if actions.num_rows == 0:
        return actions
    if any(f"partition.{k}" not in actions.column_names for k in partition):
        return None
    keep = pa.array([True] * actions.num_rows)
    for key, value in partition.items():
        stored = pc.cast(actions.column(f"partition.{key}"), pa.string())
        keep = pc.and_kleene(keep, pc.fill_null(pc.equal(stored, str(value)), False))
    return actions.filter(keep)


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    from driftline.core.object_store import filesystem as store_filesystem

    return store_filesystem(uri)


def require_written(filesystem: pafs.FileSystem, staging: str, uri: str) -> None:
    """A Spark write leaves its folder (with `_SUCCESS`, unless turned off) once its files are
    in place. Seeing neither here means Spark's driver wrote where this process cannot look
    (a Spark Connect server on another host with a lake on its local disk, say); committing
    then would record a write without its files, and a partition replace would empty the
    partition."""
    from pyarrow import fs as pafs

    found = filesystem.get_file_info([staging, f"{staging}/_SUCCESS"])
    if all(info.type == pafs.FileType.NotFound for info in found):
        raise LakeWriteError(
            f"Spark wrote a new version of {uri}, but this process cannot see its files "
            f"({staging}): the Spark driver and the step must share the lake; with "
            "DRIFTLINE_SPARK_REMOTE on another host, put the lake on s3:// or a folder both "
            "mount at the same path"
        )


def publish_staged_files(
    filesystem: pafs.FileSystem, root: str, write_id: str, partition_by: list[str]
) -> list[Any]:
    """Move staged Parquet files into the table folder and describe them for the Delta log."""
    from pyarrow import fs as pafs

    staging = f"{root}/{STAGING_DIR}/{write_id}"
    selector = pafs.FileSelector(staging, recursive=True)
    actions = []
    for info in filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File or not info.path.endswith(".parquet"):
            continue
        relative_dir, _, filename = info.path[len(staging) + 1 :].rpartition("/")
        values = partition_values(relative_dir, partition_by)
        target_dir = f"{root}/{relative_dir}" if relative_dir else root
        target = f"{target_dir}/{write_id}-{filename}"
        filesystem.create_dir(target_dir, recursive=True)
        rows = move_and_count(filesystem, info.path, target)
        actions.append(add_action(target[len(root) + 1 :], info.size, values, rows))
    return actions


def adopt_files(
    filesystem: pafs.FileSystem,
    source_dir: str,
    root: str,
    write_id: str,
    partition: dict[str, str],
) -> list[tuple[Any, str, int]]:
    """Move the Parquet files under `source_dir` into the table at `root`, in the folder of
    `partition`, and describe them for the Delta log (none when the folder is missing).

    Returns each file's add action, the sub-folder of `source_dir` it came from, and its
    rows. The sub-folder's name also goes into the file's new name: Spark names the files
    of one task alike in every sub-folder."""
    from pyarrow import fs as pafs

    relative_dir = partition_dir(partition)
    target_dir = f"{root}/{relative_dir}" if relative_dir else root
    values = {k: str(v) for k, v in partition.items()}
    selector = pafs.FileSelector(source_dir, recursive=True, allow_not_found=True)
    actions = []
    for info in filesystem.get_file_info(selector):
        if info.type != pafs.FileType.File or not info.path.endswith(".parquet"):
            continue
        folder, _, filename = info.path[len(source_dir) + 1 :].rpartition("/")
        prefix = "".join(c if c.isalnum() else "-" for c in folder)
        filesystem.create_dir(target_dir, recursive=True)
        target = f"{target_dir}/{write_id}-{prefix + '-' if prefix else ''}{filename}"
        rows = move_and_count(filesystem, info.path, target)
        action = add_action(target[len(root) + 1 :], info.size, values, rows)
        actions.append((action, folder, rows))
    return actions


def partition_dir(partition: dict[str, str]) -> str:
    """The folder of a partition inside its table, as Delta and Spark name it."""
    from urllib.parse import quote

    return "/".join(f"{k}={quote(str(v), safe='')}" for k, v in partition.items())


def move_and_count(filesystem: pafs.FileSystem, source: str, target: str) -> int:
    """Move a Parquet file and return its rows, from its footer."""
    import pyarrow.parquet as pq

    filesystem.move(source, target)
    with filesystem.open_input_file(target) as handle:
        return int(pq.read_metadata(handle).num_rows)


def add_action(
    path: str, size: int | None, partition_values: Mapping[str, str | None], rows: int
) -> Any:
    """A file's entry in the Delta log, its row count as the statistics (what
    `partition_rows` and the commit's row count read back)."""
    from deltalake.transaction import AddAction

    return AddAction(
        path=path,
        size=int(size or 0),
        partition_values=partition_values,
        modification_time=int(time.time() * 1000),
        data_change=True,
        stats=json.dumps({"numRecords": rows}),
    )


def partition_values(relative_dir: str, partition_by: list[str]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for part in relative_dir.split("/") if relative_dir else []:
        key, _, value = part.partition("=")
        raw = unquote(value)
        values[key] = None if raw == "__HIVE_DEFAULT_PARTITION__" else raw
    missing = set(partition_by) - set(values)
    if missing:
        raise LakeWriteError(f"staged file has no value for partition columns {sorted(missing)}")
    return values


def remove_stale_staging(filesystem: pafs.FileSystem, root: str, cutoff: float) -> int:
    """Remove the table's staging folders in which nothing changed after `cutoff` (epoch
    seconds): writes that died. Returns how many."""
    from pyarrow import fs as pafs

    removed = 0
    staging = pafs.FileSelector(f"{root}/{STAGING_DIR}", allow_not_found=True)
    for folder in filesystem.get_file_info(staging):
        inside = filesystem.get_file_info(pafs.FileSelector(folder.path, recursive=True))
        touched = [i.mtime.timestamp() for i in [folder, *inside] if i.mtime is not None]
        # An object store's folders are names without a time: one holding no dated file
        # yet may be a write that has just begun, so it stays.
        if max(touched, default=float("inf")) < cutoff:
            remove_dir(filesystem, folder.path)
            removed += 1
    return removed


def remove_dir(filesystem: pafs.FileSystem, path: str) -> None:
    try:
        filesystem.delete_dir(path)
    except OSError:
        logger.warning("could not remove staging folder %s; `driftline lake maintain` will", path)


def nullable(schema: pa.Schema) -> pa.Schema:
    """Delta columns are nullable: a literal column must not make the table reject nulls."""
    import pyarrow as pa

    return pa.schema([field.with_nullable(True) for field in schema])


def delta_schema(schema: pa.Schema) -> Any:
    from deltalake import Schema

    return Schema.from_arrow(schema)


def arrow_schema(table: Any) -> pa.Schema:
    import pyarrow as pa

    schema = table.schema().to_arrow()
    # arro3 schemas from delta-rs convert to pyarrow through the Arrow C interface.
    return schema if isinstance(schema, pa.Schema) else pa.schema(schema)
