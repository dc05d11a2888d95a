"""Arrow's reading of a delivered CSV gives Spark's records: the same values, row numbers,
malformed lines and reasons; a file Arrow would read differently goes to Spark's reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driftline.sources.arrow_csv import scan_file, split_records, why_spark_reads

NAMES = ["id", "name", "city"]


def records(
    text: str, names: list[str] = NAMES, header: bool = True
) -> tuple[list[Any], list[Any]]:
    parsed, malformed = split_records(text.encode(), names, header, ",", '"')
    return parsed.to_pylist(), malformed.to_pylist()


def test_quoted_fields_nulls_and_spaces_read_as_spark_reads_them() -> None:
    parsed, malformed = records(
        'id,name,city\r\n1,"Smith, J",Paris\r\n2,,\r\n3,"",x\r\n4,"say ""hi""",y\r\n'
        "5, padded ,z \r\n6,été,w"
    )
    assert malformed == []
    assert parsed == [
        {"id": "1", "name": "Smith, J", "city": "Paris", "_row_number": 1},
        {"id": "2", "name": None, "city": None, "_row_number": 2},
        {"id": "3", "name": None, "city": "x", "_row_number": 3},
        {"id": "4", "name": 'say "hi"', "city": "y", "_row_number": 4},
        {"id": "5", "name": " padded ", "city": "z ", "_row_number": 5},
        {"id": "6", "name": "été", "city": "w", "_row_number": 6},
    ]


def test_blank_lines_are_skipped_and_not_numbered() -> None:
    parsed, _ = records("id,name,city\n\n1,a,b\n   \n \t\n2,c,d\n\n")
    assert [(r["id"], r["_row_number"]) for r in parsed] == [("1", 1), ("2", 2)]


def test_malformed_lines_keep_their_text_number_and_reason_among_the_good_ones() -> None:
    lines = [f"{i},n{i},c{i}" for i in range(1, 301)]
    lines[9] = "10,short"
    lines[199] = "200,a,b,c,d"
    lines[249] = "10,short"  # the same text twice: each is its own record
    parsed, malformed = records("id,name,city\n" + "\n".join(lines) + "\n")
    assert malformed == [
        {
            "_raw": "10,short",
            "_reason": "malformed row: expected 3 fields, found 2",
            "_row_number": 10,
        },
        {
            "_raw": "200,a,b,c,d",
            "_reason": "malformed row: expected 3 fields, found 5",
            "_row_number": 200,
        },
        {
            "_raw": "10,short",
            "_reason": "malformed row: expected 3 fields, found 2",
            "_row_number": 250,
        },
    ]
    assert len(parsed) == 297
    assert all(r["id"] == str(r["_row_number"]) for r in parsed)


def test_numbers_stay_exact_across_chunks_parsed_side_by_side() -> None:
    lines = [f"{i},n{i},c{i}" if i % 50_001 else f"{i},bad" for i in range(1, 250_001)]
    parsed, malformed = records("id,name,city\n" + "\n".join(lines))
    assert [r["_row_number"] for r in malformed] == [50_001, 100_002, 150_003, 200_004]
    ids = [r["id"] for r in parsed]
    assert ids == [str(r) for r in range(1, 250_001) if r % 50_001]


def test_a_file_without_a_header_and_one_of_a_single_column() -> None:
    parsed, _ = records("1,a,b\n2,c,d\n", header=False)
    assert [r["_row_number"] for r in parsed] == [1, 2]
    parsed, malformed = records("v\nx\n   \ny\n", names=["v"])
    assert [(r["v"], r["_row_number"]) for r in parsed] == [("x", 1), ("y", 2)]
    assert malformed == []


def test_a_header_only_file_has_no_records() -> None:
    assert records("id,name,city\n") == ([], [])
    assert records("id,name,city") == ([], [])


DIFFERENT = [
    ('id,name\n1,"a"b\n', "quote inside a value"),
    ('id,name\n1,a"b\n', "quotes do not balance"),
    ('id,name\n1,a"b"c\n', "quote inside a value"),
    ('id,name\n1," a" ,x\n', "quote inside a value"),
    ('id,name\n1,"open,x\n2,b\n', "quotes do not balance"),
    ('id,name,x\n"a,"b,c\n', "quote inside a value"),
    ('id,name\na,""b\n', "quote inside a value"),
    ('id,name\n1,b"\n', "quotes do not balance"),
    ("id,name\r1,a\r\n", "carriage return on its own"),
    ("\ufeffid,name\n1,a\n", "byte-order mark"),
]
SAME = [
    "id,name\n1,a\n",
    'id,name\n"1","a, b"\r\n"2",""\r\n',
    'id,name\n1,"say ""hi"""\n',
    'id;name\n1;"x;y"\n',
    'id,name\n1,"""a"\n2,"a""",x\n',
    "id,name\n\ufeff1,a\n",  # a byte-order mark's bytes after the first line are text
]


@pytest.mark.parametrize(("text", "why"), DIFFERENT)
def test_what_arrow_would_read_differently_goes_to_spark(text: str, why: str) -> None:
    assert why in (why_spark_reads(text.encode(), ",", '"') or "")


@pytest.mark.parametrize("text", SAME)
def test_plain_and_well_quoted_files_are_arrows(text: str) -> None:
    delimiter = ";" if ";" in text else ","
    assert why_spark_reads(text.encode(), delimiter, '"') is None


def test_a_file_is_checked_a_chunk_of_lines_at_a_time_with_the_same_answer(
    tmp_path: Path,
) -> None:
    """The driver never holds a whole file to check it: any chunk size gives the answer
    the whole file gives, lines cut by a chunk's end and a final line without a break
    included."""
    texts = [t for t, _ in DIFFERENT] + SAME + [t.rstrip("\n") for t in SAME]
    for number, text in enumerate(texts):
        data = text.encode()
        path = tmp_path / f"{number}.csv"
        path.write_bytes(data)
        delimiter = ";" if ";" in text else ","
        whole = why_spark_reads(data, delimiter, '"')
        for size in range(1, len(data) + 2):
            scan = scan_file(path, delimiter, '"', True, chunk_bytes=size)
            assert scan.why == whole, (text, size)


# Blank lines, lines of spaces, CRLF, a malformed line, a quoted delimiter, no final break.
RANGED = (
    'id,name,city\n1,a,x\n\n2,b,y\r\n   \n3,c\n4,"d,e",z\n\t\n5,f,g\n6,h,i,j\n'
    + "".join(f"{n},n{n},c{n}\n" for n in range(7, 40))
    + "  \n\n40,last,row"
)


@pytest.mark.parametrize("header", [True, False])
def test_a_file_in_ranges_numbers_its_rows_as_the_whole_file_does(
    tmp_path: Path, header: bool
) -> None:
    """A file larger than a task's range is cut at line ends, its records counted per
    range by the driver's scan; each range parsed alone and numbered on from its start
    gives exactly the whole file's records, malformed lines and row numbers."""
    from driftline.sources.arrow_csv import _numbered_from

    data = RANGED.encode() if header else RANGED.split("\n", 1)[1].encode()
    path = tmp_path / "ranged.csv"
    path.write_bytes(data)
    whole_parsed, whole_bad = split_records(data, NAMES, header, ",", '"')
    for range_bytes in (20, 30, 64, len(data) // 2):  # over its longest line
        for chunk_bytes in (1, 5, 16):
            scan = scan_file(path, ",", '"', header, range_bytes, chunk_bytes)
            assert scan.why is None
            assert scan.ranges[0][0] == 0 and scan.ranges[-1][1] == len(data)
            assert all(a[1] == b[0] for a, b in zip(scan.ranges, scan.ranges[1:], strict=False))
            assert len(scan.ranges) > 1
            parsed, bad = [], []
            for start, end, before in scan.ranges:
                part = data[start:end]
                assert start == 0 or data[start - 1 : start] == b"\n"
                rows, malformed = split_records(part, NAMES, header and start == 0, ",", '"')
                parsed += _numbered_from(rows, before).to_pylist()
                bad += _numbered_from(malformed, before).to_pylist()
            assert parsed == whole_parsed.to_pylist(), (range_bytes, chunk_bytes)
            assert bad == whole_bad.to_pylist(), (range_bytes, chunk_bytes)
    assert [r["_row_number"] for r in bad] == [3, 6]  # "3,c" and "6,h,i,j", blanks skipped
    assert scan_file(path, ",", '"', header).ranges == ((0, len(data), 0),)


def test_a_line_longer_than_a_range_goes_to_spark(tmp_path: Path) -> None:
    """The driver and a task hold at most a range and a chunk, whatever the file."""
    path = tmp_path / "one_long_line.csv"
    path.write_bytes(b"id,name,city\n1," + b"x" * 100 + b",y\n")
    assert "longer than" in (scan_file(path, ",", '"', True, 64, 16).why or "")
    assert scan_file(path, ",", '"', True, 256, 16).why is None


def test_a_delimiter_arrow_cannot_take_goes_to_spark() -> None:
    assert "not ASCII" in (why_spark_reads("id§name\n1§a\n".encode(), "§", '"') or "")


def test_a_whitespace_only_line_is_skipped_where_whitespace_is_the_delimiter() -> None:
    parsed, malformed = split_records(
        b"id\tname\tcity\n1\ta\tb\n\t\t\n \t \t \n2\tc\td\n", NAMES, True, "\t", '"'
    )
    assert [(r["id"], r["_row_number"]) for r in parsed.to_pylist()] == [("1", 1), ("2", 2)]
    assert malformed.num_rows == 0


def test_a_line_longer_than_arrows_block_is_read_whole() -> None:
    long = "x" * 3_000_000
    parsed, _ = records(f"id,name,city\n1,{long},a\n2,b,c\n")
    assert [len(r["name"]) for r in parsed] == [3_000_000, 1]


def test_what_a_failed_attempt_left_in_the_staging_folder_is_not_committed(tmp_path: Path) -> None:
    from driftline.sources.arrow_csv import _keep_only

    folder = tmp_path / "__dl_target=bronze" / "__dl_unit=0"
    folder.mkdir(parents=True)
    (folder / "arrow-first-attempt-000.parquet").write_bytes(b"PAR1")
    kept = folder / "arrow-retry-000.parquet"
    kept.write_bytes(b"PAR1")
    _keep_only(str(tmp_path), {str(kept)})
    assert sorted(p.name for p in folder.iterdir()) == [kept.name]


# -- against Spark's reader ----------------------------------------------------------------

AWKWARD = {
    "plain.csv": "id,name,city\n" + "".join(f"{i},n{i},c{i}\n" for i in range(500)),
    "crlf_quoted.csv": 'id,name,city\r\n1,"Smith, J",Paris\r\n2,"",x\r\n3,"say ""hi""",y\r\n',
    "blanks_and_malformed.csv": "id,name,city\n\n1,a,b\n  \n2,short\n3,a,b,c,d\n4,é,ü\n\n5,,\n",
    "no_final_break.csv": "id,name,city\n1,a,b\n2,c,d",
    "extra_column.csv": "id,name,city,note\n1,a,b,n\n2,c,d\n",
    "renamed.csv": "ID,Name,City\n1,a,b\n",
    "escaped_quotes.csv": 'id,name,city\n1,"""a",x\n2,"a""",y\n3,"",""\n',
    "long_value.csv": "id,name,city\n1," + "w" * 2_000_000 + ",x\n2,b,c\n",
}


@pytest.mark.integration
def test_arrow_lands_the_records_spark_reads(spark: Any, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from driftline.core.source_config import SourceConfig
    from driftline.sources.arrow_csv import choose
    from driftline.sources.files import DroppedFile
    from driftline.sources.readers import CORRUPT, REASON, ROW, read
    from driftline.sources.unpack import Member

    source = SourceConfig(
        name="people", path="*.csv", columns={"id": "string", "name": "string", "city": "string"}
    )
    for name, text in AWKWARD.items():
        path = tmp_path / name
        path.write_bytes(text.encode())
        member = Member(name, path, DroppedFile(name, path, path.stat().st_size, name, str(path)))
        by_arrow, by_spark = choose(source, [member])
        assert by_spark == [], name
        names = by_arrow[0].names
        parsed, malformed = split_records(path.read_bytes(), names, True, ",", '"')

        groups, broken = read(spark, source, [member])
        assert broken == [], name
        rows = groups[0].frame.collect()
        expected = sorted((*(r[n] for n in names), r[ROW]) for r in rows if r[CORRUPT] is None)
        assert sorted(tuple(r.values()) for r in parsed.to_pylist()) == expected, name
        expected_bad = sorted((r[CORRUPT], r[REASON], r[ROW]) for r in rows if r[CORRUPT])
        assert sorted(tuple(r.values()) for r in malformed.to_pylist()) == expected_bad, name


@pytest.mark.integration
def test_files_cut_into_ranges_land_the_rows_of_one_task_each(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Each range is its own Spark task, reads only its bytes, and numbers on from the
    records before it: together they land what one task per whole file lands."""
    import pyarrow.parquet as pq

    from driftline.core.source_config import SourceConfig
    from driftline.sources import arrow_csv
    from driftline.sources.files import DroppedFile
    from driftline.sources.unpack import Member

    source = SourceConfig(
        name="people", path="*.csv", columns={"id": "string", "name": "string", "city": "string"}
    )
    texts = {n: AWKWARD[n] for n in ("plain.csv", "crlf_quoted.csv", "blanks_and_malformed.csv")}
    texts["no_final_break.csv"] = RANGED

    def landed(range_bytes: int) -> tuple[list[Any], list[Any], int]:
        monkeypatch.setattr(arrow_csv, "RANGE_BYTES", range_bytes)
        monkeypatch.setattr(arrow_csv, "_CHECK_CHUNK", 16)  # ranges are cut between chunks
        members = []
        for name, text in texts.items():
            path = tmp_path / name
            path.write_bytes(text.encode())
            dropped = DroppedFile(name, path, path.stat().st_size, name, str(path))
            members.append(Member(name, path, dropped))
        chosen, rest = arrow_csv.choose(source, members)
        assert rest == []
        files = [
            arrow_csv.ArrowFile(
                str(c.member.path), unit, c.member.label, "sum", tuple(c.names), c.ranges
            )
            for unit, c in enumerate(chosen)
        ]
        staged = tmp_path / f"staged-{range_bytes}"
        written = arrow_csv.land(
            spark, files, list(source.columns), {"_source": "people"}, str(staged), ",", '"', True
        )
        assert written
        # The staging folders start with "_", which Arrow's datasets skip unless told.
        rows = pq.read_table(str(staged), partitioning="hive", ignore_prefixes=["."]).to_pylist()
        key = ("__dl_target", "__dl_unit", "_row_number", "id", "name", "city", "_raw", "_reason")
        ordered = sorted(tuple(str(r[k]) for k in key) for r in rows)
        bronze = [r for r in ordered if r[0] == "bronze"]
        quarantine = [r for r in ordered if r[0] == "quarantine"]
        return bronze, quarantine, sum(len(c.ranges) for c in chosen)

    whole_bronze, whole_quarantine, whole_tasks = landed(1 << 30)
    cut_bronze, cut_quarantine, cut_tasks = landed(64)
    assert whole_tasks == len(texts)
    assert cut_tasks > 3 * len(texts)
    assert cut_bronze == whole_bronze
    assert cut_quarantine == whole_quarantine
    assert len(whole_bronze) == 500 + 3 + 3 + 38 and len(whole_quarantine) == 2 + 2
