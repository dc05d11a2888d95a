"""Legacy CSV habits handled before Spark reads a file (fast: no Spark; the corpus test
runs the same files through ingest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.core.errors import ConfigError, SourceError
from driftline.core.loading import parse_pipeline
from driftline.core.source_config import SourceConfig
from driftline.sources.files import DroppedFile
from driftline.sources.readers import bronze_names, column_name
from driftline.sources.unpack import members


def source(**overrides: object) -> SourceConfig:
    values: dict[str, object] = {
        "name": "station",
        "path": "weather/*",
        "columns": {"obs_date": "date", "rain_mm": "double"},
    }
    values.update(overrides)
    return SourceConfig.model_validate(values)


@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ("Hora UTC", "hora_utc"),
        ("PRECIPITAÇÃO TOTAL, HORÁRIO (mm)", "precipitacao_total_horario_mm"),
        ("TEMPERATURA DO AR - BULBO SECO, HORARIA (°C)", "temperatura_do_ar_bulbo_seco_horaria_c"),
        ("  Loyalty Tier ", "loyalty_tier"),
        ("2nd address", "c_2nd_address"),
        ("Straße", "strasse"),
    ],
)
def test_the_documented_naming_rule(delivered: str, expected: str) -> None:
    assert column_name(delivered) == expected


def test_an_explicit_rename_wins_and_an_empty_name_is_numbered() -> None:
    config = source(csv={"rename": {"Data": "obs_date", "Chuva (mm)": "rain_mm"}})
    assert bronze_names(["", "Data", "Chuva (mm)", "Note"], config) == [
        "column_1",
        "obs_date",
        "rain_mm",
        "note",
    ]


def dropped(path: Path) -> DroppedFile:
    return DroppedFile(path.name, path, path.stat().st_size, "sum", str(path))


def test_a_preamble_and_trailing_delimiters_are_removed(tmp_path: Path) -> None:
    raw = tmp_path / "a001.csv"
    raw.write_bytes(
        'ESTAÇÃO:;BRASÍLIA\nUF:;DF\nData;Chuva;\n2020/01/01;0,2;\n2020/01/02;"a;";\r\n'.encode(
            "latin-1"
        )
    )
    config = source(
        encoding="latin-1",
        csv={"delimiter": ";", "skip_lines": 2, "trailing_delimiter": True},
    )
    (member,) = members(config, dropped(raw), tmp_path / "work", 0)
    assert member.path.read_bytes().decode() == 'Data;Chuva\n2020/01/01;0,2\n2020/01/02;"a;"\r\n'


def test_the_header_is_the_first_line_matching_the_pattern(tmp_path: Path) -> None:
    raw = tmp_path / "a002.csv"
    raw.write_text("station;x\nheight;1\nData;Chuva\n2020/01/01;0\n")
    config = source(csv={"delimiter": ";", "header_pattern": "^Data;"})
    (member,) = members(config, dropped(raw), tmp_path / "work", 0)
    assert member.path.read_text() == "Data;Chuva\n2020/01/01;0\n"

    other = tmp_path / "a003.csv"
    other.write_text("station;x\n2020/01/01;0\n")
    with pytest.raises(SourceError, match=r"a003.csv: no line matches .*'\^Data;'"):
        members(config, dropped(other), tmp_path / "work2", 0)


def test_an_undecodable_byte_is_named_by_line_and_offset(tmp_path: Path) -> None:
    raw = tmp_path / "bad.csv"
    raw.write_bytes(b"meta\nData;Chuva;\n2020/01/01;\xff;\n")
    config = source(csv={"delimiter": ";", "skip_lines": 1, "trailing_delimiter": True})
    with pytest.raises(SourceError, match=r"bad.csv: byte 28 \(line 3\) is not valid utf-8"):
        members(config, dropped(raw), tmp_path / "work", 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"csv": {"header_pattern": "("}}, "not a valid regular expression"),
        ({"csv": {"header_pattern": "^Data", "skip_lines": 2}}, "either skip_lines or"),
        ({"csv": {"header": False, "rename": {"A": "a"}}}, "rename maps header names"),
        ({"csv": {"rename": {"A": "rain_mm", "B": "rain_mm"}}}, "several delivered names"),
        ({"csv": {"rename": {"A": "rain (mm)"}}}, "not a valid name"),
        ({"formats": {"rain_mm": "yyyy"}}, "formats.rain_mm: only a declared date"),
        ({"missing_values": {"wind": ["-"]}}, "undeclared column(s) ['wind']"),
        ({"when_missing": "panic"}, "when_missing"),
    ],
)
def test_legacy_options_are_checked_when_the_file_loads(
    options: dict[str, object], message: str
) -> None:
    pipeline = {
        "pipeline": "weather",
        "entity": {"name": "station", "key": "obs_date", "source": "station"},
        "sources": [
            {
                "name": "station",
                "path": "weather/*",
                "columns": {"obs_date": "date", "rain_mm": "double"},
                **options,
            }
        ],
        "features": [{"name": "rain_mm"}],
        "label": {"source": "station", "column": "rain_mm"},
        "model": {"name": "weather"},
    }
    with pytest.raises(ConfigError) as raised:
        parse_pipeline(pipeline)
    assert message in str(raised.value)
    assert "sources.0" in str(raised.value)
