"""Issue 18's "Spark schedules, Arrow moves the data" ingest, measured as a design, not used
by Driftline: one Spark task per delivered CSV parses it with Arrow's C++ reader, finds
malformed lines (field count, unbalanced quotes) and numbers the records, writes bronze's
and quarantine's Parquet files itself with the file's lineage as constants, and returns
only the files' names and row counts; the driver commits both tables with delta-rs. Rows
never cross the JVM <-> Python boundary. `benchmarks/ingest.py` times it beside plain
Spark and Driftline's ingest as a floor for that design.

Records follow Spark's line-based CSV reader: one per line (LF or CRLF), blank lines
(only characters <= U+0020) skipped, a header line dropped; a line whose field count is
not the header's, or whose quotes do not balance, is malformed and keeps its raw text.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa


def split_records(
    data: bytes, names: list[str], delimiter: str = ",", quote: str = '"'
) -> tuple[pa.Table, pa.Table]:
    """(parsed records with `_row_number`, malformed records with `_raw`, `_reason` and
    `_row_number`) of one CSV whose first line is its header.

    Arrow's reader finds the records with the wrong number of fields itself. It numbers
    such a record only when it parses on one thread, so the lines are cut into chunks
    parsed side by side, one thread each, and the number within a chunk names the line.
    """
    import pyarrow.csv as pacsv

    buf = np.frombuffer(data, np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(buf == 10) + 1))
    if starts[-1] == len(buf):  # the file ends with a line break
        starts = starts[:-1]
    ends = np.concatenate((starts[1:] - 1, [len(buf)]))  # each line's break excluded
    crlf = ends > starts
    crlf[crlf] = buf[ends[crlf] - 1] == 13
    ends = ends - crlf
    starts, ends = starts[1:], ends[1:]  # the header
    expected = len(names)

    if quote.encode() in data:
        at = np.flatnonzero(buf == ord(quote))
        quotes = np.searchsorted(at, ends) - np.searchsorted(at, starts)
    else:
        quotes = np.zeros(len(starts), np.int64)
    blank = ends == starts
    if expected == 1:  # a line of spaces is one field to Arrow, but Spark skips it
        blank |= np.array(
            [not data[s:e].strip(bytes(range(33))) for s, e in zip(starts, ends, strict=True)]
        )
    reasons = {
        int(i): f"malformed row: unbalanced quotes (expected {expected} fields)"
        for i in np.flatnonzero(quotes % 2 == 1)
    }
    good = ~blank & (quotes % 2 == 0)

    def parse(lines: np.ndarray) -> tuple[pa.Table, list[tuple[int, int]]]:
        """Arrow's table of `lines` (indices, in order) and the (line, fields found) it
        refused."""
        # Runs of consecutive lines go to Arrow as they are, joined by a line break.
        edges = np.concatenate((np.flatnonzero(np.diff(lines) != 1), [len(lines) - 1]))
        edges = edges[edges >= 0]  # no lines, no runs
        run_starts = np.concatenate(([0], edges[:-1] + 1))[: len(edges)]
        body = pa.py_buffer(
            b"\n".join(
                data[starts[lines[a]] : ends[lines[b]]]
                for a, b in zip(run_starts, edges, strict=True)
            )
        )
        refused: list[tuple[int, int]] = []

        def skip(row: Any) -> str:
            refused.append((int(lines[row.number - 1]), row.actual_columns))
            return "skip"

        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char=quote,
                double_quote=True,
                ignore_empty_lines=False,  # every line fed is a record: numbers stay exact
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

    candidates = np.flatnonzero(good)
    chunks = max(1, min(4 * (os.cpu_count() or 1), len(candidates) // 100_000))
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        results = list(pool.map(parse, np.array_split(candidates, chunks)))
    parsed = pa.concat_tables([table for table, _ in results])
    for i, found in (item for _, refused in results for item in refused):
        good[i] = False
        if not data[starts[i] : ends[i]].strip(bytes(range(33))):
            blank[i] = True  # only characters Java's trim() removes: Spark skips it
        else:
            reasons[i] = f"malformed row: expected {expected} fields, found {found}"
    # 1-based record numbers, blank lines not counted
    record = np.cumsum(~blank) if blank.any() else np.arange(1, len(blank) + 1)
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


def with_constants(table: pa.Table, values: dict[str, Any]) -> pa.Table:
    """Per-file lineage as dictionary columns: one value stored once per row group."""
    for name, value in values.items():
        indices = pa.array(np.zeros(table.num_rows, np.int32))
        table = table.append_column(
            name, pa.DictionaryArray.from_arrays(indices, pa.array([value]))
        )
    return table


def write_slices(rows: pa.Table, folder: Path, stem: str) -> list[tuple[str, int, int]]:
    """`rows` as Parquet files in `folder`, a slice per core written at once (Parquet
    encodes a file on one thread): (path, rows, bytes) of each."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    slices = max(1, min(os.cpu_count() or 1, rows.num_rows // 250_000))
    size = -(-rows.num_rows // slices)
    parts = [
        (folder / f"{stem[:16]}-{k}.parquet", rows.slice(k * size, size)) for k in range(slices)
    ]
    with ThreadPoolExecutor(slices) as pool:
        list(pool.map(lambda part: pq.write_table(part[1], part[0], compression="snappy"), parts))
    return [(str(path), part.num_rows, path.stat().st_size) for path, part in parts]


def ingest_files(
    spark: Any, files: list[tuple[str, str, str]], names: list[str], lake: Path
) -> dict[str, int]:
    """Bronze and quarantine of `files` ((path, label, checksum)) as two delta-rs commits;
    returns the rows each table received."""
    import sys

    import pyarrow.parquet as pq
    from deltalake.transaction import create_table_with_add_actions
    from pyspark import cloudpickle

    # This file is not installed where Spark's Python workers run: ship its functions.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])

    from driftline.lake.delta_files import add_action, delta_schema, nullable

    write_id = uuid.uuid4().hex
    staging = lake / "_staging" / write_id
    ingested_at = datetime.now(UTC)

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for path, label, checksum in zip(
                *(batch.column(i).to_pylist() for i in range(3)), strict=True
            ):
                parsed, malformed = split_records(Path(path).read_bytes(), names)
                lineage = {
                    "_source": "customers",
                    "_source_file": label,
                    "_file_checksum": checksum,
                }
                out = []
                for table_name, rows in (("bronze", parsed), ("quarantine", malformed)):
                    micros = np.full(rows.num_rows, int(ingested_at.timestamp() * 1e6), np.int64)
                    rows = with_constants(rows, lineage).append_column(
                        "_ingested_at", pa.array(micros).view(pa.timestamp("us", "UTC"))
                    )
                    for target, count, size in write_slices(rows, staging / table_name, checksum):
                        out.append((table_name, target, count, size))
                yield pa.RecordBatch.from_pylist(
                    [dict(zip(("table", "path", "rows", "size"), o, strict=True)) for o in out]
                )

    frame = spark.createDataFrame(files, "path string, label string, checksum string")
    written = (
        frame.repartition(len(files))
        .mapInArrow(task, "table string, path string, rows long, size long")
        .collect()
    )
    counts: dict[str, int] = {}
    for table_name in ("bronze", "quarantine"):
        mine = [w for w in written if w["table"] == table_name]
        root = lake / table_name
        folder = root / "run_date=2024-03-01"
        folder.mkdir(parents=True, exist_ok=True)
        actions = []
        schema = None
        for w in mine:
            target = folder / f"{write_id}-{Path(w['path']).name}"
            Path(w["path"]).rename(target)
            schema = schema or pq.read_schema(target)
            actions.append(
                add_action(
                    str(target.relative_to(root)), w["size"], {"run_date": "2024-03-01"}, w["rows"]
                )
            )
        assert schema is not None
        schema = nullable(
            pa.schema(
                [
                    *[
                        f if not pa.types.is_dictionary(f.type) else pa.field(f.name, pa.string())
                        for f in schema
                    ],
                    pa.field("run_date", pa.date32()),
                ]
            )
        )
        create_table_with_add_actions(
            str(root), delta_schema(schema), actions, mode="append", partition_by=["run_date"]
        )
        counts[table_name] = sum(w["rows"] for w in mine)
    return counts
