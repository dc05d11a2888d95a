"""How many records Spark's line-based readers take from each block of a text file,
counted on the driver from the file's bytes instead of by a Spark pass.

Spark splits a large file into blocks read by different tasks. Hadoop's line reader gives
a block every line that *starts* after the block's first byte and at or before its last
(the first block also the line at offset 0), so a block's first record is the line after
the first line break at or past its start. Counting line breaks before each block start
therefore says how many records come before it. The CSV reader also drops blank lines and
the header; the text reader keeps every line.

The count is only trusted where nothing can make it differ from Spark's: LF or CRLF line
breaks, no CR on its own, no CRLF split across a block boundary and, where blank lines
are dropped, none at all. Anything else returns None and the caller counts with Spark.
`tests/sources/test_line_counts.py` checks the two agree on awkward files and splits.
"""

from __future__ import annotations

import re
from pathlib import Path

# Read into memory to count; larger files are counted by Spark instead.
MAX_BYTES = 512 * 1024 * 1024
# A line holding only characters Java's String.trim() removes (<= U+0020), line break
# excluded: the CSV reader skips it. The first line is matched on its own so the search for
# the others starts from a literal line break, which the regex engine scans for quickly
# (an `(?:^|\n)` alternative is tried at every byte and is ten times slower).
_BLANK_REST = rb"[\x00-\x09\x0b-\x20]*(?:\n|\Z)"
_BLANK_FIRST_LINE = re.compile(_BLANK_REST)
_BLANK_LATER_LINE = re.compile(rb"\n" + _BLANK_REST)


def records_per_block(
    path: Path, starts: list[int], header: bool, skip_blank: bool
) -> list[int] | None:
    """Records in each block of `path` beginning at `starts` (sorted, the first 0), or
    None where only Spark can tell."""
    if path.stat().st_size > MAX_BYTES:
        return None
    data = path.read_bytes()
    if not _countable(data, starts, skip_blank):
        return None

    # Line starts at or before `start`: offset 0 and every byte after a line break.
    def lines_up_to(start: int) -> int:
        return 1 + data.count(b"\n", 0, start)

    total = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    before = [0 if s == 0 else lines_up_to(s) for s in starts]
    ends = [*before[1:], total]
    counts = [end - begin for begin, end in zip(before, ends, strict=True)]
    if header and counts and starts[0] == 0:
        counts[0] = max(counts[0] - 1, 0)
    return counts


def _countable(data: bytes, starts: list[int], skip_blank: bool) -> bool:
    if not starts or starts[0] != 0 or starts != sorted(starts):
        return False
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return False  # a CR on its own also breaks lines for Hadoop
    if any(0 < s < len(data) and data[s - 1 : s + 1] == b"\r\n" for s in starts):
        return False  # a CRLF split across a block boundary
    if skip_blank:
        end = len(data) - 1 if data.endswith(b"\n") else len(data)  # not a copy of the data
        if end == 0 or _BLANK_FIRST_LINE.match(data, 0, end):
            return False
        if _BLANK_LATER_LINE.search(data, 0, end):
            return False
    return True
