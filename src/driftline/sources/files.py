"""Files dropped for a run date, wherever they came from, ready for Spark to read.

A `DroppedFile` is one unit of exactly-once accounting: the manifest keys it on (source,
checksum of its bytes as delivered), so the same content renamed or dropped again is
recognised.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from driftline.core.errors import SourceError
from driftline.core.intervals import RunInterval
from driftline.core.source_config import SourceConfig
from driftline.sources.arrival import Listed, ready_files

_CHUNK = 1 << 20


@dataclass(frozen=True)
class DroppedFile:
    name: str  # as delivered (relative to its folder, bucket prefix or the extract)
    path: Path  # the local copy Spark reads
    size: int
    checksum: str
    origin: str  # where it came from: a local path, sftp://, s3:// or sql:// address
    # SQL incremental extracts: the watermark range the extract covers.
    watermark_from: str | None = None
    watermark_to: str | None = None


@dataclass(frozen=True)
class Acquired:
    """What a source delivered for a date: complete files, and names still being written."""

    files: list[DroppedFile]
    not_ready: list[str]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def local_files(drop_root: Path, source: SourceConfig, interval: RunInterval) -> Acquired:
    """The complete files matching the source's glob for `interval`, sorted by name.

    The glob is resolved inside `drop_root` and every match is checked to stay there, so a
    symlink or a crafted name cannot make ingest read outside the drop area.
    """
    assert source.path is not None
    pattern = source.path_for(*interval.path_values)
    root = drop_root.resolve()

    def listing() -> list[Listed]:
        found = []
        for path in sorted(root.glob(pattern)):
            resolved = path.resolve()
            if not resolved.is_relative_to(root):
                raise SourceError(
                    f"source {source.name!r}: {path} resolves outside the drop root {root}; "
                    "remove the link or file"
                )
            if resolved.is_file():
                stat = resolved.stat()
                found.append(Listed(str(path.relative_to(root)), stat.st_size, stat.st_mtime))
        return found

    marker_glob = None
    if source.arrival.done_marker:
        marker_glob = pattern + source.arrival.done_marker
    first = listing()
    if marker_glob:  # markers may not match the data glob (`*.csv` vs `*.csv.done`)
        known = {f.name for f in first}
        for path in sorted(root.glob(marker_glob)):
            name = str(path.relative_to(root))
            if name not in known and path.resolve().is_relative_to(root):
                first.append(Listed(name, 0, 0.0))
    ready, waiting = ready_files(first, source.arrival, listing)
    files = []
    for item in ready:
        path = root / item.name
        files.append(DroppedFile(path.name, path, item.size, sha256_of(path), str(path)))
    return Acquired(files, [w.name for w in waiting])
