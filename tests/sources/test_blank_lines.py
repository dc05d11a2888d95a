"""Which files the driver-side line count refuses because the CSV reader would skip a
blank line in them (fast: no Spark; `test_line_counts` compares with Spark itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.sources.line_counts import records_per_block

HEADER = "id,name\n"


@pytest.mark.parametrize(
    "text",
    [
        "\n" + HEADER + "1,a\n",
        " \t\n" + HEADER + "1,a\n",
        HEADER + "1,a\n\n2,b\n",
        HEADER + "1,a\n   \n2,b\n",
        HEADER + "1,a\n\n",
        HEADER + "1,a\n \x0c",
        HEADER + "1,a\r\n\r\n2,b\r\n",
        "\n",
    ],
)
def test_a_blank_line_anywhere_leaves_the_count_to_spark(tmp_path: Path, text: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    assert records_per_block(path, [0], header=True, skip_blank=True) is None
    assert records_per_block(path, [0], header=True, skip_blank=False) is not None


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        (HEADER + "1,a\n2,b\n", 2),
        (HEADER + "1,a\n2,b", 2),
        (HEADER + " 1,a\n\t2,b\n", 2),  # leading blanks on a line with data
        (HEADER, 0),
    ],
)
def test_lines_with_data_are_counted_on_the_driver(tmp_path: Path, text: str, rows: int) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode())
    assert records_per_block(path, [0], header=True, skip_blank=True) == [rows]
