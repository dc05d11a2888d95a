"""Files of a local drop folder: which belong to a run date, their checksum and header."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from driftline.config import SourceConfig
from driftline.errors import SourceError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    size: int
    checksum: str


def files_for_date(drop_root: Path, source: SourceConfig, run_date: date) -> list[DroppedFile]:
    """The files matching the source's glob for `run_date`, sorted by name.

    The glob is resolved inside `drop_root` and every match is checked to stay there, so a
    symlink or a crafted name cannot make ingest read outside the drop area.
    """
    pattern = source.path.format(run_date=run_date.isoformat())
    root = drop_root.resolve()
    found = []
    for path in sorted(root.glob(pattern)):
        resolved = path.resolve()
        if not resolved.is_relative_to(root):
            raise SourceError(
                f"source {source.name!r}: {path} resolves outside the drop root {root}; "
                "remove the link or file"
            )
        if resolved.is_file():
            found.append(DroppedFile(resolved, resolved.stat().st_size, sha256_of(resolved)))
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_header(path: Path, source: SourceConfig) -> list[str]:
    """The column names on the first line, decoded as the source says (BOM tolerated)."""
    encoding = source.csv.encoding
    if codecs.lookup(encoding).name == "utf-8":
        encoding = "utf-8-sig"
    try:
        with path.open("r", encoding=encoding, newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as error:
        raise SourceError(
            f"{path.name}: the header is not valid {source.csv.encoding} ({error.reason}); "
            f"set sources[{source.name}].csv.encoding to the file's encoding"
        ) from None
    reader = csv.reader(
        io.StringIO(first), delimiter=source.csv.delimiter, quotechar=source.csv.quote
    )
    return [name.strip() for name in next(reader, [])]
