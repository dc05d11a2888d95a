"""Delivered CSVs parsed by Arrow on the executors: Spark schedules one task per file (per
range of whole lines of a file over `RANGE_BYTES`, numbered on from the records the driver
counted before it), the task parses it with Arrow's C++ reader, numbers its records, splits
off the malformed ones and writes bronze's and quarantine's Parquet files itself, so no row
crosses into the JVM; the driver commits the files with the rest of the night's rows
(`Lake.replace_partition_split` with `staged`). On 2 cores the whole ingest of a 1M-row
file then takes 0.65 of plain Spark's CSV-to-Parquet time and of a 10M-row file 0.48,
against 2.37 and 2.41 through Spark's reader (`benchmarks/ingest.py`).

The records are those Spark's line-based CSV reader gives: one per line (LF or CRLF), lines
of only characters Java's `trim()` removes skipped, the header line dropped; a line whose
field count is not the header's is malformed and keeps its raw text, with the reason the
Spark path gives. Where Spark's parser would read a file differently from Arrow's (a quote
that does not open or close a field, a line whose quotes do not balance, a carriage return
on its own, a byte-order mark, a non-ASCII delimiter), `why_spark_reads` says so and the
file goes to Spark's reader instead. A line break inside a quoted value is one such case
(its quotes do not balance on the line), which is what makes cutting at line ends safe.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftline.core.source_config import SourceConfig
from driftline.sources.readers import csv_columns
from driftline.sources.unpack import Member

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

# A task holds its range of a file, the lines' offsets and its table in memory at once: a
# larger file is cut into ranges of whole lines, one task each (a range ends at the first
# chunk boundary past this size). A line longer than this goes to Spark's reader.
RANGE_BYTES = 128 * 1024 * 1024
# Characters Java's String.trim() removes: a line of only these is skipped by Spark.
_BLANK = bytes(range(33))
_ROWS_PER_CHUNK = 100_000
_ROWS_PER_FILE = 250_000
# The driver checks a file for what Arrow would read differently this much at a time.
_CHECK_CHUNK = 16 * 1024 * 1024


@dataclass(frozen=True)
class Chosen:
    """A file Arrow parses: its bronze columns, the headers renamed to them, and its ranges
    of whole lines as (first byte, end byte, records before it), one task each."""

    member: Member
    names: list[str]
    renamed: dict[str, str]
    ranges: tuple[tuple[int, int, int], ...]


def choose(source: SourceConfig, found: list[Member]) -> tuple[list[Chosen], list[Member]]:
    """(the files Arrow reads; the rest, for Spark's reader). An empty file or a broken
    header stays with the rest, whose reader reports it."""
    mine, rest = [], []
    for member in found:
        if source.read_format != "csv" or member.path.stat().st_size == 0:
            rest.append(member)
            continue
        names, renamed, why = csv_columns(member, source)
        if why is None:
            csv = source.csv
            scan = scan_file(
                member.path, csv.delimiter, csv.quote, csv.header, RANGE_BYTES, _CHECK_CHUNK
            )
            if scan.why is None:
                mine.append(Chosen(member, names, renamed, scan.ranges))
                continue
            why = scan.why
        logger.info("%s: left to Spark's CSV reader (%s)", member.label, why)
        rest.append(member)
    return mine, rest


@dataclass(frozen=True)
class ArrowFile:
    """One delivered file (or archive member) for the tasks: where it is read, the write's
    number for it (`landing.UNIT`), its lineage, its header as bronze columns, and its
    ranges (`Chosen.ranges`)."""

    uri: str
    unit: int
    label: str
    checksum: str
    names: tuple[str, ...]
    ranges: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class Scan:
    why: str | None  # why Spark's reader must parse the file (None: Arrow can)
    ranges: tuple[tuple[int, int, int], ...]  # (first byte, end byte, records before it)


def scan_file(
    path: Path,
    delimiter: str,
    quote: str,
    header: bool,
    range_bytes: int = RANGE_BYTES,
    chunk_bytes: int = _CHECK_CHUNK,
) -> Scan:
    """`why_spark_reads` for a file, and (when Arrow can read it) its ranges of whole
    lines. The file is read in chunks of whole lines: the driver holds a chunk at a time
    (and its checks' arrays), never the file, whatever its size. A file larger than
    `range_bytes` has its records counted per range, so each range's task numbers its
    rows as the whole file's reader would."""
    why = why_spark_reads(b"", delimiter, quote)
    if why is not None:
        return Scan(why, ())
    count = path.stat().st_size > range_bytes  # one range starts at record 1
    ranges: list[tuple[int, int, int]] = []
    start = offset = before = within = 0
    carried = b""
    first = True
    with path.open("rb") as handle:
        while True:
            block = handle.read(chunk_bytes)
            data = carried + block
            end = data.rfind(b"\n") + 1 if block else len(data)  # at the end: the last line
            if block and end == 0:  # no line break yet: a line longer than a chunk
                if len(data) > range_bytes:
                    return Scan(f"has a line longer than {range_bytes >> 20} MB", ())
                carried = data
                continue
            if end:
                lines = data[:end]
                why = why_spark_reads(lines, delimiter, quote, first)
                if why is not None:
                    return Scan(why, ())
                if count:
                    within += _records(lines, skip_first=first and header)
                offset += end
                carried, first = data[end:], False
            if not block:
                break
            if count and offset - start >= range_bytes:
                ranges.append((start, offset, before))
                start, before, within = offset, before + within, 0
    if offset > start or not ranges:
        ranges.append((start, offset, before))
    return Scan(None, tuple(ranges))


def _records(lines: bytes, skip_first: bool) -> int:
    """How many records `split_records` numbers in these whole lines: a line with a byte
    above a space is one; a header (`skip_first`) and blank lines are not."""
    import numpy as np

    buf = np.frombuffer(lines, np.uint8)
    starts, _ = _lines(buf)
    if not len(starts):
        return 0
    # Each segment is a line and its break, so none is empty.
    filled = np.logical_or.reduceat(buf > 0x20, starts)
    return int(filled[1:].sum() if skip_first else filled.sum())


def _lines(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each line's first byte and end (its LF left out): the one notion of a line that
    `split_records` numbers by and `_records` counts by. A final LF opens no line."""
    import numpy as np

    breaks = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(buf)]))
    if starts[-1] == len(buf):  # the data ends with a line break (or is empty)
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def why_spark_reads(data: bytes, delimiter: str, quote: str, first: bool = True) -> str | None:
    """Why this file must go to Spark's CSV reader (None: Arrow gives the same records).

    `data` holds whole lines: the file, or one of its chunks (`first`: the one it starts
    with, the only place a byte-order mark is one)."""
    import numpy as np

    if not (delimiter.isascii() and quote.isascii()):
        return "its delimiter or quote is not ASCII, which Arrow's reader needs"
    if first and data.startswith(b"\xef\xbb\xbf"):
        return "starts with a byte-order mark"
    if data.count(b"\r") != data.count(b"\r\n"):
        return "has a carriage return on its own (a line break to Spark)"
    if quote.encode() not in data:
        return None
    buf = np.frombuffer(data, np.uint8)
    at = np.flatnonzero(buf == ord(quote))
    line_of = np.searchsorted(np.flatnonzero(buf == 10), at)
    per_line = np.bincount(line_of)
    if (per_line % 2).any():
        return "has a line whose quotes do not balance"
    # Within a line, quotes alternate: the 1st, 3rd ... open a value (or are the second of
    # an escaped pair, ""), the 2nd, 4th ... close one (or are the first of a pair). One
    # that does neither (`"a"b`, `a"b`, `"a,"b`) Spark keeps as text and Arrow would not.
    first_of_line = np.concatenate(([0], np.cumsum(per_line)[:-1]))
    opening = (np.arange(len(at)) - first_of_line[line_of]) % 2 == 0
    before = np.where(at > 0, buf[np.maximum(at - 1, 0)], 10)
    after = np.where(at < len(buf) - 1, buf[np.minimum(at + 1, len(buf) - 1)], 10)
    opens = np.isin(before, [ord(delimiter), 10, ord(quote)])
    closes = np.isin(after, [ord(delimiter), 10, 13, ord(quote)])
    if not np.where(opening, opens, closes).all():
        return "has a quote inside a value (Spark keeps it as text, Arrow would not)"
    return None


def split_records(
    data: bytes, names: list[str], header: bool, delimiter: str, quote: str
) -> tuple[pa.Table, pa.Table]:
    """(the parsed records, all strings, with `_row_number`; the malformed ones as `_raw`,
    `_reason` and `_row_number`) of a file `why_spark_reads` lets Arrow read.

    Arrow's reader finds the records with the wrong number of fields itself, but numbers
    them only when it parses on one thread: the lines are cut into chunks parsed side by
    side, one thread each, so the number within a chunk names the line.
    """
    import numpy as np
    import pyarrow as pa

    buf = np.frombuffer(data, np.uint8)
    starts, ends = _lines(buf)
    crlf = ends > starts
    crlf[crlf] = buf[ends[crlf] - 1] == 13
    ends = ends - crlf
    if header:
        starts, ends = starts[1:], ends[1:]
    expected = len(names)

    blank = ends == starts
    if expected == 1 or ord(delimiter) <= 0x20:
        # A line of only spaces (or tabs) can be a record to Arrow, which Spark skips:
        # with one column, or where those are the delimiter. Elsewhere Arrow refuses such
        # a line (one field), and a refused line that is blank is skipped below.
        low = np.flatnonzero(buf <= 0x20)
        blank |= np.searchsorted(low, ends) - np.searchsorted(low, starts) == ends - starts
    good = ~blank
    candidates = np.flatnonzero(good)
    chunks = max(1, min(4 * (os.cpu_count() or 1), len(candidates) // _ROWS_PER_CHUNK))
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        results = list(
            pool.map(
                lambda lines: _parse(data, starts, ends, lines, names, delimiter, quote),
                np.array_split(candidates, chunks),
            )
        )
    parsed = pa.concat_tables([table for table, _ in results])
    reasons: dict[int, str] = {}
    for line, found in (item for _, refused in results for item in refused):
        good[line] = False
        if data[starts[line] : ends[line]].strip(_BLANK):
            reasons[line] = f"malformed row: expected {expected} fields, found {found}"
        else:
            blank[line] = True
    record = np.cumsum(~blank)  # each line's 1-based record number, blank lines skipped
    parsed = parsed.append_column("_row_number", pa.array(record[good], pa.int64()))
    bad = sorted(reasons)
    malformed = pa.table(
        {
            "_raw": pa.array([data[starts[i] : ends[i]].decode("utf-8") for i in bad], pa.string()),
            "_reason": pa.array([reasons[i] for i in bad], pa.string()),
            "_row_number": pa.array([int(record[i]) for i in bad], pa.int64()),
        }
    )
    return parsed, malformed


def _parse(
    data: bytes,
    starts: np.ndarray,
    ends: np.ndarray,
    lines: np.ndarray,
    names: list[str],
    delimiter: str,
    quote: str,
) -> tuple[pa.Table, list[tuple[int, int]]]:
    """Arrow's table of `lines` (ascending indices) and the (line, fields found) of each
    record it refused."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not len(lines):
        return pa.table({n: pa.array([], pa.string()) for n in names}), []
    # Runs of consecutive lines go to Arrow as they are, one run after another: a run
    # ends where the next line's index is not one more.
    last = np.concatenate((np.flatnonzero(np.diff(lines) != 1), [len(lines) - 1]))
    first = np.concatenate(([0], last[:-1] + 1))
    body = b"\n".join(
        data[starts[lines[a]] : ends[lines[b]]] for a, b in zip(first, last, strict=True)
    )
    # Arrow needs a block to hold a whole record; Spark has no such limit.
    longest = int((ends[lines] - starts[lines]).max()) + 2
    refused: list[tuple[int, int]] = []

    def skip(row: Any) -> str:
        refused.append((int(lines[row.number - 1]), int(row.actual_columns)))
        return "skip"

    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(body)),
        read_options=pacsv.ReadOptions(
            column_names=names, use_threads=False, block_size=max(1 << 20, longest)
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter,
            quote_char=quote,
            double_quote=True,
            ignore_empty_lines=False,  # no empty line is fed: every line is a record
            invalid_row_handler=skip,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,  # Spark reads "" as null too
        ),
    )
    return table, refused


def land(
    spark: SparkSession,
    files: list[ArrowFile],
    columns: list[str],
    lineage: dict[str, Any],
    staged: str,
    delimiter: str,
    quote: str,
    header: bool,
) -> list[str]:
    """Parse `files` on the executors into Parquet under `staged`, laid out as the ingest
    write's Spark half lays out its own (`__dl_target=<table>/__dl_unit=<unit>/`), each file
    holding `columns` (null where a file lacks one), quarantine's `_raw` and `_reason` and
    the lineage columns: `lineage` (the source, when it was ingested) and the file's own.
    Returns the files written."""
    rows = [
        (f.uri, f.unit, f.label, f.checksum, list(f.names), first, stop, before)
        for f in files
        for first, stop, before in f.ranges
    ]
    frame = spark.createDataFrame(
        [(part, *row) for part, row in enumerate(rows)],
        "part int, uri string, unit int, label string, checksum string, "
        "names array<string>, first_byte long, end_byte long, before long",
    )
    task = _Task(columns, lineage, staged, delimiter, quote, header)
    # One task per range, each parsed on all of its executor's cores; spread evenly (round
    # robin may pair two ranges in one task).
    rows_written = frame.repartitionByRange(len(rows), "part").mapInArrow(task, "path string")
    written = [row["path"] for row in rows_written.collect()]
    _keep_only(staged, set(written))
    return written


def _keep_only(staged: str, written: set[str]) -> None:
    """Remove what a failed attempt of a task left in `staged` (a retry wrote its file's
    rows again, under other names), so only the finished attempts' files are committed."""
    from pyarrow import fs as pafs

    from driftline.core import object_store

    filesystem, root = object_store.filesystem(staged)
    found = filesystem.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    for info in found:
        if info.type == pafs.FileType.File and info.path not in written:
            logger.info("removing %s, left by a failed attempt", info.path)
            filesystem.delete_file(info.path)


@dataclass(frozen=True)
class _Task:
    columns: list[str]
    lineage: dict[str, Any]
    staged: str
    delimiter: str
    quote: str
    header: bool

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        for batch in batches:
            for file in batch.to_pylist():
                written = self.land_one(file)
                yield pa.RecordBatch.from_pydict(
                    {"path": written}, pa.schema([("path", pa.string())])
                )

    def land_one(self, file: dict[str, Any]) -> list[str]:
        from driftline.core import object_store

        filesystem, path = object_store.filesystem(file["uri"])
        with filesystem.open_input_file(path) as handle:
            data = handle.read_at(file["end_byte"] - file["first_byte"], file["first_byte"])
        # Only the first range holds the header; the others number on from their start.
        has_header = self.header and file["first_byte"] == 0
        parsed, malformed = split_records(
            data, file["names"], has_header, self.delimiter, self.quote
        )
        parsed, malformed = (
            _numbered_from(parsed, file["before"]),
            _numbered_from(malformed, file["before"]),
        )
        constants = {
            **self.lineage,
            "_source_file": file["label"],
            "_file_checksum": file["checksum"],
        }
        written = []
        for target, rows in (("bronze", parsed), ("quarantine", malformed)):
            if rows.num_rows:
                folder = f"{self.staged}/__dl_target={target}/__dl_unit={file['unit']}"
                written += _write(self._shaped(rows, constants), folder)
        return written

    def _shaped(self, rows: pa.Table, constants: dict[str, Any]) -> pa.Table:
        """`rows` with the write's columns: every data column (null where the file lacks
        it), `_raw` and `_reason`, and the lineage, each constant stored once."""
        import numpy as np
        import pyarrow as pa

        n = rows.num_rows
        present = set(rows.column_names)
        arrays: dict[str, pa.Array] = {}
        for name in [*self.columns, "_raw", "_reason"]:
            arrays[name] = rows[name] if name in present else pa.nulls(n, pa.string())
        for name, value in constants.items():
            if isinstance(value, datetime):
                arrays[name] = pa.repeat(pa.scalar(value, pa.timestamp("us", "UTC")), n)
            else:
                indices = pa.array(np.zeros(n, np.int32))
                arrays[name] = pa.DictionaryArray.from_arrays(indices, pa.array([value]))
        arrays["_row_number"] = rows["_row_number"]
        return pa.table(arrays)


def _numbered_from(rows: pa.Table, before: int) -> pa.Table:
    """`rows` with `before` added to each `_row_number`."""
    import pyarrow.compute as pc

    if not before:
        return rows
    at = rows.schema.get_field_index("_row_number")
    return rows.set_column(at, "_row_number", pc.add(rows["_row_number"], before))


def _write(table: pa.Table, folder: str) -> list[str]:
    """`table` as Parquet files in `folder`, a slice per core written at once (Parquet
    encodes a file on one thread); returns their paths."""
    import pyarrow.parquet as pq

    from driftline.core import object_store

    filesystem, root = object_store.filesystem(folder)
    filesystem.create_dir(root, recursive=True)
    slices = max(1, min(os.cpu_count() or 1, table.num_rows // _ROWS_PER_FILE))
    size = -(-table.num_rows // slices)
    name = uuid.uuid4().hex
    parts = [
        (f"{root}/arrow-{name}-{k:03d}.parquet", table.slice(k * size, size)) for k in range(slices)
    ]

    def write(part: tuple[str, pa.Table]) -> None:
        # Without Arrow's own schema in the footer a reader sees strings, not dictionaries.
        pq.write_table(
            part[1], part[0], filesystem=filesystem, compression="snappy", store_schema=False
        )

    with ThreadPoolExecutor(slices) as pool:
        list(pool.map(write, parts))
    return [path for path, _ in parts]
