"""From a delivered file to what Spark reads: unpacked (gzip, zip) and, for text formats,
decoded from the source's encoding into plain UTF-8 without a BOM; a legacy CSV also loses
the metadata lines above its header and the delimiter at the end of each line.

Spark's readers replace undecodable bytes silently and fail a whole job on a truncated
archive; doing both here turns each into a clear, per-file reason to quarantine.
"""

from __future__ import annotations

import codecs
import gzip
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from driftline.core.errors import SourceError
from driftline.core.source_config import SourceConfig
from driftline.sources.files import DroppedFile
from driftline.sources.staging import inside, safe_name

_CHUNK = 1 << 20
TEXT_FORMATS = ("csv", "jsonl", "fixed_width")


@dataclass(frozen=True)
class Member:
    """One readable file: the delivered file itself or one member of its archive."""

    label: str  # `name` or `archive.zip!member.csv`, as bronze's `_source_file` shows it
    path: Path  # local, decoded copy (or the original when nothing needed doing)
    parent: DroppedFile
    # Where Spark reads it when that is not `path`: its copy under the shared staging URI
    # (`driftline.sources.shared_staging`), which every executor of a cluster can reach.
    read_uri: str | None = None

    @property
    def spark_path(self) -> str:
        return self.read_uri or str(self.path)


def compression_of(source: SourceConfig, name: str) -> str:
    if source.compression != "auto":
        return source.compression
    lowered = name.lower()
    if lowered.endswith((".gz", ".gzip")):
        return "gzip"
    if lowered.endswith(".zip"):
        return "zip"
    return "none"


def members(source: SourceConfig, file: DroppedFile, workdir: Path, index: int) -> list[Member]:
    """The readable files inside `file`; raises `SourceError` when it is broken as a whole."""
    kind = compression_of(source, file.name)
    folder = workdir / f"{index:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    budget = _Budget(file.name, source.max_unpacked_mb)
    if kind == "gzip":
        inner = file.name.rsplit(".", 1)[0] if "." in file.name else file.name
        target = inside(folder, safe_name(inner))
        try:
            with gzip.open(file.path, "rb") as packed, target.open("wb") as out:
                budget.copy(packed, out)
        except (EOFError, OSError, zlib.error) as error:
            raise SourceError(
                f"{file.name}: not a complete gzip file ({error}); ask the sender to re-send it"
            ) from None
        found = [Member(file.name, target, file)]
    elif kind == "zip":
        found = _zip_members(file, folder, budget)
    else:
        found = [Member(file.name, file.path, file)]
    if source.read_format == "csv" and source.csv.rewrites_lines:
        found = [_rewritten_csv(source, m, folder) for m in found]
    elif source.read_format in TEXT_FORMATS:
        found = [_as_utf8(source, m, folder) for m in found]
    return found


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _Budget:
    """How much one delivered file may still unpack to. Counted on the bytes actually
    written, not the sizes an archive declares, which a crafted archive can fake."""

    def __init__(self, name: str, max_mb: int) -> None:
        self.name = name
        self.max_mb = max_mb
        self.left = max_mb * 1024 * 1024

    def copy(self, packed: _Readable, out: BinaryIO) -> None:
        while chunk := packed.read(_CHUNK):
            self.left -= len(chunk)
            if self.left < 0:
                raise SourceError(
                    f"{self.name}: unpacks to more than {self.max_mb} MB (the source's "
                    "max_unpacked_mb), so it was not unpacked: a decompression bomb or an "
                    "extract far larger than agreed; raise max_unpacked_mb for this source "
                    "if the file is genuine"
                )
            out.write(chunk)


def _zip_members(file: DroppedFile, folder: Path, budget: _Budget) -> list[Member]:
    try:
        with zipfile.ZipFile(file.path) as archive:
            found = []
            for i, info in enumerate(archive.infolist()):
                if info.is_dir():
                    continue
                target = inside(folder, f"{i:04d}-{safe_name(info.filename)}")
                # Reading to the end checks the member's CRC: a damaged member raises.
                with archive.open(info) as packed, target.open("wb") as out:
                    budget.copy(packed, out)
                found.append(Member(f"{file.name}!{info.filename}", target, file))
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as error:
        raise SourceError(
            f"{file.name}: not a complete zip archive ({error}); ask the sender to re-send it"
        ) from None
    if not found:
        raise SourceError(f"{file.name}: the zip archive holds no files")
    return found


def _as_utf8(source: SourceConfig, member: Member, folder: Path) -> Member:
    """The member as UTF-8 without a BOM; the original when it already is."""
    encoding = codecs.lookup(source.encoding).name
    with member.path.open("rb") as handle:
        has_bom = handle.read(3) == codecs.BOM_UTF8
    if encoding == "utf-8" and not has_bom:
        _check_decodes(member, "utf-8")
        return member
    target = folder / f"{member.path.name}.utf8"
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    offset, line = 0, 1
    with member.path.open("rb") as raw, target.open("w", encoding="utf-8", newline="") as out:
        while chunk := raw.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                raise _undecodable(member, source.encoding, error, offset, line, chunk) from None
            out.write(text)
            offset += len(chunk)
            line += chunk.count(b"\n")
        out.write(decoder.decode(b"", final=True))
    return Member(member.label, target, member.parent)


def _rewritten_csv(source: SourceConfig, member: Member, folder: Path) -> Member:
    """The member as plain UTF-8 CSV starting at its header line, without the trailing
    delimiter its exporter puts on every line.

    Read line by line from the raw bytes, so an undecodable byte is still reported with its
    line and offset; a file in which no line matches `header_pattern` is refused whole (it
    is not the export the source describes)."""
    options = source.csv
    encoding = codecs.lookup(source.encoding).name
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding == "utf-8" else encoding)()
    pattern = re.compile(options.header_pattern) if options.header_pattern else None
    target = folder / f"{member.path.name}.csv"
    offset, found_header = 0, pattern is None
    with member.path.open("rb") as raw, target.open("w", encoding="utf-8", newline="") as out:
        for number, line in enumerate(raw, start=1):
            try:
                text = decoder.decode(line)
            except UnicodeDecodeError as error:
                raise _undecodable(member, source.encoding, error, offset, number, line) from None
            offset += len(line)
            if number <= options.skip_lines:
                continue
            if not found_header:
                assert pattern is not None
                found_header = pattern.search(text) is not None
                if not found_header:
                    continue
            if options.trailing_delimiter:
                text = _without_trailing_delimiter(text, options.delimiter)
            out.write(text)
    if not found_header:
        raise SourceError(
            f"{member.label}: no line matches the source's header_pattern "
            f"{options.header_pattern!r}; check the export (or the pattern)"
        )
    return Member(member.label, target, member.parent)


def _without_trailing_delimiter(line: str, delimiter: str) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    if body.endswith(delimiter):
        body = body[: -len(delimiter)]
    return body + ending


def _check_decodes(member: Member, encoding: str) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    with member.path.open("rb") as raw:
        while chunk := raw.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                raise _undecodable(member, encoding, error, offset, line, chunk) from None
            offset += len(chunk)
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            raise _undecodable(member, encoding, error, offset, line, b"") from None


def _undecodable(
    member: Member, encoding: str, error: UnicodeDecodeError, offset: int, line: int, chunk: bytes
) -> SourceError:
    at = offset + error.start
    line += chunk[: error.start].count(b"\n")
    return SourceError(
        f"{member.label}: byte {at} (line {line}) is not valid {encoding}: "
        f"{error.object[error.start : error.start + 4]!r}; set the source's `encoding` to the "
        "file's real encoding (for example cp1252 or latin-1)"
    )
