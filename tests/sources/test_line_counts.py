"""Row numbers from line counts on the driver equal the ones a Spark pass counts, for awkward
files split into many small blocks; where the count cannot be exact it steps aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.core.transforms import _predicted_blocks, with_file_row_numbers
from driftline.sources.line_counts import records_per_block
from driftline.sources.readers import line_records, local_path

pytestmark = pytest.mark.integration

HEADER = "id,name,note\n"
COUNTABLE = {
    "plain.csv": HEADER + "".join(f"{i},n{i},x\n" for i in range(400)),
    "crlf.csv": (HEADER + "".join(f"{i},n{i},y\n" for i in range(300))).replace("\n", "\r\n"),
    "no_newline_at_end.csv": HEADER + "".join(f"{i},n{i},z\n" for i in range(250)) + "250,end,z",
    "quoted_break.csv": HEADER
    + "".join(f'{i},"two\nlines",q\n' if i % 7 == 0 else f"{i},n{i},q\n" for i in range(200)),
    "unicode.csv": HEADER + "".join(f"{i},Zoë Ærø {'é' * (i % 30)},ü\n" for i in range(300)),
    "long_lines.csv": HEADER + "".join(f"{i},{'w' * 700},l\n" for i in range(40)),
    "short.csv": HEADER + "1,a,b\n",
}
FALLBACK = {
    "blank_lines.csv": HEADER + "1,a,b\n\n2,c,d\n   \n3,e,f\n",
    "lone_cr.csv": HEADER + "1,a,b\r2,c,d\n3,e,f\n",
    "blank_first_line.csv": "  \n" + HEADER + "1,a,b\n",
    "blank_last_line.csv": HEADER + "1,a,b\n\t ",
}


@pytest.fixture
def small_blocks(spark):  # type: ignore[no-untyped-def]
    spark.conf.set("spark.sql.files.maxPartitionBytes", "1k")
    spark.conf.set("spark.sql.files.openCostInBytes", "64")
    yield
    spark.conf.unset("spark.sql.files.maxPartitionBytes")
    spark.conf.unset("spark.sql.files.openCostInBytes")


def scan(spark, paths: list[Path]):  # type: ignore[no-untyped-def]
    return (
        spark.read.schema("id string, name string, note string, _corrupt_record string")
        .option("header", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt_record")
        .csv([str(p) for p in paths])
    )


def numbered(df, counter):  # type: ignore[no-untyped-def]
    frame, uris = with_file_row_numbers(df, "n", "f", counter)
    files = [str(local_path(u)) for u in uris]  # `file:/x` and `file:///x` alike
    return sorted((files[r["f"]], r["n"], r["id"], r["_corrupt_record"]) for r in frame.collect())


@pytest.mark.parametrize("name", sorted(COUNTABLE))
def test_counted_on_the_driver_as_spark_counts(spark, small_blocks, tmp_path: Path, name) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(COUNTABLE[name].encode())
    other = tmp_path / "other.csv"
    other.write_text(HEADER + "9,other,o\n")
    df = scan(spark, [path, other])
    counter = line_records(header=True, skip_blank=True)
    assert _predicted_blocks(df, counter) is not None  # the driver count is what ran
    expected = numbered(df, None)
    assert numbered(df, counter) == expected
    # Row numbers run 1..n per file.
    for uri in {row[0] for row in expected}:
        assert sorted(n for u, n, _, _ in expected if u == uri) == list(
            range(1, sum(u == uri for u, *_ in expected) + 1)
        )
    if name != "short.csv":
        assert df.rdd.getNumPartitions() > 2  # the file was split into several blocks


@pytest.mark.parametrize("name", sorted(FALLBACK))
def test_uncountable_files_are_left_to_spark(spark, small_blocks, tmp_path: Path, name) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_bytes(FALLBACK[name].encode())
    assert records_per_block(path, [0], header=True, skip_blank=True) is None
    df = scan(spark, [path])
    assert _predicted_blocks(df, line_records(header=True, skip_blank=True)) is None
    numbers = [n for _, n, _, _ in numbered(df, line_records(header=True, skip_blank=True))]
    assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_text_lines_keep_blank_ones(spark, small_blocks, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "fixed.txt"
    path.write_text("".join(f"{i:06d}{'x' * 30}\n" if i % 9 else "\n" for i in range(300)))
    lines = spark.read.text(str(path))
    counter = line_records(header=False, skip_blank=False)
    assert _predicted_blocks(lines, counter) is not None
    with_driver, _ = with_file_row_numbers(lines, "n", "f", counter)
    with_spark, _ = with_file_row_numbers(lines, "n", "f")
    assert sorted(with_driver.select("n", "value").collect()) == sorted(
        with_spark.select("n", "value").collect()
    )
    assert with_driver.where("n = 10").first()["value"] == ""  # line 10 is the blank one
