"""Writes the malformed and awkward input corpus next to this script.

The files are committed; this script documents how each was made (and remakes them).
Run: python tests/sources/corpus/make_corpus.py
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
HEADER = "order_id,order_day,amount,items,city\n"


def rows(start: int, n: int, sep: str = ",") -> str:
    return "".join(
        sep.join([f"O{i:04d}", "2024-03-01", f"{10 + i}.5", str(i % 7), "Lyon"]) + "\n"
        for i in range(start, start + n)
    )


def write(path: str, data: str | bytes) -> None:
    target = HERE / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data.encode() if isinstance(data, str) else data)


def csv_files() -> None:
    write("csv/01_good.csv", HEADER + rows(1, 5))
    write("csv/02_crlf.csv", (HEADER + rows(10, 3)).replace("\n", "\r\n"))
    write("csv/03_bom.csv", b"\xef\xbb\xbf" + (HEADER + rows(20, 3)).encode())
    write(
        "csv/04_quoted.csv",
        HEADER
        + 'O0030,2024-03-01,1.5,1,"Lyon, Part-Dieu"\n'
        + 'O0031,2024-03-01,2.5,2,"Saint ""Quoted"" Town"\n'
        + "O0032,2024-03-01,3.5,3,Paris\n",
    )
    write(
        "csv/05_short_rows.csv",
        HEADER + rows(40, 2) + "O0042,2024-03-01\n" + "O0043\n",
    )
    write(
        "csv/06_unbalanced_quote.csv",
        HEADER + rows(50, 2) + 'O0052,2024-03-01,"3.5,1,Lyon\n',
    )
    write("csv/07_header_only.csv", HEADER)
    write("csv/08_empty.csv", "")
    write(
        "csv/09_missing_column.csv",
        "order_id,order_day,items,city\nO0090,2024-03-01,1,Lyon\nO0091,2024-03-01,2,Lyon\n",
    )
    write(
        "csv/10_extra_column.csv",
        "order_id,order_day,amount,items,city,Loyalty Tier\n"
        "O0100,2024-03-01,1.5,1,Lyon,gold\nO0101,2024-03-01,2.5,2,Nice,silver\n",
    )
    write(
        "csv/11_reordered.csv",
        "city,items,amount,order_day,order_id\nLyon,1,1.5,2024-03-01,O0110\n",
    )
    write("csv/12_blank_lines.csv", HEADER + rows(120, 1) + "\n\n" + rows(121, 2))
    write("csv/13_good.csv.gz", gzip.compress((HEADER + rows(130, 4)).encode(), mtime=0))
    write(
        "csv/14_truncated.csv.gz", gzip.compress((HEADER + rows(140, 50)).encode(), mtime=0)[:120]
    )
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("north/a.csv", HEADER + rows(150, 2))
        archive.writestr("south/b.csv", HEADER + rows(152, 3))
    write("csv/15_two_members.zip", packed.getvalue())
    write("csv/16_corrupt.zip", b"PK\x03\x04 this is not really a zip archive at all")
    write(
        "csv/17_latin1_in_utf8.csv",
        HEADER.encode()
        + rows(170, 2).encode()
        + "O0172,2024-03-01,1.5,1,Besançon\n".encode("latin-1"),
    )
    write("csv/18_same_as_01.csv", HEADER + rows(1, 5))
    write(
        "csv/19_too_many_fields.csv", HEADER + rows(190, 2) + "O0192,2024-03-01,1.5,1,Lyon,extra\n"
    )
    write("csv/20_no_trailing_newline.csv", (HEADER + rows(200, 2)).rstrip("\n"))


def cp1252_files() -> None:
    header = "order_id;order_day;amount;items;city\r\n"
    body = (
        "O0210;2024-03-01;12,50;1;Besançon\r\nO0211;2024-03-01;7,25;2;Orléans \u2013 Centre €\r\n"
    )
    write("cp1252/21_decimal_comma.csv", (header + body).encode("cp1252"))


def jsonl_files() -> None:
    line = (
        '{{"order_id": "O{i:04d}", "order_day": "2024-03-01", "amount": {a}, "items": 1, '
        '"city": "Lyon"}}\n'
    )
    write("jsonl/22_good.jsonl", "".join(line.format(i=i, a=i + 0.5) for i in range(220, 223)))
    write(
        "jsonl/23_bad_lines.jsonl",
        line.format(i=230, a=1.5)
        + '{"order_id": "O0231", "order_day": "2024-03-01", "amount": 2\n'
        + "[1, 2, 3]\n"
        + line.format(i=233, a=3.5),
    )
    write(
        "jsonl/24_missing_key.jsonl",
        '{"order_id": "O0240", "order_day": "2024-03-01", "items": 1, "city": "Lyon"}\n',
    )
    write(
        "jsonl/25_extra_key.jsonl",
        '{"order_id": "O0250", "order_day": "2024-03-01", "amount": 1, "items": 1, '
        '"city": "Lyon", "channel": "web"}\n',
    )


def parquet_files() -> None:
    good = pa.table(
        {
            "order_id": ["O0260", "O0261", "O0262", "O0263"],
            "order_day": pa.array([19783] * 4, pa.date32()),
            "amount": [1.5, 2.5, 3.5, 4.5],
            "items": pa.array([1, 2, 3, 4], pa.int32()),
            "city": ["Lyon"] * 4,
        }
    )
    pq.write_table(good, HERE / "parquet/26_good.parquet")
    pq.write_table(
        good.set_column(3, "items", pa.array([1.5, 2.5, 3.5, 4.5])),
        HERE / "parquet/27_wrong_type.parquet",
    )
    pq.write_table(good.drop(["amount"]), HERE / "parquet/28_missing_column.parquet")
    write("parquet/29_not_parquet.parquet", "order_id,amount\nO1,1.5\n")
    pq.write_table(
        good.append_column("Promo Code", pa.array(["A", None, "B", None])),
        HERE / "parquet/30_extra_column.parquet",
    )


def fixed_width_files() -> None:
    # order_id 1-5, order_day 6-15, amount 16-23 (right-aligned), items 24-25, city 26-37
    def line(i: int, city: str = "Lyon") -> str:
        return f"O{i:04d}2024-03-01{10 + i:>8.2f}{i % 7:>2}{city:<12}\n"

    write("fixed/31_good.txt", line(310) + line(311) + line(312))
    write("fixed/32_short_and_blank.txt", line(320) + "O03212024-03-01    1.5\n" + "\n" + line(323))
    write("fixed/33_latin1.txt", (line(330, "Besançon") + line(331, "Nîmes")).encode("latin-1"))


# An hourly weather-station export as INMET (Brazil's met office) publishes them: Latin-1,
# eight metadata lines above the header, `;` delimited with one at the end of every line,
# decimal commas, `-9999` for a missing reading, column names with accents, spaces, units
# in parentheses and commas, `yyyy/MM/dd` dates and `HHmm UTC` hours.
WEATHER_PREAMBLE = (
    "REGIAO:;CO\nUF:;DF\nESTACAO:;BRASILIA\nCODIGO (WMO):;A001\nLATITUDE:;-15,78944444\n"
    "LONGITUDE:;-47,92583332\nALTITUDE:;1160,96\nDATA DE FUNDACAO:;07/05/00\n"
)
WEATHER_HEADER = (
    "Data;Hora UTC;PRECIPITAÇÃO TOTAL, HORÁRIO (mm);"
    "TEMPERATURA DO AR - BULBO SECO, HORARIA (°C);;\n"
)


def weather_rows(hours: list[tuple[str, str, str]]) -> str:
    return "".join(
        f"2020/01/01;{h:02d}00 UTC;{rain};{temp};{note};\n"
        for h, (rain, temp, note) in enumerate(hours)
    )


def legacy_files() -> None:
    good = [("0", "21,4", ""), ("-9999", "20,9", ""), ("1,2", "-9999", "x"), ("0", "19,8", "")]
    write(
        "legacy/34_inmet_a001.csv",
        (
            WEATHER_PREAMBLE
            + WEATHER_HEADER
            + weather_rows(good)
            + "2020/01/01;0400 UTC;0;19,1;;extra;\n"
        ).encode("latin-1"),
    )
    # The same export with a preamble of another length: found by the header's pattern.
    write(
        "legacy_pattern/35_inmet_short_preamble.csv",
        ("ESTACAO:;GOIANIA\nCODIGO (WMO):;A002\n" + WEATHER_HEADER + weather_rows(good[:3])).encode(
            "latin-1"
        ),
    )
    write(
        "legacy_pattern/36_no_header.csv",
        ("ESTACAO:;GOIANIA\n" + weather_rows(good[:2])).encode("latin-1"),
    )


def main() -> None:
    for folder in ("csv", "cp1252", "jsonl", "parquet", "fixed", "legacy", "legacy_pattern"):
        (HERE / folder).mkdir(exist_ok=True)
    csv_files()
    cp1252_files()
    jsonl_files()
    parquet_files()
    fixed_width_files()
    legacy_files()


if __name__ == "__main__":
    main()
